package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/edabench/edabench/harness/record"
	"github.com/edabench/edabench/harness/results"
)

// page is what the template shows; every string in it is escaped by
// html/template, and only the SVG the report draws itself is trusted.
type page struct {
	RunID, Name, Description         string
	Started, Ended, Duration         string
	Partial                          bool
	PartialReason                    string
	Twins                            []twinHead
	Sections                         []section
	Latency                          []latencyRow
	Faults                           []faultRow
	Verdict                          *verdictView
	Charts                           []chartView
	ScenarioJSON, EnvironmentJSON    string
	Warnings                         []string
	Generated, Folder, Source        string
	Environment                      string
	HasFaults, HasLatency, ManyTwins bool
}

type twinHead struct{ Name, Color string }

// section is one block of the side-by-side table: one row per figure,
// one cell per twin.
type section struct {
	Title, Note string
	Rows        []row
}

type row struct {
	Label, Hint string
	Cells       []cell
}

type cell struct{ Text, Class string }

type latencyRow struct {
	Metric, Hint string
	Twin         twinHead
	First        bool // the first twin of its metric: the metric's name spans the rows
	Span         int
	Cells        []string
}

type faultRow struct {
	Twin                                     twinHead
	Fault, Start, End, Errors, Timeouts      string
	Dropped, Backlog, Recovery, Drain, Error string
	ErrorsClass, TimeoutsClass, DroppedClass string
	RecoveryClass, DrainClass                string
	ShowError                                bool
	// Node is a broker fault's node timeline and the twin's recovery
	// after it, one line; "" for other faults.
	Node string
}

type verdictView struct {
	Path, GeneratedAt string
	// Backbones are the matrix's columns; empty for a verdict written
	// before the matrix (one unnamed column).
	Backbones []string
	Claims    []claimView
}

type claimView struct {
	ID, Claim string
	Cells     []cellView
}

// cellView is a claim on one backbone: the matrix shows its status and
// deciding figures, the details its evidence, conditions and runs.
type cellView struct {
	Backbone, Status, Class, Evidence, Conditions string
	Figures                                       []string
	Runs                                          []runRef
}

type runRef struct {
	ID   string
	This bool
}

type chartView struct {
	Title, Caption string
	SVGs           []template.HTML
}

func render(w io.Writer, r *run, now time.Time) error {
	p := page{
		RunID:         r.summary.RunID,
		Partial:       r.summary.Partial,
		PartialReason: r.summary.PartialReason,
		Warnings:      r.warnings,
		Generated:     now.UTC().Format("2006-01-02 15:04:05 MST"),
		Folder:        r.dir,
		ManyTwins:     len(r.twins) > 1,
	}
	var sc struct {
		Name, Description, Source string
		Network                   *struct {
			Name      string  `json:"name"`
			LatencyMs float64 `json:"latency_ms"`
			JitterMs  float64 `json:"jitter_ms"`
		}
		Deployment string
	}
	_ = json.Unmarshal(r.raw.Scenario, &sc) // a scenario of another shape still shows below, verbatim
	p.Name, p.Description, p.Source = sc.Name, sc.Description, sc.Source
	if p.Name == "" {
		p.Name = "unnamed scenario"
	}
	if !r.summary.StartedAt.IsZero() {
		p.Started = r.summary.StartedAt.UTC().Format("2006-01-02 15:04:05 MST")
	}
	if !r.summary.EndedAt.IsZero() {
		p.Ended = r.summary.EndedAt.UTC().Format("2006-01-02 15:04:05 MST")
		if !r.summary.StartedAt.IsZero() {
			p.Duration = r.summary.EndedAt.Sub(r.summary.StartedAt).Round(100 * time.Millisecond).String()
		}
	}
	e := r.summary.Environment
	p.Environment = strings.Join(nonEmpty(e.OS+"/"+e.Arch, plural(e.CPUs, "CPU"), e.CPUModel, mib(e.MemoryMiB), e.GoVersion, backboneText(&r.summary), prefixed("edabench ", e.Edabench)), " · ")
	// The deployment profile is what the twins ran as, so it heads the
	// figures like the machine does.
	if n := sc.Network; n != nil {
		p.Environment += " · network " + n.Name
		if n.LatencyMs > 0 {
			p.Environment += fmt.Sprintf(" (one way %.3g ms ± %.3g ms on every hop)", n.LatencyMs, n.JitterMs)
		}
	}
	if sc.Deployment != "" {
		p.Environment += " · deployment " + sc.Deployment
	}
	for _, t := range r.twins {
		p.Twins = append(p.Twins, twinHead{t, colorOf(r.twins, t)})
	}
	p.Sections = r.sections()
	p.Latency = r.latencyRows(p.Twins)
	p.HasLatency = len(p.Latency) > 0
	p.Faults = r.faultRows()
	p.HasFaults = len(p.Faults) > 0
	if r.verdict != nil {
		p.Verdict = r.verdictView()
	}
	for _, cr := range r.charts() {
		cv := chartView{Title: cr.Title, Caption: cr.Caption}
		for _, c := range cr.charts {
			cv.SVGs = append(cv.SVGs, template.HTML(c.svg())) // #nosec: drawn here, every text in it escaped
		}
		p.Charts = append(p.Charts, cv)
	}
	p.ScenarioJSON = indentJSON(r.raw.Scenario)
	p.EnvironmentJSON = indentJSON(r.raw.Environment)
	return pageTemplate.Execute(w, p)
}

func indentJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "(not recorded)"
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" && s != "/" {
			out = append(out, s)
		}
	}
	return out
}

func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

func plural(n int, unit string) string {
	if n == 0 {
		return ""
	}
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

func mib(n int64) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/1024)
}

// formatNumber writes counts whole, with thousands separated, and
// fractions to a precision that matters at their size.
func formatNumber(f float64) string {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return "—"
	case f == math.Trunc(f) && math.Abs(f) < 1e15:
		return groupThousands(strconv.FormatInt(int64(f), 10))
	case math.Abs(f) >= 1000:
		return groupThousands(strconv.FormatFloat(f, 'f', 0, 64))
	case math.Abs(f) >= 100:
		return strconv.FormatFloat(f, 'f', 1, 64)
	case math.Abs(f) >= 0.01:
		return strconv.FormatFloat(f, 'f', 2, 64)
	}
	return strconv.FormatFloat(f, 'g', 3, 64)
}

func groupThousands(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteRune(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// never writes the -1 the harness uses for "did not happen before the run
// ended".
func msOrNever(ms float64) string {
	if ms < 0 {
		return "never"
	}
	return formatNumber(ms)
}

// badIfPositive are the figures that should be 0 in a correct twin; a
// reviewer's eye goes to them first.
func badIfPositive(key string) bool {
	switch key {
	case "lost", "duplicates_applied", "orphaned_effects", "dead_lettered", "latencies_clamped":
		return true
	}
	return false
}

// warnIfPositive are the figures a fault is expected to raise, but that
// show the twin did not serve everything.
func warnIfPositive(key string) bool {
	switch key {
	case "errors", "timeouts", "dropped", "failed", "indeterminate", "rejected":
		return true
	}
	return false
}

func classFor(key string, v float64) string {
	switch {
	case v > 0 && badIfPositive(key):
		return "bad"
	case v > 0 && warnIfPositive(key):
		return "warn"
	}
	return ""
}

func (r *run) tw(name string) *results.TwinResult { return r.summary.Twins[name] }

// numRow is one row of figures taken from every twin.
func (r *run) numRow(label, key, hint string, get func(*results.TwinResult) float64) row {
	rw := row{Label: label, Hint: hint}
	for _, t := range r.twins {
		v := get(r.tw(t))
		rw.Cells = append(rw.Cells, cell{formatNumber(v), classFor(key, v)})
	}
	return rw
}

func (r *run) sections() []section {
	n := func(label, key, hint string, get func(*results.TwinResult) float64) row {
		return r.numRow(label, key, hint, get)
	}
	requests := section{Title: "Requests", Rows: []row{
		n("sent", "", "every request the schedule made due", func(t *results.TwinResult) float64 { return float64(t.Sent) }),
		n("ok", "", "", func(t *results.TwinResult) float64 { return float64(t.OK) }),
		n("rejected", "rejected", "", func(t *results.TwinResult) float64 { return float64(t.Rejected) }),
		n("errors", "errors", "", func(t *results.TwinResult) float64 { return float64(t.Errors) }),
		n("timeouts", "timeouts", "", func(t *results.TwinResult) float64 { return float64(t.Timeouts) }),
		n("dropped", "dropped", "never sent: in-flight cap reached", func(t *results.TwinResult) float64 { return float64(t.Dropped) }),
		r.textRow("errors by code", "", func(t *results.TwinResult) string { return byCode(t.ErrorsByCode) }),
	}}
	rates := section{Title: "Rates and cost", Rows: []row{
		n("offered (req/s)", "", "sent per second of load", func(t *results.TwinResult) float64 { return t.OfferedRPS }),
		n("achieved (req/s)", "", "replies per second of load", func(t *results.TwinResult) float64 { return t.AchievedRPS }),
		n("load (s)", "", "", func(t *results.TwinResult) float64 { return t.LoadSeconds }),
		n("CPU per order (ms)", "", "services and broker, per completed order", func(t *results.TwinResult) float64 { return t.CPUPerOrderMs }),
		n("generator CPU per 1k req (s)", "", "the harness's own cost", func(t *results.TwinResult) float64 { return t.GeneratorCPUPer1k }),
		n("harness observers per 1k req (s)", "", "of it: completion consumer, backlog sampler, scrapes, staleness probe, interval logs, live metrics (summary.json harness_cpu)", func(t *results.TwinResult) float64 {
			if t.HarnessCPU == nil {
				return 0
			}
			return t.HarnessCPU.ObserversPer1kS
		}),
		n("max dispatch late (ms)", "", "how far the generator fell behind", func(t *results.TwinResult) float64 { return t.MaxDispatchLateMs }),
		n("latencies clamped", "latencies_clamped", "above the histogram's top", func(t *results.TwinResult) float64 { return float64(t.Clamped) }),
	}}
	orders := section{Title: "Orders", Rows: []row{
		n("accepted", "", "= completed + failed + lost", func(t *results.TwinResult) float64 { return float64(t.Orders.Accepted) }),
		n("completed", "", "", func(t *results.TwinResult) float64 { return float64(t.Orders.Completed) }),
		n("failed", "failed", "", func(t *results.TwinResult) float64 { return float64(t.Orders.Failed) }),
		n("lost", "lost", "accepted, never seen to end", func(t *results.TwinResult) float64 { return float64(t.Orders.Lost) }),
		n("duplicate end events", "", "", func(t *results.TwinResult) float64 { return float64(t.Orders.DuplicateEnds) }),
		r.textRow("drain (ms)", "after the load, until the last order ended", func(t *results.TwinResult) string { return msOrNever(t.Orders.DrainMs) }),
	}}
	out := []section{requests, rates, orders}
	if s, ok := r.rawSection("Audit", "audit", auditHints); ok {
		out = append(out, s)
	}
	if s, ok := r.rawSection("Queues and lag", "lag", lagHints); ok {
		out = append(out, s)
	}
	if s, ok := r.stepsSection(); ok {
		out = append(out, s)
	}
	if s, ok := r.kneeSection(); ok {
		out = append(out, s)
	}
	if s, ok := r.hostSection(); ok {
		out = append(out, s)
	}
	return out
}

func (r *run) textRow(label, hint string, get func(*results.TwinResult) string) row {
	rw := row{Label: label, Hint: hint}
	for _, t := range r.twins {
		rw.Cells = append(rw.Cells, cell{Text: get(r.tw(t))})
	}
	return rw
}

func byCode(m map[string]int64) string {
	if len(m) == 0 {
		return "—"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %s", k, formatNumber(float64(m[k])))
	}
	return strings.Join(parts, ", ")
}

func auditHints(key string) string {
	switch key {
	case "accepted":
		return "the client saw ok"
	case "completed":
		return "all four steps in force"
	case "indeterminate":
		return "timeout or Unavailable: may have happened"
	case "indeterminate_completed":
		return "of those, completed anyway"
	case "duplicates_applied":
		return "a step applied twice: must be 0"
	case "orphaned_effects":
		return "effects of orders that did not complete"
	case "unaudited":
		return "journals that could not be read"
	}
	return ""
}

func lagHints(key string) string {
	switch key {
	case "max_queue_depth":
		return "ready + unacked, all queues"
	case "drain_ms":
		return "-1: never drained"
	case "peak_at":
		return "UTC"
	}
	return ""
}

// rawSection shows one object of every twin (audit, lag) with all its
// keys, in the order summary.json has them, so fields added to it later
// appear without a change here.
func (r *run) rawSection(title, key string, hint func(string) string) (section, bool) {
	var keys []string
	vals := map[string]map[string]any{}
	for _, t := range r.twins {
		raw, ok := r.raw.Twins[t][key]
		if !ok || string(raw) == "null" {
			continue
		}
		fs, err := orderedFields(raw)
		if err != nil {
			continue
		}
		vals[t] = map[string]any{}
		for _, f := range fs {
			if !slices.Contains(keys, f.key) {
				keys = append(keys, f.key)
			}
			vals[t][f.key] = f.value
		}
	}
	if len(keys) == 0 {
		return section{}, false
	}
	s := section{Title: title}
	for _, k := range keys {
		label := k
		if l, ok := strings.CutSuffix(k, "_ms"); ok {
			label = l + " (ms)"
		}
		rw := row{Label: strings.ReplaceAll(label, "_", " "), Hint: hint(k)}
		for _, t := range r.twins {
			v, ok := vals[t][k]
			if !ok {
				rw.Cells = append(rw.Cells, cell{Text: "—"})
				continue
			}
			c := cell{Text: formatValue(v)}
			if num, ok := v.(json.Number); ok {
				f, _ := num.Float64()
				c.Class = classFor(k, f)
				if strings.HasSuffix(k, "_ms") && f < 0 {
					c.Text = "never"
				}
			}
			if arr, ok := v.([]any); ok && len(arr) > 0 {
				c.Class = "bad"
			}
			rw.Cells = append(rw.Cells, c)
		}
		s.Rows = append(s.Rows, rw)
	}
	return s, true
}

// stepsSection shows each step's own time as its service measured it:
// coarse (histogram buckets), but it says where the time went.
func (r *run) stepsSection() (section, bool) {
	var steps []string
	for _, t := range r.twins {
		for s := range r.tw(t).Steps {
			if !slices.Contains(steps, s) {
				steps = append(steps, s)
			}
		}
	}
	if len(steps) == 0 {
		return section{}, false
	}
	sort.Strings(steps)
	sec := section{Title: "Steps p50 / p99 (ms)", Note: "each service's own histogram: coarse, buckets a factor of 2 apart"}
	for _, s := range steps {
		rw := row{Label: s}
		for _, t := range r.twins {
			st, ok := r.tw(t).Steps[s]
			if !ok {
				rw.Cells = append(rw.Cells, cell{Text: "—"})
				continue
			}
			rw.Cells = append(rw.Cells, cell{Text: formatNumber(st.P50Ms) + " / " + formatNumber(st.P99Ms)})
		}
		sec.Rows = append(sec.Rows, rw)
	}
	return sec, true
}

func (r *run) kneeSection() (section, bool) {
	has := false
	for _, t := range r.twins {
		has = has || r.tw(t).Knee != nil
	}
	if !has {
		return section{}, false
	}
	get := func(f func(k *results.Knee) string) func(*results.TwinResult) string {
		return func(t *results.TwinResult) string {
			if t.Knee == nil {
				return "—"
			}
			return f(t.Knee)
		}
	}
	return section{Title: "Knee (ramp)", Rows: []row{
		r.textRow("sustained (req/s)", "highest step within the SLO", get(func(k *results.Knee) string { return formatNumber(k.RPS) })),
		r.textRow("broken at (req/s)", "first step that broke it", get(func(k *results.Knee) string {
			if k.BrokenAt == 0 {
				return "—"
			}
			return formatNumber(k.BrokenAt)
		})),
		r.textRow("reached", "false: the ramp ended first", get(func(k *results.Knee) string { return formatValue(k.Reached) })),
		r.textRow("reason", "", get(func(k *results.Knee) string { return k.Reason })),
	}}, true
}

func (r *run) latencyRows(heads []twinHead) []latencyRow {
	type metric struct {
		name, hint string
		get        func(*results.TwinResult) record.Summary
	}
	ms := []metric{
		{"ack", "until PlaceOrder replied", func(t *results.TwinResult) record.Summary { return t.Ack }},
		{"e2e", "until the order completed", func(t *results.TwinResult) record.Summary { return t.E2E }},
		{"ack uncorrected", "from the actual send", func(t *results.TwinResult) record.Summary { return t.AckUncorrected }},
		{"e2e uncorrected", "from the actual send", func(t *results.TwinResult) record.Summary { return t.E2EUncorrected }},
	}
	var out []latencyRow
	for _, m := range ms {
		for i, t := range r.twins {
			s := m.get(r.tw(t))
			lr := latencyRow{Metric: m.name, Hint: m.hint, Twin: heads[i], First: i == 0, Span: len(r.twins)}
			if s.Count == 0 {
				lr.Cells = []string{"0", "—", "—", "—", "—", "—", "—"}
			} else {
				for _, v := range []float64{float64(s.Count), s.P50, s.P90, s.P99, s.P999, s.Max, s.Mean} {
					lr.Cells = append(lr.Cells, formatNumber(v))
				}
			}
			out = append(out, lr)
		}
	}
	return out
}

func (r *run) faultRows() []faultRow {
	var out []faultRow
	for _, t := range r.twins {
		for _, f := range r.tw(t).Faults {
			fr := faultRow{
				Twin: twinHead{t, colorOf(r.twins, t)}, Fault: f.Fault,
				Start: fmt.Sprintf("%.1f", f.StartS), End: fmt.Sprintf("%.1f", f.EndS),
				Errors: formatNumber(float64(f.Errors)), Timeouts: formatNumber(float64(f.Timeouts)),
				Dropped: formatNumber(float64(f.Dropped)), Backlog: formatNumber(float64(f.Backlog)),
				Recovery: msOrNever(f.RecoveryMs), Drain: msOrNever(f.DrainMs), Error: f.Error,
				Node: nodeLine(f.Down),
			}
			fr.ErrorsClass = classFor("errors", float64(f.Errors))
			fr.TimeoutsClass = classFor("timeouts", float64(f.Timeouts))
			fr.DroppedClass = classFor("dropped", float64(f.Dropped))
			if f.RecoveryMs < 0 {
				fr.RecoveryClass = "bad"
			}
			if f.DrainMs < 0 {
				fr.DrainClass = "bad"
			}
			out = append(out, fr)
		}
	}
	show := false
	for _, f := range out {
		show = show || f.Error != ""
	}
	for i := range out {
		out[i].ShowError = show
	}
	return out
}

// nodeLine puts a broker fault's node timeline beside the twin's
// recovery, so that the page tells a slow restart from a slow reconnect.
func nodeLine(d *results.NodeDown) string {
	if d == nil {
		return ""
	}
	sec := func(ms float64) string {
		if ms < 0 {
			return "never"
		}
		return fmt.Sprintf("%.1f s", ms/1000)
	}
	return fmt.Sprintf("node: stop %s (asked → gone), away %s (gone → serving at %.1f s), down %s (asked → serving) = window %s + late %s + start %s; twin after serving: first accept %s, first completion %s",
		sec(d.StopMs), sec(d.AwayMs), d.ServingS, sec(d.DownMs), sec(d.WindowMs), sec(d.LateMs), sec(d.StartMs),
		sec(d.AcceptAfterMs), sec(d.CompleteAfterMs))
}

// cellView is one cell as the page shows it: the status with the marks
// verdict.md gives it, the deciding figures as median [interval] (n,
// coverage), and the runs, this one marked.
func (r *run) cellView(c verdictCell) cellView {
	col := c.Backbone
	if c.Nodes > 1 {
		col += fmt.Sprintf(" x%d", c.Nodes)
	}
	if c.Profile != "" {
		col += " · " + c.Profile
	}
	cv := cellView{Backbone: col, Status: c.Status, Class: statusClass(c.Status), Evidence: c.Evidence, Conditions: c.Conditions}
	if cv.Status == "" {
		cv.Status = "no status"
	}
	if c.SingleRun {
		cv.Status += " (single run)"
	}
	if c.RROnly {
		cv.Status += " (RR only)"
	}
	names := make([]string, 0, len(c.Intervals))
	for k := range c.Intervals {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		cv.Figures = append(cv.Figures, k+" "+c.Intervals[k].String())
	}
	for _, id := range c.Runs {
		s := fmt.Sprint(id)
		cv.Runs = append(cv.Runs, runRef{ID: s, This: s == r.summary.RunID})
	}
	return cv
}

// backboneText names the broker the EDA and hybrid twins ran over, so a
// report of a Kafka run is never read as RabbitMQ's; "" for RR alone.
func backboneText(s *results.Summary) string {
	b := s.Backbone()
	if b == "" {
		return ""
	}
	return strings.TrimSpace("backbone " + b + " " + s.BackboneVersion())
}

func (r *run) verdictView() *verdictView {
	v := &verdictView{Path: r.vpath, GeneratedAt: r.verdict.GeneratedAt}
	if t, err := time.Parse(time.RFC3339Nano, v.GeneratedAt); err == nil {
		v.GeneratedAt = t.UTC().Format("2006-01-02 15:04:05 MST")
	}
	if rel, err := filepath.Rel(r.dir, r.vpath); err == nil && !strings.HasPrefix(rel, "..") {
		v.Path = rel
	} else if filepath.Dir(r.vpath) == filepath.Dir(r.dir) {
		v.Path = filepath.Join("..", filepath.Base(r.vpath))
	}
	for _, b := range r.verdict.Backbones {
		label := b.Name
		if len(b.Versions) > 0 {
			label += " " + strings.Join(b.Versions, ", ")
		}
		if b.Nodes > 1 {
			label += fmt.Sprintf(" x%d", b.Nodes)
		}
		if b.Profile != "" {
			label += " · " + b.Profile
		}
		v.Backbones = append(v.Backbones, label)
	}
	for i, c := range r.verdict.Claims {
		cv := claimView{Claim: c.Claim, ID: fmt.Sprint(i + 1)}
		if c.ID != nil {
			cv.ID = formatValue(c.ID)
		}
		for _, cl := range c.cells() {
			cv.Cells = append(cv.Cells, r.cellView(cl))
		}
		v.Claims = append(v.Claims, cv)
	}
	return v
}
