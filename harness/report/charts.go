package report

import (
	"fmt"
	"math"
	"strings"

	"github.com/edabench/edabench/harness/hoststat"
)

const (
	chartWidth  = 580
	chartHeight = 330
)

// chartRow is a row of charts with a heading and a sentence on how to
// read them.
type chartRow struct {
	Title   string
	Caption string
	charts  []*chart
}

// charts builds every figure of the report, in order.
func (r *run) charts() []chartRow {
	bands := r.faultBands()
	// Latency is what a host stall shows in: its charts shade the suspect
	// seconds too.
	latBands := append(append([]band(nil), bands...), r.stealBands()...)
	return []chartRow{
		{
			Title:   "Latency by percentile",
			Caption: "The whole run's distribution (the .hgrm files), as HdrHistogram's plotter draws it: each step right is one more nine. Solid: from the intended send time (no coordinated omission); dashed: from the actual send time.",
			charts:  []*chart{r.spectrum("ack"), r.spectrum("e2e")},
		},
		{
			Title:   "Latency over time",
			Caption: "Per second (timeseries.csv): p99 solid, p50 dashed. A gap is a second with no reply or completion. Shaded red: fault windows; amber: a twin's seconds whose host CPU steal exceeded the suspect bound (" + fmt.Sprintf("%.0f%%", hoststat.SuspectStealPct) + "), which the verdict does not read as the twin's.",
			charts: []*chart{
				r.overTime("e2e-time", "End-to-end latency per second", "e2e", latBands),
				r.overTime("ack-time", "Ack latency per second", "ack", latBands),
			},
		},
		{
			Title:   "Throughput",
			Caption: "Per second: requests due (offered, dashed) and replies (achieved, solid); errors, timeouts and dropped requests on the right.",
			charts:  []*chart{r.rates(bands), r.failures(bands)},
		},
		{
			Title:   "Queues",
			Caption: "Per second: messages in all the twin's queues (ready + unacked) and the largest consumer lag. Twins without queues are left out.",
			charts: []*chart{
				r.queueChart("depth", "Queue depth", "queue_depth", "messages", bands),
				r.queueChart("lag", "Consumer lag", "lag_ms", "lag (ms)", bands),
			},
		},
	}
}

func newChart(id, title string) *chart {
	return &chart{id: id, title: title, width: chartWidth, height: chartHeight}
}

// spectrum draws one metric's percentile distribution for every twin.
func (r *run) spectrum(metric string) *chart {
	c := newChart("spectrum-"+metric, metricTitle(metric)+" latency by percentile")
	c.x = axisSpec{label: "percentile", percentile: true}
	c.y = axisSpec{label: "latency (ms)"}
	c.logAbove = 100
	for _, twin := range r.twins {
		for _, m := range []string{metric, metric + "_uncorrected"} {
			pts := r.hgrm[twin][m]
			if len(pts) == 0 {
				continue
			}
			s := series{name: twin + " " + metric, color: colorOf(r.twins, twin)}
			if m != metric {
				s.name += " uncorrected"
				s.dash, s.width = "6 4", 1.5
			}
			for _, p := range pts {
				// 1/(1-p) is infinite at 100%: the plotter leaves that row
				// out, and the rows before it already reach the maximum.
				if p.percentile >= 1 {
					continue
				}
				s.points = append(s.points, point{1 / (1 - p.percentile), p.valueMs})
			}
			c.series = append(c.series, s)
		}
	}
	if len(c.series) == 0 {
		c.noData = "no " + metric + " .hgrm file"
	}
	c.setLogNote()
	return c
}

func metricTitle(m string) string {
	if m == "e2e" {
		return "End-to-end"
	}
	return "Ack"
}

// setLogNote tells the reader the y axis is logarithmic, which it decides
// only when it sees the data.
func (c *chart) setLogNote() {
	if c.noData != "" || !c.hasData() || c.y.log {
		return
	}
	_, ys := c.scales(0, 1, 1, 0)
	if ys.log {
		c.note = "log scale: the values span more than two decades"
	}
}

func (r *run) timeChart(id, title, ylabel string, bands []band) (*chart, bool) {
	c := newChart(id, title)
	c.x = axisSpec{label: "seconds since the twin's load started", fromZero: true}
	c.y = axisSpec{label: ylabel, fromZero: true}
	if r.ts == nil {
		c.noData = r.tsErr
		return c, false
	}
	c.bands = bands
	c.xFixed, c.xFrom, c.xTo = true, 0, r.ts.LastSecond()
	return c, true
}

// missing names what a chart lacks when the file has no such columns.
func (r *run) missing(c *chart, columns ...string) bool {
	var absent []string
	for _, col := range columns {
		if !r.ts.Has(col) {
			absent = append(absent, col)
		}
	}
	if len(absent) == len(columns) {
		c.noData = "timeseries.csv has no " + strings.Join(absent, ", ") + " column"
		return true
	}
	return false
}

func (r *run) overTime(id, title, metric string, bands []band) *chart {
	c, ok := r.timeChart(id, title, "latency (ms)", bands)
	c.y.fromZero = false
	c.logAbove = 100
	if !ok || r.missing(c, metric+"_p99_ms", metric+"_p50_ms") {
		return c
	}
	for _, twin := range r.twins {
		col := colorOf(r.twins, twin)
		if pts := points(r.ts, twin, metric+"_p99_ms", true); pts != nil {
			c.series = append(c.series, series{name: twin + " p99", color: col, points: pts})
		}
		if pts := points(r.ts, twin, metric+"_p50_ms", true); pts != nil {
			c.series = append(c.series, series{name: twin + " p50", color: col, dash: "5 3", width: 1.5, points: pts})
		}
	}
	c.setLogNote()
	return c
}

func (r *run) rates(bands []band) *chart {
	c, ok := r.timeChart("rates", "Offered vs achieved rate", "requests / s", bands)
	if !ok || r.missing(c, "offered", "replies") {
		return c
	}
	for _, twin := range r.twins {
		col := colorOf(r.twins, twin)
		if pts := points(r.ts, twin, "offered", false); pts != nil {
			c.series = append(c.series, series{name: twin + " offered", color: col, dash: "5 3", width: 1.5, points: pts})
		}
		if pts := points(r.ts, twin, "replies", false); pts != nil {
			c.series = append(c.series, series{name: twin + " achieved", color: col, points: pts})
		}
	}
	return c
}

// failures sums errors, timeouts and drops per second: each is a request
// the twin did not serve.
func (r *run) failures(bands []band) *chart {
	c, ok := r.timeChart("failures", "Errors, timeouts and drops", "failed requests / s", bands)
	cols := []string{"errors", "timeouts", "dropped"}
	if !ok || r.missing(c, cols...) {
		return c
	}
	for _, twin := range r.twins {
		ts := r.ts.Twin(twin)
		if ts == nil {
			continue
		}
		pts := make([]point, len(ts.T))
		for i, t := range ts.T {
			sum := 0.0
			for _, col := range cols {
				if v := ts.Num(col); v != nil && !math.IsNaN(v[i]) {
					sum += v[i]
				}
			}
			pts[i] = point{t, sum}
		}
		c.series = append(c.series, series{name: twin, color: colorOf(r.twins, twin), points: pts})
	}
	if !anyAbove(allPoints(c.series), 0) {
		c.note = "none: every request due was answered"
	}
	return c
}

// queueChart draws one queue column for the twins that have queues: an
// all-zero line for RR would only hide the axis.
func (r *run) queueChart(id, title, column, ylabel string, bands []band) *chart {
	c, ok := r.timeChart(id, title, ylabel, bands)
	if !ok || r.missing(c, column) {
		return c
	}
	var without []string
	for _, twin := range r.twins {
		pts := points(r.ts, twin, column, false)
		if !anyAbove(pts, 0) {
			if r.ts.Twin(twin) != nil {
				without = append(without, twin)
			}
			continue
		}
		c.series = append(c.series, series{name: twin, color: colorOf(r.twins, twin), points: pts})
	}
	if len(without) > 0 {
		c.note = strings.Join(without, ", ") + ": always 0 (no queues), not drawn"
	}
	if len(c.series) == 0 {
		c.noData = "no twin has queues (all zero)"
	}
	return c
}

func allPoints(ss []series) []point {
	var out []point
	for _, s := range ss {
		out = append(out, s.points...)
	}
	return out
}

func anyAbove(pts []point, v float64) bool {
	for _, p := range pts {
		if p.y > v {
			return true
		}
	}
	return false
}

// faultBands merges the twins' fault windows: the twins run one after the
// other on the same schedule, so the same fault lands at about the same
// second of each twin's load and is drawn once. A window only some twins
// had is labelled with their names.
func (r *run) faultBands() []band {
	type key struct {
		fault      string
		start, end int64
	}
	var order []key
	merged := map[key]*band{}
	twinsOf := map[key][]string{}
	for _, twin := range r.twins {
		for _, f := range r.summary.Twins[twin].Faults {
			k := key{f.Fault, int64(math.Round(f.StartS)), int64(math.Round(f.EndS))}
			b := merged[k]
			if b == nil {
				b = &band{x0: f.StartS, x1: f.EndS, label: f.Fault}
				merged[k] = b
				order = append(order, k)
			}
			b.x0, b.x1 = math.Min(b.x0, f.StartS), math.Max(b.x1, f.EndS)
			twinsOf[k] = append(twinsOf[k], twin)
		}
	}
	var out []band
	for _, k := range order {
		b := *merged[k]
		if len(r.twins) > 1 && len(twinsOf[k]) < len(r.twins) {
			b.label = fmt.Sprintf("%s (%s)", b.label, strings.Join(twinsOf[k], ", "))
		}
		out = append(out, b)
	}
	return out
}
