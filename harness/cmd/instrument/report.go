package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/edabench/edabench/harness/brokerprobe"
	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/harness/stats"
)

// Goals, from issue 9.
const (
	goalShare       = 0.70
	goalGrowthBytes = 10 << 20
	goalSuite       = 12 * time.Minute
	// fidelityTolerance is how far from the implied p99 a tool may be and
	// still "match": the freeze's edges and the service time's own tail
	// blur the figure a little, a coordinated omission by an order of
	// magnitude.
	fidelityTolerance = 0.25
)

type report struct {
	Started   time.Time           `json:"started"`
	Ended     time.Time           `json:"ended"`
	Machine   results.Environment `json:"machine"`
	Parts     []int               `json:"parts"`
	Settings  map[string]string   `json:"settings"`
	Generator *generatorReport    `json:"generator,omitempty"`
	Fidelity  *fidelityReport     `json:"fidelity,omitempty"`
	Ceiling   []*ceilingReport    `json:"ceiling,omitempty"`
	Soak      *soakReport         `json:"soak,omitempty"`
	Suite     *suiteReport        `json:"suite,omitempty"`
	Floor     *floorReport        `json:"floor,omitempty"`
	Errors    map[string]string   `json:"errors,omitempty"`
}

func (r *report) write(dir string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), b, 0o644); err != nil {
		return fmt.Errorf("results.json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "performance.md"), []byte(r.markdown()), 0o644); err != nil {
		return fmt.Errorf("performance.md: %w", err)
	}
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

func (r *report) markdown() string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	m := r.Machine
	p("## Instrument against its peers: %s\n\n", r.Started.Format("2006-01-02 15:04 MST"))
	p("Machine: %s, %d CPUs (%s), %d MiB, Linux %s, %s, RabbitMQ %s, edabench %s. Took %s.\n\n",
		m.Hostname, m.CPUs, m.CPUModel, m.MemoryMiB, m.Kernel, m.GoVersion, m.RabbitMQ, m.Edabench, r.Ended.Sub(r.Started).Round(time.Second))
	p("Settings:")
	for _, k := range slices.Sorted(maps.Keys(r.Settings)) {
		p(" %s %s;", k, r.Settings[k])
	}
	p("\n\n")
	if g := r.Generator; g != nil {
		p("%s", generatorMarkdown(g))
	}
	if f := r.Fidelity; f != nil {
		p("### 2. Latency fidelity: the RR gateway frozen %.1f s in a %.0f s run at %.0f/s\n\n", f.FreezeS, f.RunS, f.Rate)
		p("Implied by the schedule: %.0f%% of the requests wait 0 to %.1f s, so p99 = %.0f ms (%.0f ms of freeze + %.2f ms service, edabench's unfrozen p50); about %.0f samples.\n\n",
			100*f.FreezeS/f.RunS, f.FreezeS, f.ImpliedP99, f.ImpliedP99-f.ServiceMs, f.ServiceMs, f.Rate*f.RunS)
		p("| tool | load model | p99 ms | vs implied | samples | dropped | froze at s | matches |\n|---|---|---:|---:|---:|---:|---:|---|\n")
		for _, row := range f.Rows {
			if row.Err != "" && row.Result.Samples == 0 {
				p("| %s | %s | error: %s ||||||\n", row.Tool, row.Model, oneLine(row.Err))
				continue
			}
			p("| %s | %s | %.1f | %.2fx | %d | %d | %.2f | %v |\n", row.Tool, row.Model, row.Result.P99Ms, row.Result.P99Ms/f.ImpliedP99,
				row.Result.Samples, row.Result.Dropped, row.FrozeAt, f.matches(row))
		}
		p("\nA tool matches when its p99 is within %.0f%% of the implied one over at least 95%% of the scheduled samples: a p99 over fewer samples left out the requests the freeze delayed.\n", 100*fidelityTolerance)
		p("Goal, edabench is the one that matches: %s.\n\n", verdict(f.edabenchMatches()))
	}
	if len(r.Ceiling) > 0 {
		p("%s", ceilingMarkdown(r.Ceiling))
	}
	if s := r.Soak; s != nil {
		p("### 4. Soak memory (%s twin, %.0f/s for %s; growth after %s)\n\n", s.Twin, s.Rate, s.Duration, s.Warmup)
		p("| generator | RSS at warm-up MiB | last MiB | growth MiB | max growth MiB | peak RSS MiB | samples | achieved/s |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
		all := len(s.Rows) > 0
		for _, row := range s.Rows {
			if !row.Measured {
				all = false
				p("| %s | not enough samples after the warm-up (%d) %s |||||||\n", row.Tool, row.Growth.Samples, oneLine(row.Err))
				continue
			}
			g := row.Growth
			all = all && g.MaxGrowth < goalGrowthBytes
			p("| %s | %.1f | %.1f | %+.1f | %+.1f | %.0f | %d | %.1f |\n", row.Tool, mib(g.BaseBytes), mib(g.LastBytes), mib(g.Bytes), mib(g.MaxGrowth), row.PeakRSSMiB, g.Samples, row.Result.AchievedRPS())
		}
		p("\nGoal, growth under 10 MB after the first minute for both: %s.\n\n", verdict(all))
	}
	if s := r.Suite; s != nil {
		p("### 5. Suite time\n\n`make bench`: %s (exit %d). Goal, at most %v: %s.\n\n", (time.Duration(s.Seconds) * time.Second).String(), s.ExitCode, goalSuite, verdict(s.ExitCode == 0 && s.Seconds <= goalSuite.Seconds()))
	}
	if r.Floor != nil {
		p("%s", floorMarkdown(r.Floor))
	}
	if len(r.Errors) > 0 {
		p("### Errors\n\n")
		for _, k := range slices.Sorted(maps.Keys(r.Errors)) {
			p("- %s: %s\n", k, oneLine(r.Errors[k]))
		}
	}
	return b.String()
}

// generatorMarkdown is part 1's table and goals.
func generatorMarkdown(g *generatorReport) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("### 1. Generator cost against ghz (RR twin, %s per rate)\n\n", g.Duration)
	p("| tool | offered/s | achieved/s | CPU s / 1k req | peak RSS MiB | p50 ms | p99 ms | errors | held |\n|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, row := range append(slices.Clone(g.Rows), g.Search...) {
		if row.Err != "" {
			p("| %s | %.0f | error: %s |||||||\n", row.Tool, row.OfferedRPS, oneLine(row.Err))
			continue
		}
		own := ""
		if row.OwnCPUPer1k > 0 {
			own = fmt.Sprintf(" (%.3f during load)", row.OwnCPUPer1k)
		}
		p("| %s | %.0f | %.1f | %.3f%s | %.0f | %.2f | %.2f | %.2f%% | %v |\n", row.Tool, row.OfferedRPS, row.AchievedRPS, row.CPUPer1k, own,
			row.PeakRSSMiB, row.Result.P50Ms, row.Result.P99Ms, 100*row.Result.ErrorRate(), row.Held)
	}
	p("\nHighest sustained rate (achieved >= 95%% of offered, errors <= 1%%): ghz %.0f/s, edabench %.0f/s.\n", g.Highest["ghz"], g.Highest["edabench"])
	cheaper, rows := true, 0
	for _, rate := range rateSet(g.Rows) {
		e, gz := findRow(g.Rows, "edabench", rate), findRow(g.Rows, "ghz", rate)
		if e != nil && gz != nil && e.Err == "" && gz.Err == "" {
			rows++
			cheaper = cheaper && e.CPUPer1k <= gz.CPUPer1k
		}
	}
	p("Goal, CPU per request no more than ghz's at every rate: %s. Goal, sustains at least ghz's highest rate: %s.\n\n",
		verdict(rows > 0 && cheaper), verdict(g.Highest["edabench"] >= g.Highest["ghz"] && g.Highest["ghz"] > 0))
	return b.String()
}

// matches reports whether a tool saw the freeze as the schedule implies:
// the p99 near the implied one, over (nearly) every scheduled request.
func (f *fidelityReport) matches(row fidRow) bool {
	expected := f.Rate * f.RunS
	return row.Err == "" && f.ImpliedP99 > 0 && math.Abs(row.Result.P99Ms/f.ImpliedP99-1) <= fidelityTolerance &&
		float64(row.Result.Samples) >= 0.95*expected
}

// edabenchMatches is the goal: edabench matches (and, as the table
// shows, the closed loops do not).
func (f *fidelityReport) edabenchMatches() bool {
	for _, row := range f.Rows {
		if row.Tool == "edabench" {
			return f.matches(row)
		}
	}
	return false
}

func rateSet(rows []genRow) []float64 {
	var out []float64
	for _, r := range rows {
		if !slices.Contains(out, r.OfferedRPS) {
			out = append(out, r.OfferedRPS)
		}
	}
	return out
}

func findRow(rows []genRow, tool string, rate float64) *genRow {
	for i := range rows {
		if rows[i].Tool == tool && rows[i].OfferedRPS == rate {
			return &rows[i]
		}
	}
	return nil
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "|", "/")
}

// ceilingMarkdown is part 3's table: one row per backbone, measured one
// after the other in the same run, so the rows compare.
func ceilingMarkdown(rows []*ceilingReport) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("### 3. Broker ceiling and the EDA twin's share of it\n\n")
	p("| backbone | probe (the twin's settings) | queues | publishers/queue | prefetch | backlog/queue | body B | confirmed/s | acked/s | ceiling msgs/s | EDA knee orders/s | twin msgs/s | share | load avg before / after |\n")
	p("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, c := range rows {
		name := c.Broker
		if c.Version != "" {
			name += " " + c.Version
		}
		pr := c.Probe
		if pr.Confirmed == 0 && c.Err != "" {
			p("| %s | error: %s |||||||||||| %s / %s |\n", name, oneLine(c.Err), c.LoadBefore, c.LoadAfter)
			continue
		}
		knee, share := "error", "-"
		if c.Err == "" {
			knee, share = fmt.Sprintf("%.0f", c.KneeRPS), shareCell(c)
			switch {
			case !c.KneeReached:
				knee += " (floor)"
			case c.KneeRPS == 0:
				// Not even the first step held: the knee is below it.
				knee = fmt.Sprintf("< %.0f", c.KneeBrokenAt)
			}
		}
		p("| %s | %s | %d | %d | %d | %s | %d | %.0f | %.0f | %.0f | %s | %.0f | %s | %s / %s |\n", name, oneLine(c.ProbeSettings), pr.Queues, pr.Publishers,
			pr.Prefetch, backlogCell(pr.Backlog), pr.BodyBytes, pr.PublishRate, pr.ConsumeRate, pr.MsgsPerSec, knee, c.TwinMsgsPerSec, share, c.LoadBefore, c.LoadAfter)
	}
	p("\nPer order the twin publishes %d events and the brokers deliver %d copies (8 to the twin's queues, 1 to the harness's completion queue): twin msgs/s is the knee times the deliveries. A knee marked (floor) is a ramp that ended unbroken.\n",
		rows[0].Publishes, rows[0].Deliveries)
	for _, c := range rows {
		if c.Err != "" {
			p("- %s: %s\n", c.Broker, oneLine(c.Err))
			continue
		}
		if len(c.Pairs) > 1 {
			p("- %s, %s\n", c.Broker, pairsLine(c))
		}
		status, why := shareGoal(c)
		p("- Goal on %s, at least %.0f%%: %s%s.\n", c.Broker, 100*goalShare, status, why)
	}
	p("\n")
	p("%s", coresMarkdown(rows))
	return b.String()
}

// coresMarkdown is where the machine's cores went under each backbone's
// probe and with its twin held at the knee (the median pair's figures,
// intervals over the pairs): the measured reason when a share stays below
// the goal on a machine whose cores the broker shares with the twin.
func coresMarkdown(rows []*ceilingReport) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	metered := false
	for _, c := range rows {
		metered = metered || c.HoldMachineInterval.N > 0
	}
	if !metered {
		return ""
	}
	p("**Where the cores went** (CPU seconds per second, from each process's own accounting): under the probe, and with the twin held at its knee (`--hold`), metered by edabench. The share per broker core is the twin's deliveries per second of broker CPU over the probe's messages per second of broker CPU: the share the twin would reach were its broker given the cores it had under the probe.\n\n")
	p("| backbone | probe: broker cores | probe: client cores | probe: broker µs/msg | hold: orders/s | hold: completed | hold: e2e p99 ms (held: under the knee search's e2e SLO) | hold: machine cores | broker | services | harness | hold: broker µs/msg | share per broker core |\n")
	p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range rows {
		h := medianHold(c)
		if h == nil {
			p("| %s | no hold measured |||||||||||| \n", c.Broker)
			continue
		}
		pr := h.probe
		p("| %s | %s | %.2f | %.1f | %.0f | %d of %d | %.0f (%s) | %s | %s | %.2f | %.2f | %.1f | **%s** |\n", c.Broker, ivCell(c.ProbeBrokerInterval, pr.BrokerCores(), "%.2f"),
			pr.ClientCPUSeconds/max(pr.Seconds, 1e-9), pr.BrokerCPUPerMsgUs(), h.hold.RPS, h.hold.Completed, h.hold.Accepted, h.hold.E2EP99Ms, heldWord(h.hold.Held),
			ivCell(c.HoldMachineInterval, h.hold.MachineCores(), "%.2f"), ivCell(c.HoldBrokerInterval, h.hold.BrokerCores, "%.2f"),
			h.hold.ServicesCores, h.hold.HarnessCores, h.hold.BrokerCPUPerMsgUs, pctCell(c.CoreShareInterval))
	}
	p("\n")
	for _, c := range rows {
		if n, held := holdsHeld(c); n > 0 {
			p("- %s: the twin held its knee in %d of %d pairs' holds.", c.Broker, held, n)
			if held < n {
				p(" Where it did not, the knee search's steps (2 to 4 s each) saw a rate the twin does not keep up for the hold: its share is an upper bound.")
			}
			p("\n")
		}
	}
	p("\n")
	return b.String()
}

func heldWord(held bool) string {
	if held {
		return "held"
	}
	return "not held"
}

// holdsHeld counts the pairs with a hold and those whose twin held.
func holdsHeld(c *ceilingReport) (n, held int) {
	for _, p := range c.Pairs {
		if p.Err == "" && p.Hold != nil {
			n++
			if p.Hold.Held {
				held++
			}
		}
	}
	return n, held
}

// pairHold is one pair's probe and hold, for the table.
type pairHold struct {
	probe brokerprobe.Result
	hold  *holdResult
}

// medianHold is the held pair whose share per broker core is nearest the
// median (the first held pair when none has one).
func medianHold(c *ceilingReport) *pairHold {
	var best *pairHold
	bestD := 0.0
	for _, pr := range c.Pairs {
		if pr.Err != "" || pr.Hold == nil {
			continue
		}
		d := 0.0
		if c.CoreShareInterval.N > 0 {
			d = math.Abs(pr.CoreShare - c.CoreShareInterval.Median)
		}
		if best == nil || d < bestD {
			best, bestD = &pairHold{probe: pr.Probe, hold: pr.Hold}, d
		}
	}
	return best
}

// ivCell is an interval's median with its bounds when there are two or
// more readings, else the one value v.
func ivCell(iv stats.Interval, v float64, f string) string {
	if iv.N < 2 {
		return fmt.Sprintf(f, v)
	}
	return fmt.Sprintf(f+" ["+f+", "+f+"]", iv.Median, iv.Lo, iv.Hi)
}

func pctCell(iv stats.Interval) string {
	switch {
	case iv.N == 0:
		return "-"
	case iv.N == 1:
		return fmt.Sprintf("%.0f%%", 100*iv.Median)
	}
	return fmt.Sprintf("%.0f%% [%.0f%%, %.0f%%] (n=%d)", 100*iv.Median, 100*iv.Lo, 100*iv.Hi, iv.N)
}

// backlogCell is the probe's bound on each queue's backlog; a result
// from before the bound has none.
func backlogCell(n int) string {
	if n <= 0 {
		return "unbounded"
	}
	return fmt.Sprint(n)
}

// shareCell is the share, with its interval over the pairs when there
// were several.
func shareCell(c *ceilingReport) string {
	iv := c.ShareInterval
	if iv.N < 2 {
		return fmt.Sprintf("**%.0f%%**", 100*c.Share)
	}
	return fmt.Sprintf("**%.0f%%** [%.0f%%, %.0f%%] (n=%d, %.0f%%)", 100*iv.Median, 100*iv.Lo, 100*iv.Hi, iv.N, 100*iv.Confidence)
}

// shareGoal decides the goal on one backbone. Over several pairs the
// interval decides: met when all of it is at or above the goal, missed
// when all of it is below, not decided when it straddles the goal. An
// unbroken ramp measured a floor: undecided unless the floor meets it.
func shareGoal(c *ceilingReport) (status, why string) {
	var detail []string
	lo, hi := c.Share, c.Share
	ramp := "the ramp"
	if iv := c.ShareInterval; iv.N >= 2 {
		lo, hi = iv.Lo, iv.Hi
		detail = append(detail, fmt.Sprintf("over %d pairs", iv.N))
		ramp = "the median pair's ramp"
	}
	switch {
	case !c.KneeReached:
		detail = append(detail, fmt.Sprintf("%s held its last step, %.0f/s: the share is a floor; a ramp reaching higher would decide it", ramp, c.KneeRPS))
	case c.KneeReason != "":
		detail = append(detail, fmt.Sprintf("%s broke at %.0f/s: %s", ramp, c.KneeBrokenAt, oneLine(c.KneeReason)))
	}
	if len(detail) > 0 {
		why = " (" + strings.Join(detail, "; ") + ")"
	}
	switch {
	case lo >= goalShare:
		return verdict(true), why
	case !c.KneeReached || anyFloor(c.Pairs):
		return "**not decided**", why
	case hi >= goalShare:
		return "**not decided**, the interval straddles it", why
	}
	return verdict(false), why
}

func anyFloor(pairs []sharePair) bool {
	for _, p := range pairs {
		if p.Err == "" && !p.KneeReached {
			return true
		}
	}
	return false
}

// pairsLine lists each pair: probe ceiling, knee and share, in the order
// run, and which ran its ramp first.
func pairsLine(c *ceilingReport) string {
	var parts []string
	for _, p := range c.Pairs {
		order := "probe first"
		if p.RampFirst {
			order = "ramp first"
		}
		if p.Err != "" {
			parts = append(parts, fmt.Sprintf("%d (%s): error: %s", p.N, order, oneLine(p.Err)))
			continue
		}
		floor := ""
		if !p.KneeReached {
			floor = " (floor)"
		}
		parts = append(parts, fmt.Sprintf("%d (%s): %.0f msgs/s, knee %.0f%s, %.0f%%", p.N, order, p.Probe.MsgsPerSec, p.KneeRPS, floor, 100*p.Share))
	}
	return fmt.Sprintf("pairs (ceiling, knee orders/s, share; load average before the first %s, after the last %s): %s; ceiling %s msgs/s, knee %s orders/s",
		c.Pairs[0].LoadBefore, c.Pairs[len(c.Pairs)-1].LoadAfter, strings.Join(parts, "; "), c.CeilingInterval, c.KneeInterval)
}
