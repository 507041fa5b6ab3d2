package dashboards

// The live test's second half: a panel's value, read in its unit, must
// agree with the run's own summary. TestEveryPanelShowsData only asks
// that a query return a series; a panel labelled ms whose query returns
// seconds passes that, and fails this.

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/gate"
)

// figureFactor is how far a panel may be from the summary: the harness's
// histogram buckets are ~19% apart and k6's remote write pushes once a
// second, but a unit or scale error is a factor of 1,000.
const figureFactor = 3

const harnessSummary = "summary.json"

func k6Summary(twin string) string { return "k6 " + twin }

// figureCheck holds one query of one panel against one summary figure.
type figureCheck struct {
	dash, panel, ref string
	column           string // a table's field whose unit applies; "" for the panel's unit
	twin             string // the series to read, by its twin label
	source, path     string // the summary (harnessSummary, k6Summary(twin)) and the figure's path in it
	unit             string // the summary figure's unit (a Grafana unit)
}

var figureChecks = []figureCheck{
	{dash: "edabench-overview", panel: "RR: e2e p99", ref: "A", source: harnessSummary, path: "twins.rr.e2e.p99_ms", unit: "ms"},
	{dash: "edabench-overview", panel: "EDA: ack p99", ref: "A", source: harnessSummary, path: "twins.eda.ack.p99_ms", unit: "ms"},
	{dash: "edabench-overview", panel: "EDA: e2e p99", ref: "A", source: harnessSummary, path: "twins.eda.e2e.p99_ms", unit: "ms"},
	{dash: "edabench-overview", panel: "EDA: achieved rate", ref: "A", source: harnessSummary, path: "twins.eda.achieved_rps", unit: "reqps"},
	{dash: "edabench-overview", panel: "RR: achieved rate", ref: "A", source: harnessSummary, path: "twins.rr.achieved_rps", unit: "reqps"},
	{dash: "edabench-overview", panel: "RR: sent", ref: "A", source: harnessSummary, path: "twins.rr.sent", unit: "short"},
	{dash: "edabench-overview", panel: "EDA: lost", ref: "A", source: harnessSummary, path: "twins.eda.orders.lost", unit: "short"},
	{dash: "edabench-overview", panel: "Runs in the time range", ref: "C", column: "sent", twin: "eda", source: harnessSummary, path: "twins.eda.sent", unit: "short"},
	{dash: "edabench-overview", panel: "Runs in the time range", ref: "E", column: "e2e p99", twin: "rr", source: harnessSummary, path: "twins.rr.e2e.p99_ms", unit: "ms"},
	{dash: "edabench-k6", panel: "EDA: ack p99", ref: "A", source: k6Summary("eda"), path: "metrics.eda_ack_duration.p(99)", unit: "ms"},
	{dash: "edabench-k6", panel: "RR: e2e p99", ref: "A", source: k6Summary("rr"), path: "metrics.eda_e2e_duration.p(99)", unit: "ms"},
	{dash: "edabench-k6", panel: "RR: placed per second", ref: "A", source: k6Summary("rr"), path: "metrics.eda_orders_placed.rate", unit: "reqps"},
	{dash: "edabench-k6", panel: "Ack duration", ref: "B", twin: "eda", source: k6Summary("eda"), path: "metrics.eda_ack_duration.p(99)", unit: "ms"},
	{dash: "edabench-k6", panel: "End-to-end duration", ref: "B", twin: "rr", source: k6Summary("rr"), path: "metrics.eda_e2e_duration.p(99)", unit: "ms"},
	{dash: "edabench-k6", panel: "HDR quantiles (hdr option)", ref: "B", twin: "eda", source: k6Summary("eda"), path: "metrics.eda_ack_duration.p(99)", unit: "ms"},
	{dash: "edabench-k6", panel: "HDR quantiles (hdr option)", ref: "D", twin: "rr", source: k6Summary("rr"), path: "metrics.eda_e2e_duration.p(99)", unit: "ms"},
}

// liveRun is what the live test measured, to read panels against.
type liveRun struct {
	prom       string
	start, end time.Time
	values     map[string]string         // the variables' values for the run
	summaries  map[string]map[string]any // by figureCheck.source
}

func (lr *liveRun) checkFigures(t *testing.T) {
	byUID := map[string]*dashboard{}
	for _, d := range loadDashboards(t) {
		byUID[d.UID] = d
	}
	for _, c := range figureChecks {
		d := byUID[c.dash]
		if d == nil {
			t.Errorf("%s: no such dashboard", c.dash)
			continue
		}
		p, ok := findPanel(d, c.panel)
		if !ok {
			t.Errorf("%s: no panel %q", c.dash, c.panel)
			continue
		}
		got, want, err := lr.figure(d, p, c)
		if err != nil {
			t.Errorf("%s panel %q (%s) against %s %s: %v", c.dash, c.panel, c.ref, c.source, c.path, err)
		} else {
			t.Logf("%s panel %q (%s) shows %v; %s %s is %v %s", c.dash, c.panel, c.ref, got, c.source, c.path, want, c.unit)
		}
	}
}

func findPanel(d *dashboard, title string) (panel, bool) {
	for _, p := range d.allPanels() {
		if p.Title == title {
			return p, true
		}
	}
	return panel{}, false
}

// figure reads p's query c.ref as Grafana would show it for the window and
// holds it, in p's unit, against the summary's figure in its own.
func (lr *liveRun) figure(d *dashboard, p panel, c figureCheck) (got reading, want float64, err error) {
	doc, ok := lr.summaries[c.source]
	if !ok {
		return reading{}, 0, fmt.Errorf("no %s (its run failed, see above)", c.source)
	}
	want, err = gate.Number(doc, c.path)
	if err != nil {
		return reading{}, 0, err
	}
	wantR, err := inUnit(c.unit, want)
	if err != nil {
		return reading{}, want, err
	}
	var q *target
	for i := range p.Targets {
		if p.Targets[i].RefID == c.ref {
			q = &p.Targets[i]
		}
	}
	if q == nil {
		return reading{}, want, fmt.Errorf("no query %s", c.ref)
	}
	vars := parseVars(d, lr.values)
	vars["__range"] = fmt.Sprintf("%ds", int(math.Ceil(lr.end.Sub(lr.start).Seconds())))
	if tw, ok := strings.CutPrefix(c.source, k6Summary("")); ok {
		vars["testid"] = k6TestID + tw
	}
	expr := fill(q.Expr, vars)
	v, err := lr.value(expr, q.Instant, map[string]string{"twin": c.twin, "run": lr.values["run"]})
	if err != nil {
		return reading{}, want, fmt.Errorf("%w: %s", err, expr)
	}
	got, err = inUnit(unitOf(p, c.column), v)
	if err != nil {
		return reading{}, want, err
	}
	return got, want, agree(got, wantR, figureFactor)
}

// value is the query's last value in the window (an instant query at its
// end, as Grafana runs instant targets; a range query's last point
// otherwise), of the one series whose labels match want where it has them.
func (lr *liveRun) value(expr string, instant bool, want map[string]string) (float64, error) {
	series, err := query(lr.prom, expr, instant, lr.start, lr.end)
	if err != nil {
		return 0, err
	}
	var picked []promSeries
	for _, s := range series {
		match := true
		for k, v := range want {
			if got, has := s.Metric[k]; v != "" && has && got != v {
				match = false
			}
		}
		if match {
			picked = append(picked, s)
		}
	}
	if len(picked) != 1 {
		return 0, fmt.Errorf("%d series match %v, want one (of %d)", len(picked), want, len(series))
	}
	return picked[0].last()
}

type promSeries struct {
	Metric map[string]string `json:"metric"`
	Value  []any             `json:"value"`  // instant: [time, "v"]
	Values [][]any           `json:"values"` // range: [[time, "v"], ...]
}

func (s promSeries) last() (float64, error) {
	pt := s.Value
	if len(s.Values) > 0 {
		pt = s.Values[len(s.Values)-1]
	}
	if len(pt) != 2 {
		return 0, fmt.Errorf("series %v has no point", s.Metric)
	}
	str, _ := pt[1].(string)
	return strconv.ParseFloat(str, 64)
}

func query(prom, expr string, instant bool, start, end time.Time) ([]promSeries, error) {
	v := url.Values{"query": {expr}}
	path := "/api/v1/query_range"
	if instant {
		path = "/api/v1/query"
		v.Set("time", strconv.FormatInt(end.Unix(), 10))
	} else {
		v.Set("start", strconv.FormatInt(start.Unix(), 10))
		v.Set("end", strconv.FormatInt(end.Unix(), 10))
		v.Set("step", "1")
	}
	resp, err := http.PostForm(prom+path, v)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []promSeries `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("prometheus: %s", r.Error)
	}
	return r.Data.Result, nil
}

// brokenPanel is a deliberately wrong copy of a real panel
// (testdata/broken-panels.json): the same figure check must catch it.
type brokenPanel struct {
	Dashboard string `json:"dashboard"`
	Why       string `json:"why"`
	Panel     panel  `json:"panel"`
}

func loadBroken(t *testing.T) []brokenPanel {
	t.Helper()
	b, err := os.ReadFile("testdata/broken-panels.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Broken []brokenPanel `json:"broken"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("testdata/broken-panels.json: %v", err)
	}
	if len(doc.Broken) == 0 {
		t.Fatal("testdata/broken-panels.json: no panels")
	}
	return doc.Broken
}

// checkBroken: each broken panel, read through the same checks as its
// real one (which checkFigures passes), must fail them.
func (lr *liveRun) checkBroken(t *testing.T) {
	byUID := map[string]*dashboard{}
	for _, d := range loadDashboards(t) {
		byUID[d.UID] = d
	}
	for _, b := range loadBroken(t) {
		n := 0
		for _, c := range figureChecks {
			if c.dash != b.Dashboard || c.panel != b.Panel.Title {
				continue
			}
			n++
			_, _, err := lr.figure(byUID[c.dash], b.Panel, c)
			if err == nil {
				t.Errorf("%s panel %q broken (%s): %s %s agreed with it", b.Dashboard, b.Panel.Title, b.Why, c.source, c.path)
			} else {
				t.Logf("%s panel %q broken (%s), caught: %v", b.Dashboard, b.Panel.Title, b.Why, err)
			}
		}
		if n == 0 {
			t.Errorf("%s panel %q: no figure check reads it, so nothing can catch it", b.Dashboard, b.Panel.Title)
		}
	}
}

// TestBrokenPanelsAreRealPanels keeps the fixture honest without the live
// run: each broken panel differs from its dashboard's panel of the same
// title only in its unit or a query, so it breaks what it says it breaks.
func TestBrokenPanelsAreRealPanels(t *testing.T) {
	byUID := map[string]*dashboard{}
	for _, d := range loadDashboards(t) {
		byUID[d.UID] = d
	}
	for _, b := range loadBroken(t) {
		d := byUID[b.Dashboard]
		if d == nil {
			t.Errorf("%q: no such dashboard", b.Dashboard)
			continue
		}
		real, ok := findPanel(d, b.Panel.Title)
		if !ok {
			t.Errorf("%s: no panel %q", b.Dashboard, b.Panel.Title)
			continue
		}
		unitDiffers := real.FieldConfig.Defaults.Unit != b.Panel.FieldConfig.Defaults.Unit
		rq, _ := json.Marshal(real.Targets)
		bq, _ := json.Marshal(b.Panel.Targets)
		exprDiffers := string(rq) != string(bq)
		if unitDiffers == exprDiffers {
			t.Errorf("%s panel %q (%s): unit differs %v, queries differ %v; want exactly one of them broken", b.Dashboard, b.Panel.Title, b.Why, unitDiffers, exprDiffers)
		}
	}
}
