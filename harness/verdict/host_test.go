package verdict

import (
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/results"
)

// A claim decided on a run whose load the host stole from reads
// inconclusive, with the seconds; a run with a host object and no suspect
// second, or none at all (older summaries), keeps its status.
func TestHostStealMakesAClaimInconclusive(t *testing.T) {
	tests := []struct {
		name    string
		host    *results.HostStats
		want    Status
		wantEvd string
	}{
		{name: "no host object (an older summary)", want: Holds},
		{name: "measured, no suspect second", host: &results.HostStats{Seconds: 20, SuspectBoundPct: 10, Suspect: []results.SuspectSecond{}}, want: Holds},
		{name: "two stolen seconds", want: Inconclusive, wantEvd: "host steal 31% in s 18..19 of eda's smoke run (2 s above the 10% bound)",
			host: &results.HostStats{Seconds: 20, SuspectBoundPct: 10, Suspect: []results.SuspectSecond{{T: 18, StealPct: 12}, {T: 19, StealPct: 31}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runs := loadSet(t, "holds")
			smoke := find(runs, "smoke")
			if smoke == nil {
				t.Fatal("no smoke run in the holds set")
			}
			smoke.Twin("eda").Host = tt.host
			v := Evaluate(Select(runs), time.Unix(0, 0))
			c := v.Claims[0] // claim 1 is decided on smoke
			if c.Status != tt.want || !strings.Contains(c.Evidence, tt.wantEvd) {
				t.Fatalf("claim 1 = %s: %s; want %s with %q", c.Status, c.Evidence, tt.want, tt.wantEvd)
			}
			if tt.want == Inconclusive && !strings.Contains(c.Evidence, `would have read "holds"`) {
				t.Errorf("evidence does not say what the figures read: %s", c.Evidence)
			}
		})
	}
}

func TestSpans(t *testing.T) {
	tests := []struct {
		secs []int
		want string
	}{
		{[]int{3}, "3"},
		{[]int{18, 19}, "18..19"},
		{[]int{1, 2, 3, 7, 9, 10}, "1..3, 7, 9..10"},
	}
	for _, tt := range tests {
		var sus []results.SuspectSecond
		for _, s := range tt.secs {
			sus = append(sus, results.SuspectSecond{T: s})
		}
		if got := spans(sus); got != tt.want {
			t.Errorf("spans(%v) = %q; want %q", tt.secs, got, tt.want)
		}
	}
}
