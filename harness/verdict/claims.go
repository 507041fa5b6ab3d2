package verdict

import (
	"fmt"
	"github.com/edabench/edabench/internal/twinkind"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/harness/scenario"
	"github.com/edabench/edabench/harness/staleness"
	"github.com/edabench/edabench/harness/stats"
)

// The thresholds of the rules. docs/verdict.md gives the reasoning at
// length; each comment here is the short form.
const (
	// lightLoadFraction: claim 1 is about light load, so the smoke rate must
	// be under this share of the weaker twin's knee when a ramp ran. Half
	// the knee keeps queueing delay, which grows sharply near saturation,
	// out of the comparison.
	lightLoadFraction = 0.5

	// chainMinLengths: a slope through two points is a line through any two
	// points; three chain lengths are the fewest that can show a trend.
	chainMinLengths = 3
	// chainInversionTolerance: one shorter-is-slower pair is forgiven when
	// it is within this share, the run-to-run spread of a chain's RR p50
	// on this machine: measured over three quiet make bench runs of
	// 2026-12-05, each length's p50 moved by up to 9% (4 steps: 9.87 to
	// 10.77 ms). More than one inversion, or a larger one, is not a trend.
	chainInversionTolerance = 0.10
	// chainMinIncrease: the longest chain's RR p50 must exceed the
	// shortest's by more than this share, twice the inversion tolerance,
	// so that the growth is larger than the noise that could fake it
	// (measured growth from 2 to 5 hops: 205% to 265%).
	chainMinIncrease = 0.20

	// kneeMargin: the EDA knee must exceed the RR knee by more than this
	// share to call EDA's throughput higher. Knees are ramp steps (250/s
	// apart by default), so a smaller difference is at most one step: the
	// resolution of the instrument.
	kneeMargin = 0.10

	// spikeRiseFactor: RR's ack p99 in the spike must reach this multiple
	// of its pre-spike p99 to say its latency "rises rapidly"; a doubling is
	// well beyond the phase-to-phase spread of a p99 at a steady rate.
	spikeRiseFactor = 2.0
	// spikeFailShare: or RR fails more than this share of the spike's
	// requests (a failure is worse than a slow reply, and is not timed).
	spikeFailShare = 0.01
	// backlogMinMessages: EDA "buffered" the spike only if its queues held
	// more than this many messages at once. At the baseline rates (≤ 300/s)
	// and a millisecond per step, the messages in flight across the queues
	// stay in the single digits (smoke: 8 at 100/s); 100 is unmistakably a
	// queue.
	backlogMinMessages = 100

	// isolationShare: EDA's failed requests during a downstream fault may
	// be at most this share of RR's for the failure to count as isolated:
	// a stray timeout from the 2-core machine being busy is not propagation.
	isolationShare = 0.01
	// afterFaultFailShare: claim 6 needs the twin back in service after its
	// faults; more than this share of its requests failing outside the
	// fault windows means it was not (the same 1% a stray timeout is
	// forgiven in claim 5).
	afterFaultFailShare = 0.01

	// staleToleranceMs: for a summary without the probe's read counts, a
	// read is "immediately consistent" within this much staleness: the
	// first read goes out right after the reply, so a twin whose read model
	// is current answers well within it, and one that is not takes at least
	// a step's time (≥ 1 ms) plus a poll (2 ms).
	staleToleranceMs = 1.0
	// typicalShare: EDA is eventually consistent in the typical case when
	// fewer than half its probed orders read COMPLETED on the first read
	// after ACCEPTED (the p50 read is stale).
	typicalShare = 0.5

	// equalRateTolerance: claim 8 compares CPU per order at equal rates;
	// the twins' achieved offered rates must agree within this share (the
	// same seeded schedule gives the same requests, Poisson timing aside).
	equalRateTolerance = 0.05
	// cpuTieShare: from one run (no interval), CPU per order within this
	// share of each other is a tie. Measured between make bench runs on
	// 2026-12-05 (docs/verdict.md, "Measured spread"): a twin's smoke CPU
	// per order moved by up to 9% between quiet runs (RR on Kafka 2.17 to
	// 2.37 ms) and by up to ×2 on a loaded machine (RR 1.22 against 2.47
	// ms); 20% is twice the quiet spread. EDA/RR read 2.7 to 5.2, far
	// outside it, so the band decides nothing today but a near tie.
	cpuTieShare = 0.20

	// slowAckTolerance and slowAckFloorMs: claim 9's EDA acks "did not
	// move" when their p99 in the slow window stays within 20% of the
	// baseline or within 5 ms of it, whichever is larger. 20% is the same
	// band the harness uses for recovery_ms; the floor keeps a 2 ms
	// baseline from calling a 3 ms blip a slowdown.
	slowAckTolerance = 0.20
	slowAckFloorMs   = 5.0

	// hybridAckFactor: claim 11's hybrid answers "at once, like RR" when
	// its smoke ack p99 is at most this multiple of RR's. Its reply waits
	// for one gRPC call and one publisher confirm where RR's waits for the
	// whole chain; a confirm on a quorum queue costs about what one or two
	// more hops do, so ×1.5 leaves room for it and nothing more.
	hybridAckFactor = 1.5
)

// failures is what a client could not get done: errors, timeouts and
// requests never sent because the in-flight cap was reached.
func failures(c results.Counts) int64 { return c.Errors + c.Timeouts + c.Dropped }

// part is one run's verdict for a claim decided over several runs.
type part struct {
	run      *Run
	status   Status
	evidence string
	figures  map[string]float64
	// intervals are figures the part already read over its repetitions
	// (claim 8); the others are gathered over the parts of one scenario.
	intervals map[string]stats.Interval
}

// combineAny: a claim that must hold everywhere (no loss, no duplicate
// applied) is refuted by any run; it holds when some run showed it and
// none refuted it; runs that could not decide it are reported, not counted.
func combineAny(parts []part) Claim {
	c := merge(parts)
	c.Status = Inconclusive
	for _, p := range parts {
		if p.status == Holds {
			c.Status = Holds
		}
	}
	for _, p := range parts {
		if p.status == DoesNotHold {
			c.Status = DoesNotHold
		}
	}
	return c
}

// combineAgree: a claim about a tendency (CPU per order) holds or not only
// if every run that decided it agrees; runs that disagree make it depend
// on the conditions, so inconclusive.
func combineAgree(parts []part) Claim {
	c := merge(parts)
	seen := map[Status]bool{}
	for _, p := range parts {
		seen[p.status] = true
	}
	switch {
	case seen[Holds] && seen[DoesNotHold]:
		c.Status = Inconclusive
		c.Evidence = "the runs disagree. " + c.Evidence
	case seen[Holds]:
		c.Status = Holds
	case seen[DoesNotHold]:
		c.Status = DoesNotHold
	default:
		c.Status = Inconclusive
	}
	return c
}

// merge gathers the parts' evidence, each labelled with its scenario and
// repetition, and their figures: a figure several repetitions of one
// scenario read becomes their median with its interval.
func merge(parts []part) Claim {
	var c Claim
	var ev []string
	var runs []*Run
	byScenario := map[string][]*Run{}
	for _, p := range parts {
		byScenario[p.run.Scenario.Name] = append(byScenario[p.run.Scenario.Name], p.run)
	}
	labels := map[*Run]string{}
	for _, reps := range byScenario {
		for r, l := range repLabels(reps) {
			labels[r] = l
		}
	}
	samples := map[string][]float64{}
	context := map[string]bool{} // figures of a part that read its intervals itself
	c.Figures = map[string]float64{}
	for _, p := range parts {
		runs = append(runs, p.run)
		ev = append(ev, fmt.Sprintf("%s [%s]: %s", labels[p.run], p.status, p.evidence))
		for k, v := range p.figures {
			key := p.run.Scenario.Name + "." + k
			samples[key] = append(samples[key], v)
			context[key] = context[key] || p.intervals != nil
		}
		for k, v := range p.intervals {
			c.put(p.run.Scenario.Name+"."+k, v)
		}
	}
	for k, v := range samples {
		switch _, done := c.Intervals[k]; {
		case done:
		case context[k]:
			c.Figures[k] = stats.Median(v)
		default:
			c.put(k, stats.MedianInterval(v))
		}
	}
	c.Evidence = strings.Join(ev, " | ")
	c.Runs = ids(runs...)
	c.Conditions = conditions(dedupeScenarios(runs)...)
	return c
}

// dedupeScenarios keeps the first run of each scenario, so the conditions
// describe each load once however often it was repeated.
func dedupeScenarios(runs []*Run) []*Run {
	seen := map[string]bool{}
	var out []*Run
	for _, r := range runs {
		if !seen[r.Key()] {
			seen[r.Key()] = true
			out = append(out, r)
		}
	}
	return out
}

// bothTwinsOrSay returns the twins, or a claim that says which is missing.
func bothTwinsOrSay(r *Run) (rr, eda *results.TwinResult, c *Claim) {
	rr, eda = r.Twin(twinkind.RR), r.Twin(twinkind.EDA)
	if rr != nil && eda != nil {
		return rr, eda, nil
	}
	var have []string
	for t := range r.Summary.Twins {
		have = append(have, t)
	}
	sort.Strings(have)
	return nil, nil, &Claim{Status: Inconclusive, Runs: ids(r), Conditions: conditions(r),
		Evidence: fmt.Sprintf("needs both twins; run %s drove only %v: rerun with --twin both", r.ID(), have)}
}

// claim1LightLoad compares end-to-end latency at the smoke rate, over
// the smoke run's repetitions: RR lower only where the intervals separate.
func claim1LightLoad(s *Set) Claim {
	r := s.LightLoad()
	if r == nil {
		return missing("smoke")
	}
	rr, eda, bad := bothTwinsOrSay(r)
	if bad != nil {
		return *bad
	}
	reps := s.Reps(r)
	c := Claim{Runs: ids(reps...), Conditions: conditions(r), Figures: map[string]float64{
		"rr_offered_rps": rr.OfferedRPS, "eda_offered_rps": eda.OfferedRPS,
	}}
	rr50 := c.put("rr_e2e_p50_ms", s.overLatency(r, latency{twin: twinkind.RR, e2e: true, pct: 50}))
	rr99 := c.put("rr_e2e_p99_ms", s.overLatency(r, latency{twin: twinkind.RR, e2e: true, pct: 99}))
	eda50 := c.put("eda_e2e_p50_ms", s.overLatency(r, latency{twin: twinkind.EDA, e2e: true, pct: 50}))
	eda99 := c.put("eda_e2e_p99_ms", s.overLatency(r, latency{twin: twinkind.EDA, e2e: true, pct: 99}))
	ack50 := c.put("eda_ack_p50_ms", s.overLatency(r, latency{twin: twinkind.EDA, pct: 50}))
	var rrF, edaF int64
	for _, x := range reps {
		if t := x.Twin(twinkind.RR); t != nil {
			rrF += failures(t.Counts)
		}
		if t := x.Twin(twinkind.EDA); t != nil {
			edaF += failures(t.Counts)
		}
	}
	if rrF+edaF > 0 {
		c.Status = Inconclusive
		c.Evidence = fmt.Sprintf("not a clean light-load run: RR failed %d requests, EDA %d (errors, timeouts, dropped) over %d run(s); the latencies would leave them out",
			rrF, edaF, len(reps))
		return c
	}
	if knee, ok := weakerKnee(s); ok {
		c.Figures["weaker_knee_rps"] = knee
		rate := math.Max(rr.OfferedRPS, eda.OfferedRPS)
		if rate > lightLoadFraction*knee {
			c.Status = Inconclusive
			c.Evidence = fmt.Sprintf("not light load: %.0f/s is over %s of the weaker twin's knee (%.0f/s)", rate, pct(lightLoadFraction), knee)
			return c
		}
	}
	cmp := fmt.Sprintf("RR e2e p50 %s vs EDA %s; p99 %s vs %s (EDA ack p50 %s: it accepts sooner than RR completes, and completes later)",
		iv(rr50), iv(eda50), iv(rr99), iv(eda99), iv(ack50))
	p50, p99 := stats.Separate(rr50, eda50, stats.Below), stats.Separate(rr99, eda99, stats.Below)
	switch {
	case p50.Outcome == stats.Separated && p99.Outcome == stats.Separated:
		c.Status, c.Evidence = Holds, cmp+": RR lower at both percentiles"
	case p50.Outcome == stats.Reversed && p99.Outcome == stats.Reversed:
		c.Status, c.Evidence = DoesNotHold, cmp+": RR not lower at either percentile"
	case p50.Outcome == stats.Overlap || p99.Outcome == stats.Overlap:
		c.Status, c.Evidence = Inconclusive, cmp+": "+overlapOf("p50", p50, "p99", p99)
	default:
		c.Status, c.Evidence = Inconclusive, cmp+": RR lower at one percentile only"
	}
	return c
}

// overlapOf words the overlapping ones of two named comparisons.
func overlapOf(an string, a stats.Comparison, bn string, b stats.Comparison) string {
	var out []string
	for _, x := range []struct {
		name string
		c    stats.Comparison
	}{{an, a}, {bn, b}} {
		if x.c.Outcome == stats.Overlap {
			out = append(out, overlapSays(x.name, x.c))
		}
	}
	return strings.Join(out, "; ")
}

// weakerKnee is the lower of the two twins' ramp capacities, when a ramp
// ran: a twin whose knee was not reached counts at its lower bound. Each
// twin's knee is the first of the ramp's repetitions that drove it (make
// bench runs RR's search alone, EDA's per backbone).
func weakerKnee(s *Set) (float64, bool) {
	r := s.Ramp()
	if r == nil {
		return 0, false
	}
	lo := math.Inf(1)
	for _, t := range []string{twinkind.RR, twinkind.EDA} {
		found := false
		for _, x := range s.Reps(r) {
			if tw := x.Twin(t); tw != nil && tw.Knee != nil {
				lo, found = math.Min(lo, kneeBound(x, tw.Knee)), true
				break
			}
		}
		if !found {
			return 0, false
		}
	}
	return lo, lo > 0 && !math.IsInf(lo, 0)
}

// kneeBound is the knee's rate; for a knee not reached, the top step's
// rate, a lower bound of the capacity.
func kneeBound(r *Run, k *results.Knee) float64 {
	if k.Reached || k.RPS > 0 {
		return k.RPS
	}
	return topStep(r)
}

func topStep(r *Run) float64 {
	rp := r.Scenario.Ramp
	if rp == nil || rp.Step <= 0 {
		return 0
	}
	return rp.StartRate + math.Floor((rp.MaxRate-rp.StartRate)/rp.Step+1e-9)*rp.Step
}

// claim2Chain fits RR's end-to-end p50 against the number of hops.
func claim2Chain(s *Set) Claim {
	runs := s.Chain()
	if len(runs) == 0 {
		return Claim{Status: Inconclusive,
			Evidence: "no chain runs among the inputs: run `edabench run --scenario chain --steps N` for N = 1..4 (hops 2..5)"}
	}
	c := Claim{Conditions: conditions(runs...), Figures: map[string]float64{}}
	var hops, rrP50, edaAck, edaHops []float64
	var ends []stats.Interval // the shortest and longest chain's RR p50
	var rows []string
	var used []*Run
	for _, r := range runs {
		h := float64(r.Scenario.Steps + 1)
		rr := r.Twin(twinkind.RR)
		if rr == nil || rr.E2E.Count == 0 {
			continue
		}
		used = append(used, s.Reps(r)...)
		p50 := c.put(fmt.Sprintf("rr_e2e_p50_ms_hops_%d", int(h)), s.overLatency(r, latency{twin: twinkind.RR, e2e: true, pct: 50}))
		hops = append(hops, h)
		rrP50 = append(rrP50, p50.Median)
		ends = append(ends, p50)
		row := fmt.Sprintf("%d hops: RR %s", int(h), iv(p50))
		if eda := r.Twin(twinkind.EDA); eda != nil && eda.Ack.Count > 0 {
			edaHops = append(edaHops, h)
			edaAck = append(edaAck, eda.Ack.P50)
			c.Figures[fmt.Sprintf("eda_ack_p50_ms_hops_%d", int(h))] = eda.Ack.P50
			row += fmt.Sprintf(", EDA ack %s", ms(eda.Ack.P50))
		}
		rows = append(rows, row)
	}
	c.Runs = ids(used...)
	if len(hops) < chainMinLengths {
		c.Status = Inconclusive
		c.Evidence = fmt.Sprintf("%d chain length(s) with RR figures (%s); a trend needs at least %d: run the chain scenario with --steps 1..4",
			len(hops), strings.Join(rows, "; "), chainMinLengths)
		return c
	}
	sl := slope(hops, rrP50)
	edaSl := slope(edaHops, edaAck)
	inc := (rrP50[len(rrP50)-1] - rrP50[0]) / rrP50[0]
	inversions, bigInversion := 0, false
	for i := 1; i < len(rrP50); i++ {
		if rrP50[i] < rrP50[i-1] {
			inversions++
			if (rrP50[i-1]-rrP50[i])/rrP50[i-1] > chainInversionTolerance {
				bigInversion = true
			}
		}
	}
	monotonic := inversions == 0 || (inversions == 1 && !bigInversion)
	c.Figures["rr_e2e_p50_slope_ms_per_hop"] = sl
	c.Figures["eda_ack_p50_slope_ms_per_hop"] = edaSl
	c.Figures["rr_e2e_p50_increase_pct"] = 100 * inc
	c.Figures["rr_inversions"] = float64(inversions)
	ev := fmt.Sprintf("%s; RR slope %s per hop, %+.0f%% from %d to %d hops, %d inversion(s); EDA ack slope %s per hop",
		strings.Join(rows, "; "), ms(sl), 100*inc, int(hops[0]), int(hops[len(hops)-1]), inversions, ms(edaSl))
	// The growth is judged on the ends' intervals: the longest chain's
	// above the shortest's plus chainMinIncrease. Single-run points that
	// meet exactly grew by no more than it, as the rule always read them.
	grew := stats.Separate(ends[len(ends)-1], ends[0].Scale(1+chainMinIncrease), stats.Above)
	switch {
	case grew.Outcome == stats.Reversed || (ends[0].Degenerate() && (sl <= 0 || (grew.Outcome == stats.Overlap && inc <= chainMinIncrease))):
		// Refuted on the ends' intervals; the slope, fitted to medians, is
		// a point and refutes only where the ends are points too (runs
		// older than the within-run intervals).
		c.Status, c.Evidence = DoesNotHold, ev+fmt.Sprintf(": RR p50 does not grow by more than %s with the chain", pct(chainMinIncrease))
	case sl <= 0:
		c.Status, c.Evidence = Inconclusive, ev+": the longest chain is slower than the shortest, but the fitted slope is not positive: no trend"
	case grew.Outcome != stats.Separated:
		c.Status, c.Evidence = Inconclusive, ev+": "+overlapSays(fmt.Sprintf("the longest chain's RR p50 against the shortest's plus %s", pct(chainMinIncrease)), grew)
	case !monotonic:
		c.Status, c.Evidence = Inconclusive, ev+fmt.Sprintf(": RR p50 grows overall but not steadily (more than one inversion, or one over %s)", pct(chainInversionTolerance))
	default:
		c.Status, c.Evidence = Holds, ev+": RR p50 grows with every hop"
	}
	return c
}

// claim3Throughput compares the knees over the ramp's (or the search's)
// repetitions. Each twin's knee is read from the repetitions that drove
// it: one run of both twins, or (as make bench runs them) a run of RR
// alone, read in every backbone's column as the chains are since RR uses
// no broker, and a run of EDA per backbone.
func claim3Throughput(s *Set) Claim {
	r := s.Ramp()
	if r == nil {
		return missing("ramp")
	}
	reps := s.Reps(r)
	c := Claim{Runs: ids(reps...), Conditions: conditions(r), Figures: map[string]float64{}}
	drove, anyReached, stop := kneeRuns(r, reps, &c)
	if stop != nil {
		return *stop
	}
	// The run standing for each twin: the selected one when it drove it,
	// else its earliest repetition that did.
	rrKnee, edaKnee := sustainedKnee(drove[twinkind.RR][0], twinkind.RR), sustainedKnee(drove[twinkind.EDA][0], twinkind.EDA)
	knee := func(twin string) stats.Interval {
		var v []float64
		for _, x := range drove[twin] {
			v = append(v, kneeBound(x, sustainedKnee(x, twin)))
		}
		return stats.MedianInterval(v)
	}
	rk, ek := knee(twinkind.RR), knee(twinkind.EDA)
	// Every repetition broke at its first step: nothing held to compare.
	allFirst := rk.Hi == 0 && ek.Hi == 0
	// A knee lies between the rate held and the rate broken: a search's
	// bracket is within 10%, a ramp's is its step. Either way it is an
	// interval from one run, so the claim never decides on a point knee.
	rk, ek = bracketed(rk, drove[twinkind.RR], twinkind.RR), bracketed(ek, drove[twinkind.EDA], twinkind.EDA)
	if rrKnee.Method == "search" || edaKnee.Method == "search" {
		searchFigures(&c, drove[twinkind.RR][0].Twin(twinkind.RR).Knee, drove[twinkind.EDA][0].Twin(twinkind.EDA).Knee)
	}
	c.put("rr_knee_rps", rk)
	c.put("eda_knee_rps", ek)
	c.Figures["rr_knee_reached"], c.Figures["eda_knee_reached"] = b2f(rrKnee.Reached), b2f(edaKnee.Reached)
	c.Figures["rr_broken_at_rps"], c.Figures["eda_broken_at_rps"] = rrKnee.BrokenAt, edaKnee.BrokenAt
	c.Figures["rr_max_dispatch_late_ms"], c.Figures["eda_max_dispatch_late_ms"] = drove[twinkind.RR][0].Twin(twinkind.RR).MaxDispatchLateMs, drove[twinkind.EDA][0].Twin(twinkind.EDA).MaxDispatchLateMs
	desc := func(name string, k *results.Knee, v stats.Interval) string {
		if !k.Reached {
			return fmt.Sprintf("%s ≥ %s/s (never broke the SLO)", name, num(v))
		}
		if k.Method == "search" {
			return fmt.Sprintf("%s %s/s (held %g/s, broke at %g/s: %s; completion knee %s)", name, num(v), k.RPS, k.BrokenAt, k.Reason, completionSays(k.Completion))
		}
		return fmt.Sprintf("%s %s/s (broke at %.0f/s: %s)", name, num(v), k.BrokenAt, k.Reason)
	}
	ev := desc("EDA knee", edaKnee, ek) + "; " + desc("RR knee", rrKnee, rk)
	c.Status, c.Evidence = claim3Status(ev, rrKnee, rk, ek, anyReached, allFirst)
	return c
}

// kneeRuns finds, per twin, the repetitions that drove it and whether any
// reached its knee; a non-nil claim is the verdict when they cannot be
// compared (c, filled in, or a cell not measured).
func kneeRuns(r *Run, reps []*Run, c *Claim) (drove map[string][]*Run, anyReached map[string]bool, stop *Claim) {
	drove, anyReached = map[string][]*Run{}, map[string]bool{}
	for _, t := range []string{twinkind.RR, twinkind.EDA} {
		for _, x := range reps {
			tw := x.Twin(t)
			if tw == nil {
				continue
			}
			if tw.Knee == nil {
				c.Status, c.Evidence = Inconclusive, fmt.Sprintf("the ramp run %s reports no knee for %s (knee missing from summary.json)", x.ID(), t)
				return nil, nil, c
			}
			drove[t] = append(drove[t], x)
			anyReached[t] = anyReached[t] || sustainedKnee(x, t).Reached
		}
		if len(drove[t]) == 0 && t == twinkind.EDA {
			// RR's knee alone (make bench runs it once, for every
			// backbone) says nothing about this backbone: no run of it was
			// read, so the matrix shows the cell not measured.
			return nil, nil, &Claim{Status: Inconclusive, Evidence: fmt.Sprintf("no %s run of the EDA twin among the inputs, only RR's: run `edabench run --scenario %s --twin eda`", r.Scenario.Name, r.Scenario.Name)}
		}
		if len(drove[t]) == 0 {
			c.Status, c.Evidence = Inconclusive, fmt.Sprintf("needs both twins' knees; no run of %s's load drove %s: run `edabench run --scenario %s --twin %s`", r.Scenario.Name, t, r.Scenario.Name, t)
			return nil, nil, c
		}
	}
	return drove, anyReached, nil
}

// claim3Status decides claim 3 from the knees' intervals.
func claim3Status(ev string, rrKnee *results.Knee, rk, ek stats.Interval, anyReached map[string]bool, allFirst bool) (Status, string) {
	ahead := stats.Separate(ek, rk.Scale(1+kneeMargin), stats.Above)
	switch {
	case !anyReached[twinkind.RR] && !anyReached[twinkind.EDA]:
		return Inconclusive, ev + ": neither twin broke the SLO; raise the ramp's max_rate"
	case allFirst:
		return Inconclusive, ev + ": both broke at the first step; lower the ramp's start_rate (a search's start)"
	case rk.Lo >= ek.Hi && !rrKnee.Reached:
		// Knees are steps: equal knees are a fact of the instrument, so
		// RR at or above EDA in every repetition refutes.
		return DoesNotHold, ev + ": RR sustained at least as much as EDA"
	case rk.Lo >= ek.Hi:
		return DoesNotHold, ev + ": RR's knee is at or above EDA's"
	case ahead.Outcome == stats.Separated:
		above := "RR held no step"
		if rk.Median > 0 {
			above = fmt.Sprintf("EDA's knee is %s above RR's", pct(ek.Median/rk.Median-1))
		}
		return Holds, ev + ": " + above
	case ahead.Outcome == stats.Overlap:
		// A bracket is an interval even in one run.
		return Inconclusive, ev + ": " + overlapSays(fmt.Sprintf("EDA's knee against RR's plus %s", pct(kneeMargin)), ahead)
	default:
		return Inconclusive, ev + fmt.Sprintf(": EDA's bracket reaches no more than %s above RR's, within the instrument's resolution", pct(kneeMargin))
	}
}

// bracketed widens a knee's interval over the repetitions to their
// brackets: the knee lies between the rate a twin held (a ramp's step or
// a search's) and the one it broke at, so no repetition's bracket is
// outside the interval the claim compares. A knee never broken has no
// upper end to add.
func bracketed(iv stats.Interval, reps []*Run, twin string) stats.Interval {
	for _, x := range reps {
		k := sustainedKnee(x, twin)
		iv.Lo = math.Min(iv.Lo, kneeBound(x, k))
		if k.Reached {
			iv.Hi = math.Max(iv.Hi, k.BrokenAt)
		}
	}
	if len(reps) == 1 && iv.Hi > iv.Lo {
		// One run's bracket: an interval within the run, not a spread
		// between runs.
		iv.Within, iv.Kind = true, stats.KindBracket
	}
	return iv
}

// sustainedKnee is the rate twin both accepts and completes in time in
// run r: a search judges every step against the ack SLO and the
// completion SLO, and a twin that accepts faster than it completes only
// defers a growing backlog, which is not sustaining the rate. So the
// claim reads the lower of the two knees (the EDA twin's completion knee
// on RabbitMQ lay at 800/s against an ack knee of 2,934/s, make bench
// 2026-12-05). A ramp's knee has no completion knee and stands as it is.
func sustainedKnee(r *Run, twin string) *results.Knee {
	k := r.Twin(twin).Knee
	if k == nil || k.Completion == nil {
		return k
	}
	c := k.Completion
	if !c.Reached || (k.Reached && k.RPS <= c.RPS) {
		return k // the ack knee binds, or completion never broke
	}
	out := *c
	out.Method, out.Precision, out.Completion, out.Steps = k.Method, k.Precision, c, k.Steps
	out.Reason = "completion SLO: " + c.Reason
	return &out
}

// searchFigures records what a search found besides the ack knee: each
// twin's completion knee and its bracket, for verdict.json.
func searchFigures(c *Claim, rr, eda *results.Knee) {
	for name, k := range map[string]*results.Knee{"rr": rr, "eda": eda} {
		if k.Completion == nil {
			continue
		}
		c.Figures[name+"_ack_knee_rps"] = k.RPS
		c.Figures[name+"_completion_knee_rps"] = k.Completion.RPS
		c.Figures[name+"_completion_broken_at_rps"] = k.Completion.BrokenAt
		c.Figures[name+"_search_steps"] = float64(len(k.Steps))
	}
}

func completionSays(k *results.Knee) string {
	switch {
	case k == nil:
		return "not reported"
	case !k.Reached:
		return fmt.Sprintf("≥ %g/s", k.RPS)
	case k.RPS == 0:
		return fmt.Sprintf("below %g/s", k.BrokenAt)
	}
	return fmt.Sprintf("[%g, %g)/s", k.RPS, k.BrokenAt)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// claim4Spike compares the spike phase with the phase before it, over the
// spike run's repetitions.
func claim4Spike(s *Set) Claim {
	r := s.Spike()
	if r == nil {
		return missing("spike")
	}
	rr, eda, bad := bothTwinsOrSay(r)
	if bad != nil {
		return *bad
	}
	c := Claim{Runs: ids(s.Reps(r)...), Conditions: conditions(r)}
	peak := peakStage(r.Scenario.Stages)
	if peak <= 0 {
		c.Status, c.Evidence = Inconclusive, "the spike scenario has no stage before its peak to compare with"
		return c
	}
	spike, base := r.Scenario.Stages[peak].Name, r.Scenario.Stages[peak-1].Name
	if rr.Phases[spike] == nil || rr.Phases[base] == nil || eda.Phases[spike] == nil || eda.Phases[base] == nil {
		c.Status, c.Evidence = Inconclusive, fmt.Sprintf("the run has no %q or %q phase figures for both twins", spike, base)
		return c
	}
	f := spikeFigures(s, r, &c, spike, base)
	ev := fmt.Sprintf("in %q (%g/s) ack p99 EDA %s vs RR %s; RR rose ×%s from %q and failed %s of the spike's requests; EDA backlog peak %s messages, drained in %s (lag), last order %s after the load, %d lost",
		spike, stageRate(r.Scenario.Stages[peak]), iv(f.edaAck), iv(f.rrAck), num(f.rise), base, share(f.failShare),
		num(f.backlog), ms(eda.Lag.DrainMs), ms(eda.Orders.DrainMs), eda.Orders.Lost)
	faster := stats.Separate(f.edaAck, f.rrAck, stats.Below)
	rose := stats.Separate(f.rise, point(spikeRiseFactor), stats.Above)
	failed := stats.Separate(f.failShare, point(spikeFailShare), stats.Above)
	rrSuffered := rose.Outcome == stats.Separated || failed.Outcome == stats.Separated
	switch {
	case faster.Outcome == stats.Reversed:
		c.Status, c.Evidence = DoesNotHold, ev+": EDA's acks were not faster than RR's during the spike"
	case f.undrained != "":
		c.Status, c.Evidence = DoesNotHold, ev+": EDA's backlog did not drain within "+f.undrained+" (drain -1 or orders lost)"
	case !rrSuffered && rose.Outcome == stats.Reversed && failed.Outcome != stats.Overlap:
		c.Status, c.Evidence = DoesNotHold, ev+fmt.Sprintf(": RR's latency did not rise ×%g nor did it fail over %s at this surge", spikeRiseFactor, pct(spikeFailShare))
	case f.backlog.Lo <= backlogMinMessages:
		c.Status, c.Evidence = Inconclusive, ev+fmt.Sprintf(": EDA queued at most %.0f messages (≤ %d) in a run: the surge needed no buffering", f.backlog.Lo, backlogMinMessages)
	case faster.Outcome != stats.Separated:
		c.Status, c.Evidence = Inconclusive, ev+": "+overlapSays("EDA's spike ack p99 against RR's", faster)
	case !rrSuffered:
		c.Status, c.Evidence = Inconclusive, ev+": "+overlapOf(fmt.Sprintf("RR's rise against ×%g", spikeRiseFactor), rose, fmt.Sprintf("RR's failed share against %s", pct(spikeFailShare)), failed)
	default:
		c.Status, c.Evidence = Holds, ev+": EDA buffered the surge and drained it while RR's latency rose"
	}
	return c
}

// spikeRead is what claim 4 reads over the spike's repetitions.
type spikeRead struct {
	edaAck, rrAck, rise, failShare, backlog stats.Interval
	undrained                               string // the first run whose backlog did not drain, "" if all did
}

func spikeFigures(s *Set, r *Run, c *Claim, spike, base string) spikeRead {
	phase := func(twin, stage string, f func(*results.PhaseResult) float64) fig {
		return twinFig(twin, func(t *results.TwinResult) float64 {
			if p := t.Phases[stage]; p != nil {
				return f(p)
			}
			return math.NaN()
		})
	}
	ack := func(p *results.PhaseResult) float64 { return p.Ack.P99 }
	rise := func(x *Run) float64 { return phase(twinkind.RR, spike, ack)(x) / phase(twinkind.RR, base, ack)(x) }
	share := phase(twinkind.RR, spike, func(p *results.PhaseResult) float64 {
		if p.Sent == 0 {
			return 0
		}
		return float64(failures(p.Counts)) / float64(p.Sent)
	})
	var out spikeRead
	out.edaAck = c.put("eda_spike_ack_p99_ms", s.overLatency(r, latency{twin: twinkind.EDA, phase: spike, pct: 99}))
	out.rrAck = c.put("rr_spike_ack_p99_ms", s.overLatency(r, latency{twin: twinkind.RR, phase: spike, pct: 99}))
	c.put("rr_base_ack_p99_ms", s.overLatency(r, latency{twin: twinkind.RR, phase: base, pct: 99}))
	c.put("eda_base_ack_p99_ms", s.overLatency(r, latency{twin: twinkind.EDA, phase: base, pct: 99}))
	out.rise, out.failShare = s.over(r, rise), s.over(r, share)
	if reps := s.Reps(r); len(reps) == 1 {
		// One run: the rise is the ratio of the two phases' own intervals
		// and the failed share a binomial interval, so a rise near ×2
		// (1.91 on 2026-12-05) straddles the bound instead of deciding.
		sp, bs := latency{twin: twinkind.RR, phase: spike, pct: 99}.within(reps[0]), latency{twin: twinkind.RR, phase: base, pct: 99}.within(reps[0])
		if sp.Valid() && !sp.Degenerate() && bs.Valid() && !bs.Degenerate() {
			out.rise = stats.Ratio(sp, bs)
		}
		if p := reps[0].Twin(twinkind.RR).Phases[spike]; p != nil && p.Sent > 0 {
			out.failShare = stats.Share(failures(p.Counts), p.Sent)
		}
	}
	c.put("rr_rise_x", out.rise)
	c.put("rr_spike_failed_share", out.failShare)
	out.backlog = c.put("eda_backlog_peak", s.over(r, twinFig(twinkind.EDA, func(t *results.TwinResult) float64 { return float64(t.Lag.MaxQueueDepth) })))
	eda := r.Twin(twinkind.EDA)
	c.Figures["eda_spike_e2e_p99_ms"] = eda.Phases[spike].E2E.P99
	c.Figures["eda_drain_ms"], c.Figures["eda_orders_drain_ms"] = eda.Lag.DrainMs, eda.Orders.DrainMs
	c.Figures["eda_lost"] = float64(eda.Orders.Lost)
	c.Figures["spike_rate"], c.Figures["base_rate"] = stageRate(r.Scenario.Stages[peakStage(r.Scenario.Stages)]), stageRate(r.Scenario.Stages[peakStage(r.Scenario.Stages)-1])
	for _, x := range s.Reps(r) {
		if t := x.Twin(twinkind.EDA); t != nil && (t.Lag.DrainMs < 0 || t.Orders.DrainMs < 0 || t.Orders.Lost > 0) {
			out.undrained = "the run " + x.ID()
			break
		}
	}
	return out
}

// point is a threshold as an interval, to compare a figure's interval with.
func point(v float64) stats.Interval { return stats.Interval{N: 1, Median: v, Lo: v, Hi: v} }

func stageRate(st results.StageInfo) float64 {
	if st.To != nil {
		return math.Max(st.Rate, *st.To)
	}
	return st.Rate
}

func pctFine(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }

// downstreamFault says whether a run killed, froze or cut off a step
// service: the faults claim 5 is about (a broker restart takes EDA's own
// infrastructure down, not a downstream service).
func downstreamFault(r *Run) bool {
	for _, f := range r.Scenario.Faults {
		if (f.Type == "kill" || f.Type == "pause" || f.Type == "cut") && f.Target != "gateway" {
			return true
		}
	}
	return false
}

// downtimeFault says whether a run took something down (as opposed to
// slowing it or making it fail): what claim 6's "downtime" means.
func downtimeFault(r *Run) bool {
	for _, f := range r.Scenario.Faults {
		if f.Type == "kill" || f.Type == "pause" || f.Type == "cut" || f.Type == "broker-restart" {
			return true
		}
	}
	return false
}

// windowFailures sums the requests that failed inside the fault windows,
// and names the first window that could not be applied.
func windowFailures(t *results.TwinResult) (failed int64, broken string) {
	for _, w := range t.Faults {
		failed += w.Errors + w.Timeouts + w.Dropped
		if w.Error != "" && broken == "" {
			broken = w.Fault + ": " + w.Error
		}
	}
	return failed, broken
}

// lost is what the audit (or without one, the order count) says was
// accepted and never completed.
func lost(t *results.TwinResult) int64 {
	if t.Audit != nil {
		return max(t.Audit.Lost, t.Orders.Lost)
	}
	return t.Orders.Lost
}

// claim5Isolation compares the failed requests inside each downstream
// fault window.
func claim5Isolation(s *Set) Claim {
	var parts []part
	for _, r := range s.Faulted() {
		switch {
		case downstreamFault(r):
			for _, x := range s.Reps(r) {
				parts = append(parts, isolation(x))
			}
		case nodeFault(r):
			// On a cluster the broker's own members fail too: the claim
			// counts them (nodefaults.go).
			for _, x := range s.Reps(r) {
				parts = append(parts, nodeIsolation(x))
			}
		}
	}
	if len(parts) == 0 {
		return missingFault(s)
	}
	return combineAny(parts)
}

func isolation(r *Run) part {
	p := part{run: r, status: Inconclusive}
	rr, eda := r.Twin(twinkind.RR), r.Twin(twinkind.EDA)
	if rr == nil || eda == nil {
		p.evidence = "needs both twins"
		return p
	}
	rrF, rrBroken := windowFailures(rr)
	edaF, edaBroken := windowFailures(eda)
	edaLost := lost(eda)
	p.figures = map[string]float64{"rr_failed_in_window": float64(rrF), "eda_failed_in_window": float64(edaF),
		"eda_lost": float64(edaLost), "eda_accepted": float64(eda.Orders.Accepted), "rr_accepted": float64(rr.Orders.Accepted)}
	if len(rr.Faults) == 0 || len(eda.Faults) == 0 {
		p.evidence = "no fault windows recorded"
		return p
	}
	if rrBroken != "" || edaBroken != "" {
		p.evidence = "a fault was not applied: " + rrBroken + edaBroken
		return p
	}
	p.evidence = fmt.Sprintf("failed in the fault window: RR %d, EDA %d (errors + timeouts + dropped); EDA accepted %d and lost %d",
		rrF, edaF, eda.Orders.Accepted, edaLost)
	switch {
	case eda.Orders.Accepted == 0:
		// Isolation means EDA kept accepting; a twin that accepted nothing
		// isolated nothing, whatever its window's counts say.
		p.evidence += ": EDA accepted no order in the run, so its isolation was not exercised"
	case rrF == 0:
		p.status, p.evidence = DoesNotHold, p.evidence+": the failure did not propagate to RR's callers"
	case isolatedCmp(edaF, rrF).Outcome == stats.Reversed:
		p.status, p.evidence = DoesNotHold, p.evidence+fmt.Sprintf(": EDA's callers saw over %s of RR's failures, beyond counting noise", pct(isolationShare))
	case isolatedCmp(edaF, rrF).Outcome == stats.Overlap:
		p.evidence += fmt.Sprintf(": EDA's failures against %s of RR's: %s; a few stray failures either way are counting noise", pct(isolationShare), isolatedCmp(edaF, rrF))
	case edaLost > 0:
		p.status, p.evidence = DoesNotHold, p.evidence+": EDA accepted orders it then lost"
	default:
		p.status, p.evidence = Holds, p.evidence+": the failure reached RR's callers and not EDA's"
	}
	return p
}

// isolatedCmp compares a twin's failures in a fault window with
// isolationShare of RR's, each count with its Poisson interval: a count
// of a few is noise that one run cannot separate from the bound (a
// rerun reads a few more or fewer), so it is neither isolation nor its
// failure. Bursts make the true spread wider than Poisson's, which the
// bound's 1% leaves room for.
func isolatedCmp(failed, rrFailed int64) stats.Comparison {
	return stats.Separate(stats.Count(failed), stats.Count(rrFailed).Scale(isolationShare), stats.Below)
}

// claim6Decoupling checks that EDA completed every accepted order after
// each downtime, and how long its queues took to drain.
func claim6Decoupling(s *Set) Claim {
	var parts []part
	for _, r := range s.Faulted() {
		switch {
		case downtimeFault(r):
			for _, x := range s.Reps(r) {
				parts = append(parts, catchUp(x))
			}
		case nodeFault(r):
			for _, x := range s.Reps(r) {
				parts = append(parts, nodeCatchUp(x, catchUp(x)))
			}
		}
	}
	if len(parts) == 0 {
		return missingFault(s)
	}
	return combineAny(parts)
}

func catchUp(r *Run) part {
	p := part{run: r, status: Inconclusive}
	eda := r.Twin(twinkind.EDA)
	if eda == nil {
		p.evidence = "no EDA twin in the run"
		return p
	}
	if len(eda.Faults) == 0 {
		p.evidence = "no fault windows recorded"
		return p
	}
	l := lost(eda)
	var backlog int64
	maxDrain, undrained := 0.0, 0
	var broken string
	for _, w := range eda.Faults {
		backlog = max(backlog, w.Backlog)
		if w.DrainMs < 0 {
			undrained++
		}
		maxDrain = math.Max(maxDrain, w.DrainMs)
		if w.Error != "" && broken == "" {
			broken = w.Fault + ": " + w.Error
		}
	}
	p.figures = map[string]float64{"eda_lost": float64(l), "eda_accepted": float64(eda.Orders.Accepted),
		"eda_completed": float64(eda.Orders.Completed), "eda_backlog": float64(backlog),
		"eda_drain_ms": maxDrain, "eda_undrained_windows": float64(undrained), "eda_orders_drain_ms": eda.Orders.DrainMs}
	if broken != "" {
		p.evidence = "a fault was not applied: " + broken
		return p
	}
	drain := fmt.Sprintf("queues back to their pre-fault depth %s after the window (longest)", ms(maxDrain))
	if undrained > 0 {
		drain = fmt.Sprintf("queues never back to their pre-fault depth after %d window(s)", undrained)
	}
	last := fmt.Sprintf("last order ended %s after the load", ms(eda.Orders.DrainMs))
	if eda.Orders.DrainMs < 0 {
		last = "some accepted orders had not ended when the drain ran out"
	}
	p.evidence = fmt.Sprintf("EDA accepted %d, completed %d, lost %d; backlog %d messages, %s; %s",
		eda.Orders.Accepted, eda.Orders.Completed, l, backlog, drain, last)
	unaudited := eda.Audit != nil && len(eda.Audit.Unaudited) > 0
	switch {
	case l > 0:
		p.status, p.evidence = DoesNotHold, p.evidence+": accepted orders never completed"
	case undrained > 0 || eda.Orders.DrainMs < 0:
		p.status, p.evidence = DoesNotHold, p.evidence+": the queues never drained within the run"
	case eda.Audit == nil || unaudited:
		p.evidence += ": the step journals could not all be read, so 0 lost is unproven"
	case backlog <= backlogMinMessages:
		p.evidence += fmt.Sprintf(": at most %d messages queued during the fault (≤ %d, what is in flight at baseline), so there was nothing to catch up", backlog, backlogMinMessages)
	case notBackInService(eda, requestTimeout(r)) != "":
		p.evidence += ": " + notBackInService(eda, requestTimeout(r))
	default:
		p.status, p.evidence = Holds, p.evidence+": the consumers caught up"
	}
	return p
}

// notBackInService says why a twin's recovery from its faults was not
// observed inside the run, "" when it was. Without a recovery there is no
// catch-up to judge: a twin that accepted nothing after a broker restart
// queued nothing, and its drained queues would read as a catch-up.
//
// A request counts where it failed, and one sent late in a window times
// out up to timeout after the window ends: the requests sent in a window's
// last timeout (its rate times timeout) may fail after it without saying
// anything about the twin's service after the fault.
func notBackInService(t *results.TwinResult, timeout time.Duration) string {
	var inWindows int64
	var carried float64
	rate := 0.0
	if t.LoadSeconds > 0 {
		rate = float64(t.Sent) / t.LoadSeconds
	}
	for _, w := range t.Faults {
		inWindows += w.Errors + w.Timeouts + w.Dropped
		carried += rate * math.Min(timeout.Seconds(), w.EndS-w.StartS)
		switch {
		case t.LoadSeconds > 0 && w.EndS >= t.LoadSeconds:
			return fmt.Sprintf("the %s window lasted until the load ended (%.0f s of %.0f s), so no order was placed after it: no recovery inside the run", w.Fault, w.EndS, t.LoadSeconds)
		case w.RecoveryMs < 0:
			return fmt.Sprintf("the twin's end-to-end p99 never came back after the %s window (recovery_ms -1): no recovery inside the run", w.Fault)
		}
	}
	allowed := afterFaultFailShare*float64(t.Sent) + carried
	if after := failures(t.Counts) - inWindows; t.Sent > 0 && float64(after) > allowed {
		return fmt.Sprintf("%d requests failed outside the fault windows (over %s of %d sent plus the %.0f the windows' last %s of requests could fail after them): the twin did not return to service, so its catch-up was not observed",
			after, pct(afterFaultFailShare), t.Sent, carried, timeout)
	}
	return ""
}

// requestTimeout is the run's per-request deadline (the scenario's
// timeout), or the scenario default when the summary does not say.
func requestTimeout(r *Run) time.Duration {
	if d, err := time.ParseDuration(r.Scenario.Timeout); err == nil && d > 0 {
		return d
	}
	return scenario.DefaultTimeout
}

// claim7Consistency reads the staleness probe: from the reply until a
// read said COMPLETED, and how many reads came first that did not.
func claim7Consistency(s *Set) Claim {
	probed := func(r *Run) bool { return r.staleness(twinkind.RR) != nil && r.staleness(twinkind.EDA) != nil }
	r := s.LightLoad()
	if r == nil || !probed(r) {
		r = s.best(probed)
	}
	if r == nil {
		return Claim{Status: Inconclusive,
			Evidence: "no run reports twins.<twin>.staleness for both twins (the staleness measure is newer than these runs): rerun the smoke scenario"}
	}
	rs, es := r.staleness(twinkind.RR), r.staleness(twinkind.EDA)
	c := Claim{Runs: ids(s.Reps(r)...), Conditions: conditions(r), Figures: map[string]float64{
		"rr_staleness_count": float64(rs.Count), "rr_staleness_p50_ms": rs.P50, "rr_staleness_p99_ms": rs.P99,
		"eda_staleness_count": float64(es.Count), "eda_staleness_p50_ms": es.P50, "eda_staleness_p99_ms": es.P99,
	}}
	ev := fmt.Sprintf("staleness (reply until a read said COMPLETED): RR p50 %s p99 %s over %d orders; EDA p50 %s p99 %s over %d",
		ms(rs.P50), ms(rs.P99), rs.Count, ms(es.P50), ms(es.P99), es.Count)
	var rrFresh, edaStale bool
	var fresh, stale, undecided string
	if counted(rs) && counted(es) {
		// The probe's own counts are exact where a latency is only as fine
		// as its polling: a stale read either happened or did not.
		// Over the repetitions: one stale RR read in any of them refutes
		// strictness; EDA's first-read share is a spread, so its interval
		// must lie below typicalShare.
		var rrStale, rrSampled int64
		for _, x := range s.Reps(r) {
			if st := x.staleness(twinkind.RR); st != nil {
				rrStale, rrSampled = rrStale+st.StaleReads, rrSampled+st.Sampled
			}
		}
		first := s.over(r, func(x *Run) float64 {
			if st := x.staleness(twinkind.EDA); st != nil && st.Sampled > 0 {
				return float64(st.ImmediatelyConsistent) / float64(st.Sampled)
			}
			return math.NaN()
		})
		if reps := s.Reps(r); len(reps) == 1 {
			// One run: the share of the probed orders, a binomial interval
			// over them (a point share near one half would decide on noise).
			first = stats.Share(es.ImmediatelyConsistent, es.Sampled)
		}
		c.put("eda_immediately_consistent_share", first)
		c.Figures["rr_stale_reads"] = float64(rrStale)
		c.Figures["rr_sampled"] = float64(rrSampled)
		c.Figures["eda_stale_reads"] = float64(es.StaleReads)
		c.Figures["eda_sampled"] = float64(es.Sampled)
		ev += fmt.Sprintf("; stale reads RR %d of %d orders probed, EDA %d; EDA orders read COMPLETED on the first read %s",
			rrStale, rrSampled, es.StaleReads, share(first))
		rrFresh = rrStale == 0
		switch cmp := stats.Separate(first, point(typicalShare), stats.Below); cmp.Outcome {
		case stats.Separated:
			edaStale = true
		case stats.Overlap:
			undecided = overlapSays(fmt.Sprintf("EDA's first-read share against %s", pct(typicalShare)), cmp)
		}
		fresh, stale = "no RR read was stale", "most EDA orders read stale first"
	} else {
		rrFresh = rs.Count == 0 || rs.P99 <= staleToleranceMs
		edaStale = es.Count > 0 && es.P50 > staleToleranceMs
		fresh = fmt.Sprintf("RR reads are current within %s", ms(staleToleranceMs))
		stale = "EDA's typical read lags"
	}
	switch {
	case rs.Count == 0 && es.Count == 0:
		c.Status, c.Evidence = Inconclusive, ev+": neither twin's probe measured an order"
	case rrFresh && edaStale:
		c.Status, c.Evidence = Holds, ev+": "+fresh+", "+stale
	case rrFresh && undecided != "":
		c.Status, c.Evidence = Inconclusive, ev+": "+undecided
	case !rrFresh:
		c.Status, c.Evidence = DoesNotHold, ev+": RR's reads were stale after its reply"
	default:
		c.Status, c.Evidence = DoesNotHold, ev+": EDA's typical read was already current"
	}
	return c
}

// counted says whether the probe counted its reads: it wrote all four
// counts or none (summaries from before harness/staleness counted), and
// they are worth reading only when it sampled an order.
func counted(s *staleness.Result) bool { return s.Sampled > 0 }

// claim8Efficiency compares CPU per completed order at equal rates.
func claim8Efficiency(s *Set) Claim {
	var parts []part
	var read []*Run
	for _, r := range s.Steady() {
		parts = append(parts, efficiency(s, r))
		read = append(read, s.Reps(r)...)
	}
	if len(parts) == 0 {
		return missing("smoke")
	}
	c := combineAgree(parts)
	c.Runs = ids(read...) // each part read its repetitions
	return c
}

// efficiency compares CPU per order over a steady run's repetitions: EDA's
// interval separated below RR's holds, above refutes, an overlap is a tie.
// With one run a side there is no interval, and the point figures within
// cpuTieShare of each other are the tie.
func efficiency(s *Set, r *Run) part {
	p := part{run: r, status: Inconclusive}
	rr, eda := r.Twin(twinkind.RR), r.Twin(twinkind.EDA)
	if rr == nil || eda == nil {
		p.evidence = "needs both twins"
		return p
	}
	cpu := func(t *results.TwinResult) float64 { return t.CPUPerOrderMs }
	rrCPU, edaCPU := s.over(r, twinFig(twinkind.RR, cpu)), s.over(r, twinFig(twinkind.EDA, cpu))
	p.intervals = map[string]stats.Interval{"rr_cpu_per_order_ms": rrCPU, "eda_cpu_per_order_ms": edaCPU}
	brokerMs := math.NaN()
	if b, ok := eda.Usage["broker"]; ok && eda.Orders.Completed > 0 {
		brokerMs = 1000 * b.CPUSeconds / float64(eda.Orders.Completed)
	}
	p.figures = map[string]float64{"eda_broker_cpu_per_order_ms": brokerMs, "rr_offered_rps": rr.OfferedRPS, "eda_offered_rps": eda.OfferedRPS}
	p.evidence = fmt.Sprintf("CPU per completed order RR %s, EDA %s (of which the broker %s) at %.0f/s and %.0f/s offered",
		iv(rrCPU), iv(edaCPU), ms(brokerMs), rr.OfferedRPS, eda.OfferedRPS)
	lo, hi := math.Min(rr.OfferedRPS, eda.OfferedRPS), math.Max(rr.OfferedRPS, eda.OfferedRPS)
	cmp := stats.Separate(edaCPU, rrCPU, stats.Below)
	single := rrCPU.Degenerate() || edaCPU.Degenerate()
	switch {
	case rr.CPUPerOrderMs <= 0 || eda.CPUPerOrderMs <= 0:
		p.evidence += ": CPU per order not measured for a twin"
	case hi <= 0 || (hi-lo)/hi > equalRateTolerance:
		p.evidence += fmt.Sprintf(": the rates differ by over %s, not a like-for-like comparison", pct(equalRateTolerance))
	case single && math.Abs(edaCPU.Median-rrCPU.Median) <= cpuTieShare*rrCPU.Median:
		p.evidence += fmt.Sprintf(": within %s of each other, a tie (one run: no interval to judge the spread)", pct(cpuTieShare))
	case cmp.Outcome == stats.Overlap:
		p.evidence += ": " + overlapSays("a tie", cmp)
	case cmp.Outcome == stats.Separated:
		p.status, p.evidence = Holds, p.evidence+fmt.Sprintf(": EDA uses %s less, broker included", pct(1-edaCPU.Median/rrCPU.Median))
	default:
		p.status, p.evidence = DoesNotHold, p.evidence+fmt.Sprintf(": EDA uses ×%.1f RR's, broker included", edaCPU.Median/rrCPU.Median)
	}
	return p
}

// claim9SlowStep compares each twin's latency inside the slow-step window
// with its latency before it.
func claim9SlowStep(s *Set) Claim {
	r := s.WithFault("slow-step")
	if r == nil {
		return missing("failure-slow-step")
	}
	_, _, bad := bothTwinsOrSay(r)
	if bad != nil {
		return *bad
	}
	c := Claim{Runs: ids(r), Conditions: conditions(r)}
	var slowed results.FaultInfo
	for _, f := range r.Scenario.Faults {
		if f.Type == "slow-step" {
			slowed = f
			break
		}
	}
	mean, ok := parseDur(slowed.Mean)
	if !ok {
		c.Status, c.Evidence = Inconclusive, "the run's scenario has no slow-step fault with a mean"
		return c
	}
	slowdownMs := float64(mean-costMean(r.Scenario.Cost)) / 1e6
	w, err := slowReads(s, r)
	if err != nil {
		c.Status, c.Evidence = Inconclusive, err.Error()
		return c
	}
	c.Runs = ids(w.runs...)
	rise := c.put("rr_rise_ms", w.rise)
	excess := c.put("eda_rise_over_allowed_ms", w.excess)
	c.Figures["slowdown_ms"] = slowdownMs
	c.Figures["rr_base_e2e_p99_ms"], c.Figures["rr_slow_e2e_p99_ms"] = w.rrBase.Median, w.rrWin.Median
	c.Figures["eda_base_ack_p99_ms"], c.Figures["eda_slow_ack_p99_ms"], c.Figures["eda_allowed_rise_ms"] = w.edaBase.Median, w.edaWin.Median, w.allowed
	ev := fmt.Sprintf("%s slowed by %s (mean %s); %s: RR e2e p99 %s before, %s during (+%s); EDA ack p99 %s before, %s during (rise over its allowance %s)",
		slowed.Target, ms(slowdownMs), slowed.Mean, w.how, iv(w.rrBase), iv(w.rrWin), iv(rise), iv(w.edaBase), iv(w.edaWin), iv(excess))
	// Inclusive bounds, as the rule always read them: a rise equal to the
	// slowdown is the slowdown taken whole.
	switch {
	case rise.Lo >= slowdownMs && excess.Hi <= 0:
		c.Status, c.Evidence = Holds, ev+": RR took the whole slowdown, EDA's acks did not move"
	case rise.Hi < slowdownMs:
		c.Status, c.Evidence = DoesNotHold, ev+": RR's p99 rose by less than the step's slowdown"
	case excess.Lo > 0:
		c.Status, c.Evidence = DoesNotHold, ev+fmt.Sprintf(": EDA's acks slowed too (over %s)", ms(w.allowed))
	default:
		c.Status, c.Evidence = Inconclusive, ev+fmt.Sprintf(": the intervals straddle the rule (RR's rise against %s, or EDA's against its allowance)", ms(slowdownMs))
	}
	return c
}

// slowRead is claim 9's figures: the rises over the repetitions (their
// medians and order-statistics intervals) or, from one run, the run's own
// intervals; and the selected run's levels for the evidence.
type slowRead struct {
	runs                           []*Run
	rise, excess                   stats.Interval
	rrBase, rrWin, edaBase, edaWin stats.Interval
	allowed                        float64
	how                            string
}

// allowance is the rise of EDA's ack p99 claim 9 forgives over a baseline.
func allowance(base float64) float64 { return math.Max(slowAckTolerance*base, slowAckFloorMs) }

// slowReads reads the slow-step window of every repetition of r; the
// selected run must have its figures, another repetition without them is
// left out (and so not counted in n). From one repetition the rises are
// intervals within the run: each level's own interval (a phase's block
// bootstrap, or the per-second p99s' median bootstrapped in blocks), and
// the rise the difference of the two, so a few milliseconds of noise in a
// median of per-second p99s can no longer decide the claim.
func slowReads(s *Set, r *Run) (slowRead, error) {
	var out slowRead
	var rrRise, edaExcess []float64
	for _, x := range s.Reps(r) {
		xrr, xeda := x.Twin(twinkind.RR), x.Twin(twinkind.EDA)
		if xrr == nil || xeda == nil {
			continue
		}
		rrBase, rrWin, how, err := slowWindow(x, xrr, twinkind.RR, "e2e")
		if err != nil && x == r {
			return out, fmt.Errorf("RR: %w", err)
		}
		edaBase, edaWin, _, err2 := slowWindow(x, xeda, twinkind.EDA, "ack")
		if err2 != nil && x == r {
			return out, fmt.Errorf("EDA: %w", err2)
		}
		if err != nil || err2 != nil {
			continue
		}
		out.runs = append(out.runs, x)
		rrRise = append(rrRise, rrWin.Median-rrBase.Median)
		edaExcess = append(edaExcess, edaWin.Median-edaBase.Median-allowance(edaBase.Median))
		if x == r {
			out.rrBase, out.rrWin, out.edaBase, out.edaWin, out.how = rrBase, rrWin, edaBase, edaWin, how
			out.allowed = allowance(edaBase.Median)
		}
	}
	out.rise, out.excess = stats.MedianInterval(rrRise), stats.MedianInterval(edaExcess)
	if len(out.runs) == 1 {
		out.rise = stats.Diff(out.rrWin, out.rrBase)
		out.excess = stats.Less(out.edaWin, out.edaBase, func(b float64) float64 { return b + allowance(b) })
	}
	return out, nil
}

// slowWindow is a twin's p99 (metric "ack" or "e2e") before and during
// its slow-step window, each with its interval within the run: from the
// scenario's phases when a stage spans the window exactly (a true p99
// over it, with the phase's block bootstrap), else the median of the
// per-second p99s of timeseries.csv (robust to a second's outlier, but a
// median of p99s, not a p99), with the same bootstrap over those seconds.
func slowWindow(r *Run, t *results.TwinResult, twin, metric string) (base, win stats.Interval, how string, err error) {
	var w *results.FaultWindow
	for i := range t.Faults {
		if strings.HasPrefix(t.Faults[i].Fault, "slow-step") {
			w = &t.Faults[i]
			break
		}
	}
	if w == nil {
		return base, win, "", fmt.Errorf("no slow-step window recorded")
	}
	if w.Error != "" {
		return base, win, "", fmt.Errorf("the slow-step fault was not applied: %s", w.Error)
	}
	if before, during, ok := slowPhases(r, t, w); ok {
		l := func(phase string) stats.Interval {
			lat := latency{twin: twin, phase: phase, e2e: metric == "e2e", pct: 99}
			if iv := lat.within(r); iv.Valid() && !iv.Degenerate() {
				return iv
			}
			return stats.MedianInterval([]float64{lat.fig()(r)})
		}
		return l(before), l(during), fmt.Sprintf("phases %q vs %q", before, during), nil
	}
	rows, err := r.timeseries(twin)
	if err != nil {
		return base, win, "", err
	}
	var before, during []float64
	for _, s := range rows {
		if s.replies == 0 {
			continue
		}
		v, ok := s.e2eP99, s.hasE2E
		if metric == "ack" {
			v, ok = s.ackP99, s.hasAck
		}
		if !ok {
			continue
		}
		switch {
		case s.t+1 <= w.StartS:
			before = append(before, v)
		case s.t >= w.StartS && s.t+1 <= w.EndS:
			during = append(during, v)
		}
	}
	if len(before) == 0 || len(during) == 0 {
		return base, win, "", fmt.Errorf("timeseries.csv has no seconds with replies before or inside the window (%.0f-%.0f s)", w.StartS, w.EndS)
	}
	return stats.SeriesMedian(before), stats.SeriesMedian(during),
		fmt.Sprintf("median of per-second p99s, %d s before vs %d s inside the window", len(before), len(during)), nil
}

// slowPhases names the stage spanning the window exactly (starting within
// a second of it and as long) and the stage before it, when both have
// phase figures.
func slowPhases(r *Run, t *results.TwinResult, w *results.FaultWindow) (before, during string, ok bool) {
	var at float64
	for i, st := range r.Scenario.Stages {
		d, ok := parseDur(st.Duration)
		if !ok {
			break
		}
		if i > 0 && math.Abs(at-w.StartS) < 1 && math.Abs(at+d.Seconds()-w.EndS) < 1 {
			prev := r.Scenario.Stages[i-1].Name
			if t.Phases[prev] != nil && t.Phases[st.Name] != nil {
				return prev, st.Name, true
			}
		}
		at += d.Seconds()
	}
	return "", "", false
}

// claim10Duplicates reads the audits of the failure runs.
func claim10Duplicates(s *Set) Claim {
	var parts []part
	for _, r := range s.Faulted() {
		for _, x := range s.Reps(r) {
			parts = append(parts, duplicates(x))
		}
	}
	if len(parts) == 0 {
		return missing("failure-crash")
	}
	return combineAny(parts)
}

func duplicates(r *Run) part {
	p := part{run: r, status: Inconclusive}
	eda := r.Twin(twinkind.EDA)
	if eda == nil || eda.Audit == nil {
		p.evidence = "no EDA audit in the run"
		return p
	}
	a := eda.Audit
	p.figures = map[string]float64{"eda_duplicates_delivered": float64(a.DuplicatesDelivered),
		"eda_duplicates_applied": float64(a.DuplicatesApplied), "eda_duplicate_end_events": float64(eda.Orders.DuplicateEnds)}
	if rr := r.Twin(twinkind.RR); rr != nil && rr.Audit != nil {
		p.figures["rr_duplicates_delivered"] = float64(rr.Audit.DuplicatesDelivered)
		p.figures["rr_duplicates_applied"] = float64(rr.Audit.DuplicatesApplied)
	}
	p.evidence = fmt.Sprintf("EDA duplicates delivered %d, applied %d", a.DuplicatesDelivered, a.DuplicatesApplied)
	switch {
	case a.DuplicatesApplied > 0:
		p.status, p.evidence = DoesNotHold, p.evidence+": a step applied an order twice"
	case len(a.Unaudited) > 0:
		p.evidence += fmt.Sprintf(": %v's journals could not be read, so the counts are lower bounds", a.Unaudited)
	case a.DuplicatesDelivered == 0:
		p.evidence += ": no duplicates occurred"
	default:
		p.status, p.evidence = Holds, p.evidence+": every duplicate was recognised and ignored"
	}
	return p
}

// claim11Hybrid weighs the hybrid against each parent: its ack latency
// against RR's (smoke), its failure isolation against EDA's (a side-effect
// consumer killed), and reports its staleness window and CPU per order.
func claim11Hybrid(s *Set) Claim {
	var ran []*Run
	for _, r := range s.Selected() {
		if r.Twin(twinkind.Hybrid) != nil {
			ran = append(ran, r)
		}
	}
	if len(ran) == 0 {
		return Claim{Status: Inconclusive, Evidence: "no hybrid twin in these runs: run `edabench run --twin all` (make bench does)"}
	}
	c := Claim{Figures: map[string]float64{}}
	ack, iso := hybridAnswer(s, &c), hybridIsolation(s, &c)
	var against []string
	for _, h := range []hybridHalf{ack, iso} {
		if h.against != "" {
			against = append(against, h.against)
		}
	}
	for _, r := range s.Faulted() {
		for _, x := range s.Reps(r) {
			if h := x.Twin(twinkind.Hybrid); h != nil && lost(h) > 0 {
				against = append(against, fmt.Sprintf("it lost %d accepted orders in %s (%s)", lost(h), r.Scenario.Name, x.ID()))
			}
		}
	}
	used := append(ack.runs, iso.runs...)
	if len(used) == 0 {
		used = ran[:1]
	}
	c.Runs, c.Conditions = ids(used...), conditions(used...)
	c.Evidence = ack.line + "; " + iso.line
	switch {
	case len(against) > 0:
		c.Status, c.Evidence = DoesNotHold, c.Evidence+": "+strings.Join(against, "; ")
	case !ack.tested || !iso.tested:
		c.Status, c.Evidence = Inconclusive, c.Evidence+": one half of the claim is untested or undecided"
	default:
		c.Status, c.Evidence = Holds, c.Evidence+": RR's answer within the factor, EDA's isolation, nothing lost"
	}
	return c
}

// hybridHalf is one half of claim 11: the runs it read, what it says,
// whether it decided, and why it refutes the claim ("" if it does not).
type hybridHalf struct {
	runs    []*Run
	line    string
	tested  bool
	against string
}

// hybridAnswer compares the hybrid's smoke ack p99 with RR's times
// hybridAckFactor, over the smoke run's repetitions.
func hybridAnswer(s *Set, c *Claim) hybridHalf {
	smoke := s.LightLoad()
	if smoke == nil || smoke.Twin(twinkind.RR) == nil || smoke.Twin(twinkind.Hybrid) == nil {
		return hybridHalf{line: "no smoke run with both rr and hybrid, so the hybrid's answer is not compared with RR's"}
	}
	out := hybridHalf{runs: s.Reps(smoke)}
	rrAck := c.put("smoke.rr_ack_p99_ms", s.overLatency(smoke, latency{twin: twinkind.RR, pct: 99}))
	hAck := c.put("smoke.hybrid_ack_p99_ms", s.overLatency(smoke, latency{twin: twinkind.Hybrid, pct: 99}))
	rr, h := smoke.Twin(twinkind.RR), smoke.Twin(twinkind.Hybrid)
	c.Figures["smoke.hybrid_ack_factor_limit"] = hybridAckFactor
	c.Figures["smoke.rr_cpu_per_order_ms"], c.Figures["smoke.hybrid_cpu_per_order_ms"] = rr.CPUPerOrderMs, h.CPUPerOrderMs
	out.line = fmt.Sprintf("smoke: ack p99 hybrid %s, RR %s (limit ×%.1f); CPU per order hybrid %s, RR %s",
		iv(hAck), iv(rrAck), hybridAckFactor, ms(h.CPUPerOrderMs), ms(rr.CPUPerOrderMs))
	if e := smoke.Twin(twinkind.EDA); e != nil {
		c.Figures["smoke.eda_cpu_per_order_ms"] = e.CPUPerOrderMs
		out.line += fmt.Sprintf(", EDA %s", ms(e.CPUPerOrderMs))
	}
	if st := smoke.staleness(twinkind.Hybrid); st != nil {
		c.Figures["smoke.hybrid_staleness_p50_ms"], c.Figures["smoke.hybrid_staleness_p99_ms"] = st.P50, st.P99
		out.line += fmt.Sprintf("; staleness window (reply until a read said COMPLETED) p50 %s p99 %s", ms(st.P50), ms(st.P99))
	}
	if rr.Ack.Count == 0 || h.Ack.Count == 0 {
		out.line += "; a twin had no replies in smoke"
		return out
	}
	switch cmp := stats.Separate(hAck, rrAck.Scale(hybridAckFactor), stats.Below); cmp.Outcome {
	case stats.Separated:
		out.tested = true
	case stats.Reversed:
		out.tested = true
		out.against = fmt.Sprintf("its ack p99 is ×%.1f RR's", hAck.Median/rrAck.Median)
	default:
		out.line += "; " + overlapSays(fmt.Sprintf("hybrid ack p99 against ×%.1f RR's", hybridAckFactor), cmp)
	}
	return out
}

// hybridIsolation reads the first failure run that killed a side-effect
// consumer with the hybrid in it: every repetition must fail no request in
// the window (a failure is an event, not a spread).
func hybridIsolation(s *Set, c *Claim) hybridHalf {
	var crash *Run
	for _, r := range s.Faulted() {
		if r.Twin(twinkind.Hybrid) != nil && consumerKilled(r) {
			crash = r
			break
		}
	}
	if crash == nil {
		return hybridHalf{line: "no failure run killed a side-effect consumer with the hybrid in it (failure-crash)"}
	}
	out := hybridHalf{runs: s.Reps(crash), tested: true}
	name := crash.Scenario.Name
	inWindow := func(t *results.TwinResult) float64 { f, _ := windowFailures(t); return float64(f) }
	hF := c.put(name+".hybrid_failed_in_window", s.over(crash, twinFig(twinkind.Hybrid, inWindow)))
	hLost := c.put(name+".hybrid_lost", s.over(crash, twinFig(twinkind.Hybrid, func(t *results.TwinResult) float64 { return float64(lost(t)) })))
	out.line = fmt.Sprintf("%s: hybrid failed %s requests in the fault window, lost %s", name, num(hF), num(hLost))
	for _, t := range []string{twinkind.RR, twinkind.EDA} {
		if crash.Twin(t) != nil {
			f := c.put(name+"."+t+"_failed_in_window", s.over(crash, twinFig(t, inWindow)))
			out.line += fmt.Sprintf("; %s failed %s", strings.ToUpper(t), num(f))
		}
	}
	for _, x := range out.runs {
		h := x.Twin(twinkind.Hybrid)
		if h == nil {
			continue
		}
		failed, broken := windowFailures(h)
		switch {
		case broken != "" || len(h.Faults) == 0:
			out.tested = false
			out.line += fmt.Sprintf("; the kill was not applied to the hybrid in %s: %s", x.ID(), broken)
		case failed == 0:
		case hybridNoise(x, failed):
			// A stray failure or two (within counting noise of the
			// isolation bound): not the clean run the claim needs, nor
			// the coupling that refutes it; a rerun may read either.
			out.tested = false
			out.line += fmt.Sprintf("; the hybrid failed %d in %s, not beyond %s of RR's (claim 5's allowance for stray failures, Poisson counting noise included): neither the clean run the claim asks for nor a coupling", failed, x.ID(), pct(isolationShare))
		case out.against == "":
			out.against = "its callers saw the consumer's crash"
		}
	}
	return out
}

// hybridNoise says whether the hybrid's failures in a run's fault window
// are within counting noise of isolationShare of RR's in the same run
// (claim 5's bound): too few to call a coupling. Without RR in the run
// there is nothing to scale, and any failure counts.
func hybridNoise(x *Run, failed int64) bool {
	rr := x.Twin(twinkind.RR)
	if rr == nil {
		return false
	}
	rrF, _ := windowFailures(rr)
	return isolatedCmp(failed, rrF).Outcome != stats.Reversed
}

// consumerKilled says whether a run killed a step the hybrid runs as a
// consumer (anything but the gateway and payment).
func consumerKilled(r *Run) bool {
	for _, f := range r.Scenario.Faults {
		if f.Type == "kill" && f.Target != "gateway" && f.Target != "payment" {
			return true
		}
	}
	return false
}
