package stats

import "fmt"

// Direction is the order a claim asserts between two figures.
type Direction int

const (
	// Below: the claim says a is lower than b (a latency, a CPU cost).
	Below Direction = iota
	// Above: the claim says a is higher than b (a knee, a rise).
	Above
)

// Outcome is what two intervals say about a claimed order.
type Outcome string

const (
	// Separated: the intervals do not meet and lie in the claimed order.
	Separated Outcome = "separated"
	// Reversed: the intervals do not meet and lie in the other order.
	Reversed Outcome = "reversed"
	// Overlap: the intervals share values, so the runs cannot order them.
	Overlap Outcome = "overlap"
	// Unmeasured: a side has no value.
	Unmeasured Outcome = "unmeasured"
)

// Comparison is Separate's answer.
type Comparison struct {
	Outcome Outcome
	// OverlapLo and OverlapHi are the values both intervals hold (Overlap).
	OverlapLo, OverlapHi float64
	// Single says a side is one run: its interval is a point, so the
	// comparison is of figures, with no spread behind them.
	Single bool
}

// Separate compares a and b under the claimed direction. Touching
// intervals (one's end is the other's start) overlap: a value both could
// be is not a separation. With one run a side, the intervals are points
// and the comparison is the point figures', marked Single.
func Separate(a, b Interval, dir Direction) Comparison {
	if !a.Valid() || !b.Valid() {
		return Comparison{Outcome: Unmeasured}
	}
	c := Comparison{Single: a.Degenerate() || b.Degenerate()}
	below, above := a.Hi < b.Lo, a.Lo > b.Hi
	switch {
	case below && dir == Below, above && dir == Above:
		c.Outcome = Separated
	case below, above:
		c.Outcome = Reversed
	default:
		c.Outcome = Overlap
		c.OverlapLo, c.OverlapHi = max(a.Lo, b.Lo), min(a.Hi, b.Hi)
	}
	return c
}

// String names the outcome, with the overlap when there is one.
func (c Comparison) String() string {
	s := string(c.Outcome)
	if c.Outcome == Overlap {
		s += fmt.Sprintf(" on [%.4g, %.4g]", c.OverlapLo, c.OverlapHi)
	}
	if c.Single {
		s += " (single run: no interval)"
	}
	return s
}
