package verdict

import (
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/results"
)

// searchKnee is a knee search's answer: the ack bracket [held, broke) and
// the completion knee's.
func searchKnee(held, broke, doneHeld, doneBroke float64) *results.Knee {
	return &results.Knee{RPS: held, BrokenAt: broke, Reached: true, Method: "search", Precision: 0.10, Reason: "ack p99 above the SLO",
		Completion: &results.Knee{RPS: doneHeld, BrokenAt: doneBroke, Reached: true, Method: "search", Precision: 0.10},
		Steps:      []results.KneeStep{{Phase: "search-01", RPS: 50, AckHeld: true, CompletionHeld: true}}}
}

func TestClaim3ReadsTheSearch(t *testing.T) {
	for _, c := range []struct {
		name     string
		rr, eda  *results.Knee
		want     Status
		says     string
		edaRange [2]float64 // the interval the claim compares: the sustained bracket
	}{
		{"EDA's sustained bracket above RR's plus the margin", searchKnee(500, 540, 500, 540), searchKnee(1100, 1200, 900, 980),
			Holds, "completion knee [900, 980)/s", [2]float64{900, 980}},
		{"RR's bracket above EDA's", searchKnee(3000, 3200, 3000, 3200), searchKnee(200, 218, 100, 110),
			DoesNotHold, "RR's knee is at or above EDA's", [2]float64{100, 110}},
		// Accepting faster than RR is not sustaining more: the backlog of
		// what EDA accepted but could not complete only grows.
		{"EDA accepts above RR's knee but completes below it", searchKnee(500, 540, 500, 540), searchKnee(1100, 1200, 300, 330),
			DoesNotHold, "completion SLO", [2]float64{300, 330}},
		{"EDA completes faster than it accepts: the ack knee binds", searchKnee(500, 540, 500, 540), searchKnee(1100, 1200, 2000, 2200),
			Holds, "ack p99 above the SLO", [2]float64{1100, 1200}},
		{"brackets overlapping once RR takes the margin", searchKnee(470, 510, 470, 510), searchKnee(600, 660, 500, 540),
			Inconclusive, "overlap", [2]float64{500, 540}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rs := loadSet(t, "holds")
			r := find(rs, "ramp")
			r.Twin("rr").Knee, r.Twin("eda").Knee = c.rr, c.eda
			v := Evaluate(Select(rs), time.Unix(0, 0))
			cl := v.Claims[2]
			if cl.ID != 3 || cl.Status != c.want || !strings.Contains(cl.Evidence, c.says) {
				t.Errorf("claim %d = %s, want %s saying %q: %s", cl.ID, cl.Status, c.want, c.says, cl.Evidence)
			}
			if iv := cl.Intervals["eda_knee_rps"]; iv.Lo != c.edaRange[0] || iv.Hi != c.edaRange[1] {
				t.Errorf("EDA knee interval %+v, want the bracket %v", iv, c.edaRange)
			}
			if cl.Figures["eda_completion_knee_rps"] != c.eda.Completion.RPS || cl.Figures["rr_search_steps"] != 1 {
				t.Errorf("figures %v lack the completion knee or the steps", cl.Figures)
			}
		})
	}
}

// A searched run decides claim 3 over a fixed-step ramp's, even an older
// one; without one, the ramp's knees are still read.
func TestSearchRunBeforeRamp(t *testing.T) {
	ramp := run("r", "ramp", 30, false, "rr", "eda")
	ramp.Twin("rr").Knee, ramp.Twin("eda").Knee = &results.Knee{RPS: 500, Reached: true}, &results.Knee{RPS: 750, Reached: true}
	search := run("s", "knee", 10, false, "rr", "eda")
	search.Twin("rr").Knee, search.Twin("eda").Knee = searchKnee(500, 540, 500, 540), searchKnee(200, 218, 100, 110)
	if got := Select([]*Run{ramp, search}).Ramp(); got != search {
		t.Errorf("claim 3 reads %v, want the search's run", got.ID())
	}
	if got := Select([]*Run{ramp}).Ramp(); got != ramp {
		t.Errorf("claim 3 reads %v, want the ramp's run", got)
	}
}
