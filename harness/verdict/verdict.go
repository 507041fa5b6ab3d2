// Package verdict decides, from the figures of finished runs only, whether
// each architecture claim (docs/verdict.md) holds on the twins: holds, does not
// hold, or inconclusive when the runs cannot decide it. Every rule and its
// thresholds are in claims.go; docs/verdict.md explains why each is what
// it is, so a reader can disagree with the method and not only the result.
package verdict

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/edabench/edabench/harness/stats"
)

// Status is a claim's outcome.
type Status string

const (
	Holds        Status = "holds"
	DoesNotHold  Status = "does not hold"
	Inconclusive Status = "inconclusive"
)

// Claim is one claim's verdict on one backbone's runs; verdict.json holds
// it as a matrix cell (Cell). The report renderer reads id, claim, status,
// evidence, conditions, runs, intervals and single_run: keep those keys
// stable.
type Claim struct {
	ID         int                `json:"id"`
	Claim      string             `json:"claim"`
	Status     Status             `json:"status"`
	Evidence   string             `json:"evidence"`
	Conditions string             `json:"conditions"`
	Runs       []string           `json:"runs"`
	Figures    map[string]float64 `json:"figures,omitempty"`
	// Intervals are the deciding figures over the repetitions: n, median
	// and the interval of the median (harness/stats). Figures holds the
	// same medians under the same names, and the figures read for context.
	Intervals map[string]stats.Interval `json:"intervals,omitempty"`
	// SingleRun: a deciding figure rests on one run (n=1), so the status is
	// the point figures' and no interval stands behind it.
	SingleRun bool `json:"single_run"`
}

// Verdict is verdict.json.
type Verdict struct {
	GeneratedAt time.Time `json:"generated_at"`
	Claims      []Claim   `json:"claims"`
}

// Evaluate decides every claim from the selected runs.
func Evaluate(s *Set, now time.Time) Verdict {
	// Each claim as the articles word it (docs/verdict.md), with the rule that decides it.
	rules := []struct {
		text string
		rule func(*Set) Claim
	}{
		{"RR has lower latency at light load; EDA is \"delayed\"", claim1LightLoad},
		{"RR latency accumulates across services in a chain", claim2Chain},
		{"EDA sustains higher throughput under heavy load", claim3Throughput},
		{"EDA absorbs spikes by buffering; RR latency rises rapidly under a surge", claim4Spike},
		{"Failures propagate in RR and are isolated in EDA", claim5Isolation},
		{"EDA has no temporal coupling: consumers catch up after downtime", claim6Decoupling},
		{"RR is strongly/immediately consistent; EDA is eventually consistent", claim7Consistency},
		{"EDA uses resources more efficiently", claim8Efficiency},
		{"In RR the slowest service dictates the whole chain", claim9SlowStep},
		{"EDA delivers duplicates; idempotent consumers make them harmless", claim10Duplicates},
		{"A hybrid (synchronous critical path, asynchronous side effects) gets the best of both", claim11Hybrid},
	}
	v := Verdict{GeneratedAt: now.UTC().Truncate(time.Second)}
	for i, r := range rules {
		c := r.rule(s)
		if c.Status != Inconclusive {
			// A decided claim whose figures the host may have made is not
			// the twins' architecture speaking.
			if why := hostSuspect(s, c.Runs); why != "" {
				c.Evidence = fmt.Sprintf("%s: read as inconclusive, it would have read %q; rerun it. %s", why, c.Status, c.Evidence)
				c.Status = Inconclusive
			}
		}
		c.ID = i + 1
		c.Claim = r.text
		if c.Runs == nil {
			c.Runs = []string{}
		}
		for k, f := range c.Figures {
			// JSON has no NaN or infinity; a figure that is not a number
			// was not measured.
			if math.IsNaN(f) || math.IsInf(f, 0) {
				delete(c.Figures, k)
			}
		}
		for k, iv := range c.Intervals {
			if !iv.Valid() || math.IsInf(iv.Lo, 0) || math.IsInf(iv.Hi, 0) || math.IsNaN(iv.Lo) || math.IsNaN(iv.Hi) {
				delete(c.Intervals, k)
			}
		}
		c.markSingle()
		v.Claims = append(v.Claims, c)
	}
	return v
}

// missing is the verdict for a claim whose scenario never ran.
func missing(scenario string) Claim {
	ev := fmt.Sprintf("no %s run among the inputs: run `edabench run --scenario %s`", scenario, scenario)
	switch scenario {
	case "smoke", "spike", "ramp", "failure-crash", "failure-broker-restart":
		ev += " (make bench runs it)"
	}
	return Claim{Status: Inconclusive, Evidence: ev}
}

// conditions describes what the runs ran under, so no figure is quoted
// without its load and machine.
func conditions(runs ...*Run) string {
	var parts []string
	machines := map[string]bool{}
	var machineOrder []string
	for _, r := range runs {
		parts = append(parts, describeScenario(r))
		m := describeMachine(r)
		if !machines[m] {
			machines[m] = true
			machineOrder = append(machineOrder, m)
		}
	}
	out := strings.Join(parts, "; ")
	if len(machineOrder) > 0 {
		out += "; machine: " + strings.Join(machineOrder, " / ")
	}
	return out
}

func describeScenario(r *Run) string {
	sc := r.Scenario
	var b strings.Builder
	b.WriteString(sc.Name)
	if r.inChain {
		fmt.Fprintf(&b, " (%d steps, %d hops)", sc.Steps, sc.Steps+1)
	}
	b.WriteString(": ")
	switch {
	case sc.Search != nil:
		fmt.Fprintf(&b, "knee search from %g/s by x%g up to %g/s, bisected to %g%%, SLOs ack p99 %s, e2e p99 %s (backlog not growing), errors ≤ %g%%",
			sc.Search.Start, sc.Search.Factor, sc.Search.MaxRate, 100*sc.Search.Precision, sc.Search.SLO.AckP99, sc.Search.SLO.E2EP99, 100*sc.SLO.MaxErrorRate)
	case sc.Ramp != nil:
		fmt.Fprintf(&b, "ramp %g to %g/s by %g every %s, SLO p99 %s and errors ≤ %g%%",
			sc.Ramp.StartRate, sc.Ramp.MaxRate, sc.Ramp.Step, sc.Ramp.StepDuration, sc.SLO.P99, 100*sc.SLO.MaxErrorRate)
	default:
		var st []string
		for _, s := range sc.Stages {
			if s.To != nil {
				st = append(st, fmt.Sprintf("%s %g→%g/s for %s", s.Name, s.Rate, *s.To, s.Duration))
			} else {
				st = append(st, fmt.Sprintf("%s %g/s for %s", s.Name, s.Rate, s.Duration))
			}
		}
		b.WriteString(strings.Join(st, ", "))
	}
	for _, f := range sc.Faults {
		fmt.Fprintf(&b, ", %s", f.Type)
		if f.Target != "" {
			fmt.Fprintf(&b, ":%s", f.Target)
		}
		fmt.Fprintf(&b, " at %s for %s", f.At, f.Duration)
		if f.Mean != "" {
			fmt.Fprintf(&b, " (mean %s)", f.Mean)
		}
	}
	if sc.Topology != "" {
		fmt.Fprintf(&b, ", %s topology", sc.Topology)
	}
	if sc.Cost != "" {
		fmt.Fprintf(&b, ", step cost %s", sc.Cost)
	}
	if r.Summary.Partial {
		reason := r.Summary.PartialReason
		if reason == "" {
			reason = "no reason recorded"
		}
		fmt.Fprintf(&b, ", PARTIAL RUN (the only one: %s)", reason)
	}
	return b.String()
}

func describeMachine(r *Run) string {
	e := r.Summary.Environment
	m := fmt.Sprintf("%d CPUs", e.CPUs)
	if e.CPUModel != "" {
		m += " " + e.CPUModel
	}
	if e.RabbitMQ != "" {
		m += ", RabbitMQ " + e.RabbitMQ
	}
	if n := r.Nodes(); n > 1 && r.Summary.Backbone() != "" {
		m += fmt.Sprintf(", a %d-node %s cluster", n, r.Summary.Backbone())
	}
	if p := r.Profile(); p != "" {
		return m + ", " + p
	}
	return m + ", loopback"
}

func ids(runs ...*Run) []string {
	out := make([]string, 0, len(runs))
	for _, r := range runs {
		out = append(out, r.ID())
	}
	return out
}

// slope is the least-squares slope of y against x; NaN for fewer than two
// distinct x.
func slope(x, y []float64) float64 {
	n := float64(len(x))
	var sx, sy, sxx, sxy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
		sxx += x[i] * x[i]
		sxy += x[i] * y[i]
	}
	d := n*sxx - sx*sx
	if len(x) < 2 || d == 0 {
		return math.NaN()
	}
	return (n*sxy - sx*sy) / d
}

// ms formats a latency for evidence.
func ms(v float64) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f ms", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.2f ms", v)
}

func pct(v float64) string { return fmt.Sprintf("%.0f%%", 100*v) }
