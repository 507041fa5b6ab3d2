package verdict

import (
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/results"
)

// Requests sent in a fault window's last timeout fail after it: claim 6
// forgives those (rate × timeout per window) before it says the twin was
// not back in service. The counts are the quiet make bench of 2026-12-05
// over NATS (failure-broker-restart: 150/s, 3 s deadline, 427 timeouts in
// the window, 283 in the three seconds after it).
func TestNotBackInServiceForgivesTheWindowsLastRequests(t *testing.T) {
	restart := results.FaultWindow{Fault: "broker-restart", StartS: 10.0, EndS: 15.27, Timeouts: 427, RecoveryMs: 3735}
	for _, tc := range []struct {
		name     string
		timeouts int64
		timeout  time.Duration
		back     bool
	}{
		{"the window's own requests timing out after it", 427 + 283, 3 * time.Second, true},
		{"the same with a deadline too short to explain them", 427 + 283, 100 * time.Millisecond, false},
		{"far more than the window's last requests", 427 + 1200, 3 * time.Second, false},
		{"none after", 427, 3 * time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tw := &results.TwinResult{Counts: results.Counts{Sent: 6046, Timeouts: tc.timeouts}, LoadSeconds: 40,
				Faults: []results.FaultWindow{restart}}
			got := notBackInService(tw, tc.timeout)
			if back := got == ""; back != tc.back {
				t.Errorf("notBackInService = %q, want back in service %v", got, tc.back)
			}
			if !tc.back && !strings.Contains(got, "failed outside the fault windows") {
				t.Errorf("evidence %q does not say what failed", got)
			}
		})
	}
}

func TestRequestTimeout(t *testing.T) {
	for in, want := range map[string]time.Duration{"3s": 3 * time.Second, "": 5 * time.Second, "nonsense": 5 * time.Second} {
		if got := requestTimeout(&Run{Scenario: results.ScenarioInfo{Timeout: in}}); got != want {
			t.Errorf("requestTimeout(%q) = %v, want %v", in, got, want)
		}
	}
}
