package serve

import (
	"testing"

	"github.com/edabench/edabench/internal/loopback"
)

// Loopback only, unless the service runs in a cluster (an allowlist):
// then it binds the pod's interfaces on a fixed port, and peers may be
// the listed Services.
func TestCheckListen(t *testing.T) {
	allow, err := loopback.NewAllowlist([]string{"rr-payment:7000"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		allow *loopback.Allowlist
		addr  string
		ok    bool
	}{
		{nil, "127.0.0.1:0", true},
		{nil, "0.0.0.0:7000", false},
		{nil, ":7000", false},
		{allow, "0.0.0.0:7000", true},
		{allow, ":9000", true},
		{allow, "[::]:7000", true},
		{allow, "0.0.0.0:0", false},
		{allow, "127.0.0.1:0", true},
		{allow, "10.0.0.5:7000", false},
	} {
		if err := checkListen(tc.allow, tc.addr); (err == nil) != tc.ok {
			t.Errorf("checkListen(%v, %q) = %v, want ok=%v", tc.allow, tc.addr, err, tc.ok)
		}
	}
}
