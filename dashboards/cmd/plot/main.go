// Command plot draws the overview of one edabench run as a self-contained
// SVG, from its results folder (timeseries.csv and summary.json): ack and
// end-to-end p99 of both twins over time, queue depth and errors, with each
// twin's fault windows shaded. It is the picture of the overview dashboard
// for readers without Grafana (docs/overview.png is made with it):
//
//	go run ./dashboards/cmd/plot --run results/latest --out /tmp/overview.svg
//	rsvg-convert -o docs/overview.png /tmp/overview.svg
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/internal/twinkind"
)

// sample is one second of one twin, the columns of timeseries.csv plotted.
type sample struct {
	t                                 float64
	replies, errors, timeouts, ended  float64
	ackP99, e2eP99, depth, errPerSecs float64
}

// run is what the plot needs of a results folder.
type run struct {
	sum    *results.SummaryFile
	series map[string][]sample // twin -> samples by time
}

// plotted are the columns of timeseries.csv drawn; each must be a number.
var plotted = []string{results.ColT, results.ColReplies, results.ColErrors, results.ColTimeouts, results.ColEnded,
	results.ColAckP99, results.ColE2EP99, results.ColQueueDepth}

func load(dir string) (*run, error) {
	sum, err := results.ReadSummary(filepath.Join(dir, "summary.json"))
	if err != nil {
		return nil, err
	}
	r := &run{sum: sum, series: map[string][]sample{}}
	ts, err := results.ReadTimeseries(dir)
	if err != nil {
		return nil, fmt.Errorf("timeseries.csv: %w", err)
	}
	if err := ts.Require(append([]string{results.ColTwin}, plotted...)...); err != nil {
		return nil, fmt.Errorf("timeseries.csv: %w", err)
	}
	for _, tw := range ts.Twins() {
		ss, err := samples(ts.Twin(tw))
		if err != nil {
			return nil, err
		}
		sort.Slice(ss, func(i, j int) bool { return ss[i].t < ss[j].t })
		r.series[tw] = ss
	}
	if len(r.series) == 0 {
		return nil, fmt.Errorf("timeseries.csv: no rows")
	}
	return r, nil
}

// samples is one twin's rows; a cell that is not a number is an error,
// not a gap.
func samples(s *results.TwinSeries) ([]sample, error) {
	for _, c := range plotted {
		for i, v := range s.Num(c) {
			if math.IsNaN(v) {
				return nil, fmt.Errorf("timeseries.csv line %d, %s: not a number", s.Lines[i], c)
			}
		}
	}
	out := make([]sample, s.Len())
	for i := range out {
		at := func(c string) float64 { return s.Num(c)[i] }
		out[i] = sample{t: at(results.ColT), replies: at(results.ColReplies), errors: at(results.ColErrors),
			timeouts: at(results.ColTimeouts), ended: at(results.ColEnded), ackP99: at(results.ColAckP99),
			e2eP99: at(results.ColE2EP99), depth: at(results.ColQueueDepth)}
		out[i].errPerSecs = out[i].errors + out[i].timeouts
	}
	return out, nil
}

var colors = map[string]string{twinkind.RR: "#1f77b4", twinkind.EDA: "#e8710a", twinkind.Hybrid: "#2ca02c"}

// panel is one chart: a y value per sample (ok false leaves a gap).
type panel struct {
	title string
	log   bool
	y     func(s sample) (float64, bool)
}

var panels = []panel{
	{"ack latency p99 (ms, log scale): until PlaceOrder replies", true,
		func(s sample) (float64, bool) { return s.ackP99, s.replies > 0 && s.ackP99 > 0 }},
	{"end-to-end latency p99 (ms, log scale): until the order completes", true,
		func(s sample) (float64, bool) { return s.e2eP99, s.ended > 0 && s.e2eP99 > 0 }},
	{"queue depth (messages ready + unacked, all queues)", false,
		func(s sample) (float64, bool) { return s.depth, true }},
	{"errors + timeouts per second", false,
		func(s sample) (float64, bool) { return s.errPerSecs, true }},
}

const (
	width    = 1000.0
	left     = 70.0
	right    = 20.0
	top      = 104.0
	panelH   = 150.0
	panelGap = 42.0
	bottom   = 50.0
)

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 1.5, 2, 2.5, 3, 4, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func fmtNum(v float64) string {
	switch {
	case v >= 1000 && math.Mod(v, 1000) == 0:
		return fmt.Sprintf("%gk", v/1000)
	default:
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
}

// render writes the SVG; note is the caption under the title.
func render(w io.Writer, r *run, note string) error {
	twins := make([]string, 0, len(r.series))
	for _, tw := range twinkind.All() {
		if len(r.series[tw]) > 0 {
			twins = append(twins, tw)
		}
	}
	if len(twins) == 0 {
		return fmt.Errorf("no twin in timeseries.csv")
	}
	tMax := 0.0
	for _, tw := range twins {
		ss := r.series[tw]
		tMax = math.Max(tMax, ss[len(ss)-1].t+1)
	}
	tMax = math.Ceil(tMax/5) * 5
	height := top + float64(len(panels))*(panelH+panelGap) - panelGap + bottom
	plotW := width - left - right
	x := func(t float64) float64 { return left + t/tMax*plotW }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#ffffff"/>`+"\n")
	title := fmt.Sprintf("edabench %s: RR twin vs EDA twin", r.sum.Scenario.Name)
	fmt.Fprintf(&b, `<text x="%g" y="24" font-size="18" font-weight="bold" fill="#222">%s</text>`+"\n", left, esc(title))
	fmt.Fprintf(&b, `<text x="%g" y="44" font-size="12" fill="#555">%s</text>`+"\n", left, esc(note))
	// Legend.
	lx := left
	for i, tw := range twins {
		fmt.Fprintf(&b, `<line x1="%g" y1="64" x2="%g" y2="64" stroke="%s" stroke-width="3"/><text x="%g" y="68" font-size="13" fill="#222">%s twin</text>`+"\n",
			lx+float64(i)*110, lx+float64(i)*110+24, colors[tw], lx+float64(i)*110+30, strings.ToUpper(tw))
	}
	fmt.Fprintf(&b, `<rect x="%g" y="57" width="24" height="14" fill="#d62728" fill-opacity="0.15"/><text x="%g" y="68" font-size="13" fill="#222">fault window (each twin's own)</text>`+"\n", lx+220, lx+250)

	for i, p := range panels {
		y0 := top + float64(i)*(panelH+panelGap)
		y1 := y0 + panelH
		fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="13" fill="#222">%s</text>`+"\n", left, y0-8, esc(p.title))
		fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%g" height="%g" fill="#fafafa" stroke="#bbb"/>`+"\n", left, y0, plotW, panelH)
		// Fault windows: each twin's own (they run one after the other, each from t=0).
		for _, tw := range twins {
			for _, fw := range faults(r.sum, tw) {
				fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%g" height="%g" fill="#d62728" fill-opacity="0.10"/>`+"\n",
					x(fw.StartS), y0, x(fw.EndS)-x(fw.StartS), panelH)
				if i == 0 && tw == twins[0] {
					fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="11" fill="#a11">%s</text>`+"\n", x(fw.StartS)+4, y0+13, esc(fw.Fault))
				}
			}
		}
		// Y scale.
		maxV := 0.0
		for _, tw := range twins {
			for _, s := range r.series[tw] {
				if v, ok := p.y(s); ok {
					maxV = math.Max(maxV, v)
				}
			}
		}
		var ymap func(v float64) float64
		var ticks []float64
		if p.log {
			lo, hi := 1.0, math.Pow(10, math.Ceil(math.Log10(math.Max(maxV, 10))))
			ymap = func(v float64) float64 {
				v = math.Max(v, lo)
				return y1 - (math.Log10(v)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))*panelH
			}
			for v := lo; v <= hi*1.0001; v *= 10 {
				ticks = append(ticks, v)
			}
		} else {
			hi := niceMax(maxV)
			ymap = func(v float64) float64 { return y1 - v/hi*panelH }
			for k := 0; k <= 5; k++ {
				ticks = append(ticks, hi*float64(k)/5)
			}
		}
		for _, tv := range ticks {
			yy := ymap(tv)
			fmt.Fprintf(&b, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#e3e3e3"/>`+"\n", left, yy, left+plotW, yy)
			fmt.Fprintf(&b, `<text x="%g" y="%.1f" font-size="11" fill="#555" text-anchor="end">%s</text>`+"\n", left-6, yy+4, fmtNum(tv))
		}
		// X ticks.
		for t := 0.0; t <= tMax; t += 5 {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="#999"/>`+"\n", x(t), y1, x(t), y1+4)
			fmt.Fprintf(&b, `<text x="%.1f" y="%g" font-size="11" fill="#555" text-anchor="middle">%g</text>`+"\n", x(t), y1+16, t)
		}
		// Series: one polyline per run of defined points.
		for _, tw := range twins {
			var seg []string
			flush := func() {
				if len(seg) == 1 {
					xy := strings.Split(seg[0], ",")
					fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="2.5" fill="%s"/>`+"\n", xy[0], xy[1], colors[tw])
				} else if len(seg) > 1 {
					fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" stroke-linejoin="round" points="%s"/>`+"\n", colors[tw], strings.Join(seg, " "))
				}
				seg = seg[:0]
			}
			for _, s := range r.series[tw] {
				v, ok := p.y(s)
				if !ok {
					flush()
					continue
				}
				seg = append(seg, fmt.Sprintf("%.1f,%.1f", x(s.t+0.5), ymap(v)))
			}
			flush()
		}
	}
	fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="12" fill="#555" text-anchor="middle">seconds since the twin's load started (each twin runs the same schedule, one after the other); gaps: no reply or completion in that second</text>`+"\n",
		left+plotW/2, height-14)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// faults are a twin's fault windows; none for a twin the summary lacks.
func faults(sum *results.SummaryFile, twin string) []results.FaultWindow {
	if tw := sum.Summary.Twins[twin]; tw != nil {
		return tw.Faults
	}
	return nil
}

// defaultNote is the caption: the scenario's description, the run, its
// start as summary.json writes it, and the machine.
func defaultNote(sum *results.SummaryFile) string {
	s, e := sum.Summary, sum.Summary.Environment
	started := ""
	if !s.StartedAt.IsZero() {
		started = s.StartedAt.Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("%s. Run %s, %s, %d CPUs (%s).", strings.TrimSuffix(sum.Scenario.Description, "."),
		s.RunID, started, e.CPUs, e.CPUModel)
}

func main() {
	dir := flag.String("run", "results/latest", "results folder of one run (timeseries.csv, summary.json)")
	out := flag.String("out", "overview.svg", "SVG file to write, - for stdout")
	note := flag.String("note", "", "caption under the title (default: run ID, start time and machine)")
	flag.Parse()
	r, err := load(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "plot:", err)
		os.Exit(1)
	}
	if *note == "" {
		*note = defaultNote(r.sum)
	}
	var w io.Writer = os.Stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(os.Stderr, "plot:", err)
			os.Exit(1)
		}
		defer f.Close()
		w = f
	}
	if err := render(w, r, *note); err != nil {
		fmt.Fprintln(os.Stderr, "plot:", err)
		os.Exit(1)
	}
}
