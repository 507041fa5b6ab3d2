package runner

import (
	"context"
	"testing"
)

// TestKneeSearchOnTheRRTwin runs a short real knee search against the RR
// twin: where its knee lies is the machine's business, so the test checks
// what the search guarantees whatever the machine does: it ends within its
// bounds, reports both knees with their steps, and accounts every request
// it sent.
func TestKneeSearchOnTheRRTwin(t *testing.T) {
	if testing.Short() {
		t.Skip("launches the RR twin and runs a search of up to 20 s; skipped under -short")
	}
	tw := startRR(t, "dist=fixed,mean=1ms")
	sc := mustScenario(t, `
name: knee-short
search:
  start: 50
  factor: 4
  max_rate: 800
  min_requests: 200
  min_step: 1s
  max_step: 2s
  settle: 1s
  max_steps: 6
  max_duration: 20s
  slo: {ack_p99: 250ms, e2e_p99: 1s}
timeout: 2s
max_in_flight: 1024
drain: 1s
`)
	sum, dir, err := Run(context.Background(), WithTwins("rr"), WithScenario(sc), WithTarget(tw.GatewayAddr()), WithOutDir(t.TempDir()), WithMetricsAddr("off"))
	if err != nil {
		t.Fatal(err)
	}
	r := sum.Twins["rr"]
	k := r.Knee
	if k == nil || k.Method != "search" || k.Completion == nil || len(k.Steps) == 0 || len(k.Steps) > 6 {
		t.Fatalf("knee %+v, want a search's knees after 1 to 6 steps", k)
	}
	var stepped int64
	for _, st := range k.Steps {
		if st.RPS < 50 || st.RPS > 800 {
			t.Errorf("step %+v outside [start, max_rate]", st)
		}
		stepped += st.Sent
		if ph, ok := r.Phases[st.Phase]; !ok || ph.Sent != st.Sent {
			t.Errorf("step %+v: its phase counted %+v", st, ph)
		}
	}
	if got := r.OK + r.Rejected + r.Errors + r.Timeouts + r.Dropped; got != r.Sent || r.Sent != stepped {
		t.Errorf("sent %d, accounted %d, the steps' %d", r.Sent, got, stepped)
	}
	t.Logf("knee [%g, %g]/s, completion [%g, %g]/s after %d steps", k.RPS, k.BrokenAt, k.Completion.RPS, k.Completion.BrokenAt, len(k.Steps))
	checkSchema(t, dir)
}
