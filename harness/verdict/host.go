package verdict

import (
	"fmt"
	"strings"

	"github.com/edabench/edabench/harness/results"
)

// MaxSuspectSeconds is how many seconds whose CPU steal exceeded the bound
// (hoststat.SuspectStealPct, recorded in each summary) a deciding run's
// load may hold before its claim reads inconclusive. None: one second can
// decide a p99 (issue 17: a hybrid smoke p99 of 1,075 ms came from second
// 19 of 20), so one stolen second is enough to doubt the figure.
const MaxSuspectSeconds = 0

// hostSuspect says why the host may have decided a claim: the first of its
// runs, by the order given, with a twin whose load held more than
// MaxSuspectSeconds suspect seconds; "" if none did. The window read is
// the twin's whole load (the summary keeps the load's suspect seconds, the
// drain's left out), which covers every claim's deciding window. A summary
// without a host object (older, or a machine that gives no steal) is
// unknown, and unknown is not suspect.
func hostSuspect(s *Set, ids []string) string {
	for _, id := range ids {
		r := s.byID(id)
		if r == nil {
			continue
		}
		for _, name := range sortedTwins(r) {
			h := r.Twin(name).Host
			if h == nil || len(h.Suspect) <= MaxSuspectSeconds {
				continue
			}
			return fmt.Sprintf("host steal %s in s %s of %s's %s run (%d s above the %.0f%% bound)",
				peakSteal(h.Suspect), spans(h.Suspect), name, r.Scenario.Name, len(h.Suspect), h.SuspectBoundPct)
		}
	}
	return ""
}

// byID is the loaded run with the id, nil if none.
func (s *Set) byID(id string) *Run {
	for _, r := range s.all {
		if r.ID() == id {
			return r
		}
	}
	return nil
}

func sortedTwins(r *Run) []string {
	var out []string
	for _, n := range []string{"rr", "eda", "hybrid"} {
		if r.Twin(n) != nil {
			out = append(out, n)
		}
	}
	return out
}

func peakSteal(sus []results.SuspectSecond) string {
	m := 0.0
	for _, s := range sus {
		m = max(m, s.StealPct)
	}
	return fmt.Sprintf("%.0f%%", m)
}

// spans writes the suspect seconds as runs of consecutive seconds:
// "18..19, 25".
func spans(sus []results.SuspectSecond) string {
	var parts []string
	for i := 0; i < len(sus); {
		j := i
		for j+1 < len(sus) && sus[j+1].T == sus[j].T+1 {
			j++
		}
		if j == i {
			parts = append(parts, fmt.Sprint(sus[i].T))
		} else {
			parts = append(parts, fmt.Sprintf("%d..%d", sus[i].T, sus[j].T))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}
