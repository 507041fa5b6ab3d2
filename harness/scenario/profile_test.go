package scenario

import (
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/isolate"
	"github.com/edabench/edabench/harness/netprofile"
)

func TestProfiles(t *testing.T) {
	const base = "name: p\nstages:\n  - {name: s, duration: 1s, rate: 10}\n"
	for _, tc := range []struct {
		name, yaml string
		network    netprofile.Profile
		deployment string
		wantErr    string
	}{
		{name: "defaults", network: netprofile.Profile{Name: netprofile.Loopback}, deployment: isolate.Shared},
		{name: "named", yaml: "network: datacenter\ndeployment: isolated\n",
			network: netprofile.Profile{Name: netprofile.Datacenter, Latency: 250 * time.Microsecond, Jitter: 50 * time.Microsecond}, deployment: isolate.Isolated},
		{name: "custom", yaml: "network: {latency: 1ms, jitter: 200us, bandwidth_kbps: 1250}\n",
			network: netprofile.Profile{Name: netprofile.Custom, Latency: time.Millisecond, Jitter: 200 * time.Microsecond, BandwidthKBps: 1250}, deployment: isolate.Shared},
		{name: "unknown name", yaml: "network: lan\n", wantErr: `p.yaml:4: network: network "lan": want loopback, datacenter, cross-zone`},
		{name: "unknown key", yaml: "network: {delay: 1ms}\n", wantErr: "network.delay: unknown field; allowed: latency, jitter, bandwidth_kbps"},
		{name: "bad duration", yaml: "network: {latency: 1}\n", wantErr: `network.latency: latency "1": not a duration`},
		{name: "jitter too big", yaml: "network: {latency: 1ms, jitter: 2ms}\n", wantErr: "network: jitter 2ms exceeds latency 1ms"},
		{name: "bad deployment", yaml: "deployment: separate\n", wantErr: `deployment: deployment "separate": want shared or isolated`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse([]byte(base+tc.yaml), "p.yaml")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Network != tc.network || s.Deployment != tc.deployment {
				t.Errorf("network %+v, deployment %q; want %+v, %q", s.Network, s.Deployment, tc.network, tc.deployment)
			}
		})
	}
}
