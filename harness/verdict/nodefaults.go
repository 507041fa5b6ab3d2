package verdict

import (
	"fmt"
	"math"

	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/harness/stats"
	"github.com/edabench/edabench/internal/twinkind"
)

// nodeFaultType says whether a fault takes one member of a replicated
// cluster away (harness/fault): the broker's own failures, which claims 5
// and 6 count on a cluster's column.
func nodeFaultType(t string) bool {
	switch t {
	case "kill-node", "pause-node", "restart-node", "partition-node":
		return true
	}
	return false
}

// nodeFault says whether a run on a cluster took one of its members away.
// On one node there is no member to lose but the broker (failure-broker-
// restart, read as before); a node fault there did not run as asked.
func nodeFault(r *Run) bool {
	if r.Nodes() < 2 {
		return false
	}
	for _, f := range r.Scenario.Faults {
		if nodeFaultType(f.Type) {
			return true
		}
	}
	return false
}

// nodeWindows is what a twin's node-fault windows add up to: the requests
// that failed inside them, an estimate of the requests due inside them,
// the longest run of seconds with failed orders, the slowest new leader
// (-1 if some queue found none) and the slowest recovery (-1 if some
// window never recovered).
type nodeWindows struct {
	failed, due  int64
	unavailableS int
	newLeaderMs  float64
	recoveryMs   float64
	broken       string
	// windows read; of them, those whose queue's leader was watched, and
	// of those, the ones without a new leader
	windows, watched, none int
}

func readNodeWindows(t *results.TwinResult) nodeWindows {
	var w nodeWindows
	for _, f := range t.Faults {
		if f.Node == "" && f.Queue == "" {
			continue // a service's or the whole broker's window, not a member's
		}
		w.windows++
		w.failed += f.Errors + f.Timeouts + f.Dropped
		// Requests are due at the offered rate throughout (the schedule
		// does not wait for the broker), so rate x window is what the
		// window asked of the twin.
		w.due += int64(math.Round(t.OfferedRPS * math.Max(0, f.EndS-f.StartS)))
		w.unavailableS = max(w.unavailableS, f.UnavailableS)
		// A member named by target node-N led no queue the fault aimed
		// at, so no leader was watched (harness/fault: Queue empty).
		switch {
		case f.Queue == "":
		case f.NewLeaderMs < 0:
			w.watched++
			w.none++
		default:
			w.watched++
			w.newLeaderMs = math.Max(w.newLeaderMs, f.NewLeaderMs)
		}
		if f.RecoveryMs < 0 || w.recoveryMs < 0 {
			w.recoveryMs = -1
		} else {
			w.recoveryMs = math.Max(w.recoveryMs, f.RecoveryMs)
		}
		if f.Error != "" && w.broken == "" {
			w.broken = f.Fault + ": " + f.Error
		}
	}
	switch {
	case w.none > 0:
		w.newLeaderMs = -1
	case w.watched == 0:
		w.newLeaderMs = math.NaN() // not measured: the figure is left out
	}
	return w
}

// figures are the node windows' deciding figures, with the audit's.
func (w nodeWindows) figures(t *results.TwinResult) map[string]float64 {
	return map[string]float64{
		"eda_failed_in_window": float64(w.failed), "eda_due_in_window": float64(w.due),
		"eda_unavailable_s": float64(w.unavailableS), "eda_new_leader_ms": w.newLeaderMs,
		"eda_recovery_ms": w.recoveryMs, "eda_lost": float64(lost(t)),
		"eda_applied_twice": float64(appliedTwice(t)), "eda_accepted": float64(t.Orders.Accepted),
	}
}

// appliedTwice is what the audit says a step applied more than once; 0
// without an audit (the caller says it is unproven).
func appliedTwice(t *results.TwinResult) int64 {
	if t.Audit == nil {
		return 0
	}
	return t.Audit.DuplicatesApplied
}

// leaderSays words the new leader for evidence.
func (w nodeWindows) leaderSays() string {
	switch {
	case w.watched == 0:
		return "no queue's leader watched (the member was named, not found as a leader)"
	case w.newLeaderMs < 0:
		return "no new leader within the window"
	}
	return "new leader after " + ms(w.newLeaderMs)
}

// nodeIsolation is claim 5 under a member's failure: the failure is the
// broker's own, so RR (which uses none) is not hit and is no comparison.
// What RR's callers see when a service RR depends on dies is every
// request of the window failing; EDA's failure is isolated by the cluster
// only if its callers saw at most isolationShare of the window's requests
// fail (the same 1% and the same counting noise as a service's fault),
// and no accepted order was lost or applied twice.
func nodeIsolation(r *Run) part {
	p := part{run: r, status: Inconclusive}
	eda := r.Twin(twinkind.EDA)
	if eda == nil {
		p.evidence = "no EDA twin in the run: run it with --twin eda or both"
		return p
	}
	w := readNodeWindows(eda)
	p.figures = w.figures(eda)
	if w.windows == 0 {
		p.evidence = "no node fault windows recorded"
		return p
	}
	if w.broken != "" {
		p.evidence = "a fault was not applied: " + w.broken
		return p
	}
	l, twice := lost(eda), appliedTwice(eda)
	p.evidence = fmt.Sprintf("a broker member failed (%d node fault window(s)): EDA failed %d of about %d requests due in the window(s) (errors + timeouts + dropped), %d s with failed orders, %s; accepted %d, lost %d, applied twice %d",
		w.windows, w.failed, w.due, w.unavailableS, w.leaderSays(), eda.Orders.Accepted, l, twice)
	cmp := stats.Separate(stats.Count(w.failed), stats.Count(w.due).Scale(isolationShare), stats.Below)
	switch {
	case eda.Orders.Accepted == 0:
		p.evidence += ": EDA accepted no order in the run, so its isolation was not exercised"
	case l > 0:
		p.status, p.evidence = DoesNotHold, p.evidence+": the cluster lost accepted orders when a member failed"
	case twice > 0:
		p.status, p.evidence = DoesNotHold, p.evidence+": orders were applied twice after a member failed"
	case cmp.Outcome == stats.Reversed:
		p.status, p.evidence = DoesNotHold, p.evidence+fmt.Sprintf(": the broker's own failure reached EDA's callers, over %s of the window's requests beyond counting noise", pct(isolationShare))
	case cmp.Outcome == stats.Overlap:
		p.evidence += fmt.Sprintf(": EDA's failures against %s of the window's requests: %s; a few stray failures either way are counting noise", pct(isolationShare), cmp)
	case eda.Audit == nil || len(eda.Audit.Unaudited) > 0:
		p.evidence += ": the step journals could not all be read, so 0 lost and 0 applied twice are unproven"
	default:
		p.status, p.evidence = Holds, p.evidence+": the cluster failed over and EDA's callers did not see the member's failure"
	}
	return p
}

// nodeCatchUp adds a node fault's figures to claim 6's catch-up: the
// rule is the same as after any downtime (every accepted order completes,
// the queues drain, the twin returns to service); the figures say what
// the member's failure cost on the way.
func nodeCatchUp(r *Run, p part) part {
	eda := r.Twin(twinkind.EDA)
	if eda == nil {
		return p
	}
	w := readNodeWindows(eda)
	if w.windows == 0 {
		return p
	}
	if p.figures == nil {
		p.figures = map[string]float64{}
	}
	for k, v := range w.figures(eda) {
		if _, ok := p.figures[k]; !ok {
			p.figures[k] = v
		}
	}
	p.evidence += fmt.Sprintf(" (a broker member failed: %d s with failed orders, %s, applied twice %d)", w.unavailableS, w.leaderSays(), appliedTwice(eda))
	return p
}

// Nodes is the broker deployment of the set's runs that used a broker: a
// cluster's size, or 1.
func (s *Set) Nodes() int {
	n := 1
	for _, r := range s.all {
		if r.Summary.Backbone() != "" {
			n = max(n, r.Nodes())
		}
	}
	return n
}

// missingFault is claims 5 and 6 without a fault run to read: on a
// cluster, the node faults are the runs that decide them too.
func missingFault(s *Set) Claim {
	if s.Nodes() < 2 {
		return missing("failure-crash")
	}
	c := missing("failure-node-kill")
	c.Evidence += "; failure-node-pause and failure-crash count too (make bench-cluster runs the node faults)"
	return c
}
