package netprofile

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Profile
		wantErr string
	}{
		{in: "loopback", want: Profile{Name: Loopback}},
		{in: "datacenter", want: Profile{Name: Datacenter, Latency: 250 * time.Microsecond, Jitter: 50 * time.Microsecond}},
		{in: "cross-zone", want: Profile{Name: CrossZone, Latency: 750 * time.Microsecond, Jitter: 150 * time.Microsecond}},
		{in: "latency=1ms,jitter=200us,bandwidth_kbps=12500", want: Profile{Name: Custom, Latency: time.Millisecond, Jitter: 200 * time.Microsecond, BandwidthKBps: 12500}},
		{in: "lan", wantErr: "want loopback, datacenter, cross-zone"},
		{in: "latency=1ms,jitter=2ms", wantErr: "exceeds latency"},
		{in: "latency=1", wantErr: "not a duration"},
		{in: "delay=1ms", wantErr: "allowed: latency, jitter, bandwidth_kbps"},
		{in: "latency=0s", wantErr: "adds nothing"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Parse(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse(%q) = %v, want an error containing %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestRecord(t *testing.T) {
	p, _ := Named(Datacenter)
	if j := p.JSON(); j.RoundTripMs != 0.5 || j.LatencyMs != 0.25 {
		t.Errorf("datacenter record = %+v, want a 0.5 ms round trip of 0.25 ms each way", j)
	}
	if !(Profile{Name: Loopback}).IsZero() {
		t.Error("loopback must add nothing")
	}
}
