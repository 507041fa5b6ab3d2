package dashboards

// Checks of what a reviewer sees: Grafana's own schema, a description and a
// unit on every panel, links between the dashboards, fault annotations,
// counters that survive a restart, value mappings for states.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	sdk "github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/harness/runner"
	"github.com/edabench/edabench/targets/resilience"
)

// validateSchema decodes a dashboard with the foundation SDK's strict
// decoder (every field known, every required one there, panel options and
// queries by their plugin's own schema) and validates it.
func validateSchema(raw []byte) error {
	// Registers the panel and query plugins' schemas so options and
	// targets are decoded strictly too; idempotent.
	plugins.RegisterDefaultPlugins()
	var d sdk.Dashboard
	err := d.UnmarshalJSONStrict(raw)
	// The SDK returns its error list typed even when it is empty.
	var be cog.BuildErrors
	if errors.As(err, &be) && len(be) == 0 {
		err = nil
	}
	if err != nil {
		return err
	}
	return d.Validate()
}

// TestSchemaValidationIsStrict shows validateSchema rejects what Grafana's
// schema does not know, down to a panel plugin's options and a query.
func TestSchemaValidationIsStrict(t *testing.T) {
	panel := func(typ, extra string) string {
		return `{"schemaVersion": 39, "templating": {"list": []}, "annotations": {"list": []}, "panels": [` +
			`{"id": 1, "type": "` + typ + `", "title": "t", "gridPos": {"h": 1, "w": 1, "x": 0, "y": 0}` + extra + `}]}`
	}
	statOpts := `"reduceOptions": {"values": false, "calcs": ["lastNotNull"], "fields": ""}, "orientation": "auto", "textMode": "value", "colorMode": "background", "graphMode": "none", "justifyMode": "center", "wideLayout": true, "showPercentChange": false, "percentChangeColorMode": "standard"`
	for _, c := range []struct {
		name, json, want string
	}{
		{"a good stat", panel("stat", `, "options": {`+statOpts+`}`), ""},
		{"an unknown panel field", panel("stat", `, "options": {`+statOpts+`}, "unit": "s"`), "unexpected field 'unit'"},
		{"a stat option missing", panel("stat", `, "options": {"graphMode": "none"}`), "required field is missing"},
		{"an unknown stat option", panel("stat", `, "options": {`+statOpts+`, "colour": "red"}`), "unexpected field 'colour'"},
		{"an unknown state-timeline option", panel("state-timeline", `, "options": {"showValue": "auto", "rowHeight": 0.9, "legend": {"showLegend": true, "displayMode": "list", "placement": "bottom", "calcs": []}, "tooltip": {"mode": "multi", "sort": "none"}, "rowHight": 1}`), "unexpected field 'rowHight'"},
		{"an unknown Prometheus query field", panel("stat", `, "options": {`+statOpts+`}, "datasource": {"type": "prometheus", "uid": "p"}, "targets": [{"refId": "A", "datasource": {"type": "prometheus", "uid": "p"}, "expr": "up", "exprs": "up"}]`), "unexpected field 'exprs'"},
		{"an unknown dashboard field", `{"schemaVersion": 39, "templating": {"list": []}, "annotations": {"list": []}, "timeRange": {}}`, "unexpected field 'timeRange'"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := validateSchema([]byte(c.json))
			switch {
			case c.want == "" && err != nil:
				t.Errorf("rejected: %v", err)
			case c.want != "" && err == nil:
				t.Errorf("accepted; want an error with %q", c.want)
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Errorf("error %q does not say %q", err, c.want)
			}
		})
	}
}

// checkPanelDoc: every panel says what it shows and in which unit.
func checkPanelDoc(t *testing.T, where string, p panel) {
	t.Helper()
	if strings.TrimSpace(p.Description) == "" {
		t.Errorf("%s: no description: say what it shows and where the figure comes from", where)
	}
	u := p.FieldConfig.Defaults.Unit
	if u == "" {
		t.Errorf("%s: no unit (fieldConfig.defaults.unit); use one of %v", where, keys(grafanaUnits))
	} else if _, ok := grafanaUnits[u]; !ok {
		t.Errorf("%s: unit %q is not one the tests can convert (%v): add it to grafanaUnits or use one of those", where, u, keys(grafanaUnits))
	}
	for _, o := range p.FieldConfig.Overrides {
		for _, pr := range o.Properties {
			if pr.ID != "unit" {
				continue
			}
			u, _ := strconv.Unquote(string(pr.Value))
			if _, ok := grafanaUnits[u]; !ok {
				t.Errorf("%s: override %v: unit %s unknown (%v)", where, o.Matcher.Options, pr.Value, keys(grafanaUnits))
			}
		}
	}
}

// checkLinks: every dashboard links to every edabench dashboard (by tag),
// keeping the time range and the variables.
func checkLinks(t *testing.T, d *dashboard) {
	t.Helper()
	if !contains(d.Tags, dashboardTag) {
		t.Errorf("not tagged %q: the other dashboards' links (by tag) do not reach it", dashboardTag)
	}
	for _, l := range d.Links {
		if l.Type == "dashboards" && contains(l.Tags, dashboardTag) {
			if !l.KeepTime || !l.IncludeVars {
				t.Errorf("link %q: keepTime %v, includeVars %v; want both, so the run and its window carry over", l.Title, l.KeepTime, l.IncludeVars)
			}
			return
		}
	}
	t.Errorf("no link of type dashboards with tag %q: a reviewer cannot go to the other dashboards", dashboardTag)
}

const dashboardTag = "edabench"

// checkFaultAnnotation: every dashboard shades the fault windows.
func checkFaultAnnotation(t *testing.T, d *dashboard) {
	t.Helper()
	for _, a := range d.Annotations.List {
		if a.Enable && strings.Contains(a.Expr, runner.MetricFaultActive) {
			return
		}
	}
	t.Errorf("no enabled annotation on %s: the fault windows are not shaded", runner.MetricFaultActive)
}

// checkVariables: a reviewer lands on the newest run and a window that
// holds one, not on every run mixed together.
func checkVariables(t *testing.T, d *dashboard) {
	t.Helper()
	for _, v := range d.Templating.List {
		if v.Name == "run" && (v.IncludeAll || v.Sort != sortAlphaDesc) {
			t.Errorf("variable run: includeAll %v, sort %d; want false and %d (alphabetical descending: the newest run first, selected by default)",
				v.IncludeAll, v.Sort, sortAlphaDesc)
		}
	}
	from, ok := strings.CutPrefix(d.Time.From, "now-")
	dur, err := time.ParseDuration(from)
	if !ok || err != nil || d.Time.To != "now" || dur < 30*time.Minute {
		t.Errorf("default time range %s to %s: want now-D to now with D at least 30m, so a run just done is in it", d.Time.From, d.Time.To)
	}
}

// sortAlphaDesc is Grafana's variable sort "alphabetical (desc)".
const sortAlphaDesc = 2

// TestRunIDsSortByTime backs checkVariables: sorting run IDs descending
// puts the newest first only because an ID begins with its start time.
func TestRunIDsSortByTime(t *testing.T) {
	base := t.TempDir()
	t0 := time.Date(2026, 11, 30, 23, 59, 59, 0, time.UTC)
	var prev string
	for i, at := range []time.Time{t0, t0.Add(time.Second), t0.Add(25 * time.Hour)} {
		_, id, err := results.NewRunDir(base, fmt.Sprintf("rr-eda-s%d", 9-i), at)
		if err != nil {
			t.Fatal(err)
		}
		if id <= prev {
			t.Errorf("run %q (at %s) sorts before the earlier %q", id, at, prev)
		}
		prev = id
	}
}

// checkCounters: a service's or the broker's counter restarts at 0 when a
// kill (or broker-restart) fault restarts it, so a panel must take it
// through rate, irate or increase, never raw. The harness's and k6's
// counters live as long as the run.
func checkCounters(t *testing.T, where, expr string) {
	t.Helper()
	e, err := promql.ParseExpr(expr)
	if err != nil {
		return // reported by checkExpr
	}
	parser.Inspect(e, func(n parser.Node, path []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok || !resets(vs.Name) {
			return nil
		}
		for _, a := range path {
			if c, ok := a.(*parser.Call); ok && (c.Func.Name == "rate" || c.Func.Name == "irate" || c.Func.Name == "increase") {
				return nil
			}
		}
		t.Errorf("%s: counter %s plotted raw: it restarts at 0 when a fault restarts its process; use rate(...[$__rate_interval]) or increase(...[$__range])", where, vs.Name)
		return nil
	})
}

func resets(name string) bool {
	if strings.HasPrefix(name, "edabench_harness_") || strings.HasPrefix(name, "k6_") {
		return false
	}
	for _, s := range []string{"_total", "_count", "_sum", "_bucket"} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// TestStateMappings: a state gauge shows its state's name, the one its
// source gives it, not 0/1/2.
func TestStateMappings(t *testing.T) {
	want := map[string]map[string]string{
		resilience.MetricBreakerState: {},
		runner.MetricFaultActive:      {"0": "off", "1": "injected"},
	}
	for _, s := range []resilience.State{resilience.Closed, resilience.HalfOpen, resilience.Open} {
		want[resilience.MetricBreakerState][strconv.Itoa(int(s))] = s.String()
	}
	found := map[string]bool{}
	for _, d := range loadDashboards(t) {
		for _, p := range d.allPanels() {
			for metric, texts := range want {
				if p.Type == "stat" || len(p.Targets) == 0 || !strings.Contains(p.Targets[0].Expr, metric) {
					continue
				}
				found[metric] = true
				got := map[string]string{}
				for _, m := range p.FieldConfig.Defaults.Mappings {
					for v, o := range m.Options {
						got[v] = o.Text
					}
				}
				if fmt.Sprint(got) != fmt.Sprint(texts) {
					t.Errorf("%s panel %q: value mappings %v, want %v", d.file, p.Title, got, texts)
				}
			}
		}
	}
	for metric := range want {
		if !found[metric] {
			t.Errorf("no panel plots %s", metric)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestRunsTableLinksToTheRun: each row of the overview's runs table opens
// the overview on that run over its own window, from fields the table's
// queries really produce.
func TestRunsTableLinksToTheRun(t *testing.T) {
	b, err := os.ReadFile("edabench-overview.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Type            string `json:"type"`
			Transformations []struct {
				ID      string `json:"id"`
				Options struct {
					RenameByName map[string]string `json:"renameByName"`
				} `json:"options"`
			} `json:"transformations"`
			FieldConfig struct {
				Overrides []struct {
					Properties []struct {
						ID    string `json:"id"`
						Value any    `json:"value"`
					} `json:"properties"`
				} `json:"overrides"`
			} `json:"fieldConfig"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	var tables int
	for _, p := range d.Panels {
		if p.Type != "table" {
			continue
		}
		tables++
		fields := map[string]bool{"run": true}
		for _, tr := range p.Transformations {
			for _, to := range tr.Options.RenameByName {
				fields[to] = true
			}
		}
		var urls []string
		for _, o := range p.FieldConfig.Overrides {
			for _, pr := range o.Properties {
				if pr.ID != "links" {
					continue
				}
				links, _ := pr.Value.([]any)
				for _, l := range links {
					if m, ok := l.(map[string]any); ok {
						u, _ := m["url"].(string)
						urls = append(urls, u)
					}
				}
			}
		}
		if len(urls) == 0 {
			t.Fatalf("the runs table links nowhere")
		}
		for _, u := range urls {
			pu, err := url.Parse(u)
			if err != nil || !strings.HasPrefix(pu.Path, "/d/edabench-overview/") {
				t.Errorf("link %q: not to the overview (%v)", u, err)
				continue
			}
			q := pu.Query()
			for _, k := range []string{"var-run", "from", "to"} {
				f, ok := strings.CutPrefix(q.Get(k), "${__data.fields.")
				f, closed := strings.CutSuffix(f, "}")
				if !ok || !closed || !fields[f] {
					t.Errorf("link %q: %s=%q is not one of the table's fields %v", u, k, q.Get(k), keys(fields))
				}
			}
		}
	}
	if tables != 1 {
		t.Errorf("%d tables on the overview, want the runs table", tables)
	}
}
