// Package dashboards holds the Grafana dashboards and their tests: each
// dashboard is well formed (Grafana's own schema, schema_test.go), its stat
// colours are the gate's (gates_test.go), docker-compose.yml agrees with
// deploy/prometheus.yml and the provisioning, and (live_test.go) every
// panel shows data from a real run scraped by a real Prometheus and reads,
// in its unit, what the run's summaries say (figures_test.go).
package dashboards

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"
)

type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type target struct {
	RefID      string `json:"refId"`
	Expr       string `json:"expr"`
	Datasource *dsRef `json:"datasource"`
	Instant    bool   `json:"instant"`
}

type panel struct {
	ID          int         `json:"id"`
	Type        string      `json:"type"`
	Title       string      `json:"title"`
	Description string      `json:"description"`
	Datasource  *dsRef      `json:"datasource"`
	GridPos     gridPos     `json:"gridPos"`
	FieldConfig fieldConfig `json:"fieldConfig"`
	Targets     []target    `json:"targets"`
	Panels      []panel     `json:"panels"`
}

type fieldConfig struct {
	Defaults struct {
		Unit       string `json:"unit"`
		Thresholds *struct {
			Mode  string `json:"mode"`
			Steps []step `json:"steps"`
		} `json:"thresholds"`
		Mappings []valueMapping `json:"mappings"`
	} `json:"defaults"`
	Overrides []struct {
		Matcher struct {
			ID      string `json:"id"`
			Options any    `json:"options"`
		} `json:"matcher"`
		Properties []struct {
			ID    string          `json:"id"`
			Value json.RawMessage `json:"value"`
		} `json:"properties"`
	} `json:"overrides"`
}

type step struct {
	Color string   `json:"color"`
	Value *float64 `json:"value"`
}

type valueMapping struct {
	Type    string `json:"type"`
	Options map[string]struct {
		Text  string `json:"text"`
		Color string `json:"color"`
	} `json:"options"`
}

type dashLink struct {
	Title       string   `json:"title"`
	Type        string   `json:"type"`
	Tags        []string `json:"tags"`
	IncludeVars bool     `json:"includeVars"`
	KeepTime    bool     `json:"keepTime"`
	URL         string   `json:"url"`
}

type gridPos struct{ H, W, X, Y int }

type variable struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Datasource *dsRef `json:"datasource"`
	Definition string `json:"definition"`
	IncludeAll bool   `json:"includeAll"`
	Sort       int    `json:"sort"`
}

type annotation struct {
	Name       string `json:"name"`
	Datasource *dsRef `json:"datasource"`
	Expr       string `json:"expr"`
	BuiltIn    int    `json:"builtIn"`
	Enable     bool   `json:"enable"`
}

type dashboard struct {
	file   string
	raw    []byte
	UID    string     `json:"uid"`
	Title  string     `json:"title"`
	Tags   []string   `json:"tags"`
	Links  []dashLink `json:"links"`
	Panels []panel    `json:"panels"`
	Time   struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"time"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
	Annotations struct {
		List []annotation `json:"list"`
	} `json:"annotations"`
}

// allPanels flattens rows (collapsed rows hold their panels).
func (d *dashboard) allPanels() []panel {
	var out []panel
	for _, p := range d.Panels {
		out = append(out, p)
		out = append(out, p.Panels...)
	}
	return out
}

func loadDashboards(t *testing.T) []*dashboard {
	t.Helper()
	files, err := filepath.Glob("*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in dashboards/: %v", err)
	}
	var out []*dashboard
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d := &dashboard{file: f, raw: b}
		if err := json.Unmarshal(b, d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, d)
	}
	return out
}

// provisionedDatasources reads dashboards/provisioning/datasources/*.yaml.
func provisionedDatasources(t *testing.T) map[string]map[string]any {
	t.Helper()
	files, _ := filepath.Glob("provisioning/datasources/*.yaml")
	if len(files) == 0 {
		t.Fatal("no provisioning/datasources/*.yaml")
	}
	out := map[string]map[string]any{}
	for _, f := range files {
		var doc struct {
			Datasources []map[string]any `yaml:"datasources"`
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, ds := range doc.Datasources {
			uid, _ := ds["uid"].(string)
			if uid == "" {
				t.Fatalf("%s: datasource %v without uid: dashboards could not refer to it", f, ds["name"])
			}
			out[uid] = ds
		}
	}
	return out
}

// fill substitutes the template variables and Grafana's built-in interval
// variables with values for which the expression must still parse.
func fill(expr string, vars map[string]string) string {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	// Longest first: $__rate_interval before $__interval.
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	for _, k := range keys {
		expr = strings.ReplaceAll(expr, "${"+k+"}", vars[k])
		expr = strings.ReplaceAll(expr, "$"+k, vars[k])
	}
	return expr
}

var builtins = map[string]string{"__rate_interval": "4s", "__interval": "1s", "__range": "5m"}

var leftover = regexp.MustCompile(`\$\{?[A-Za-z_]\w*`)

func parseVars(d *dashboard, values map[string]string) map[string]string {
	vars := map[string]string{}
	for k, v := range builtins {
		vars[k] = v
	}
	for _, v := range d.Templating.List {
		vars[v.Name] = ".*"
	}
	for k, v := range values {
		vars[k] = v
	}
	return vars
}

func TestDashboardsWellFormed(t *testing.T) {
	dss := provisionedDatasources(t)
	uids := map[string]bool{}
	for _, d := range loadDashboards(t) {
		t.Run(d.file, func(t *testing.T) {
			if d.UID == "" || d.Title == "" {
				t.Errorf("no uid or title")
			}
			if err := validateSchema(d.raw); err != nil {
				t.Errorf("Grafana's dashboard schema (grafana-foundation-sdk) rejects it:\n%v", err)
			}
			checkLinks(t, d)
			checkFaultAnnotation(t, d)
			checkVariables(t, d)
			if uids[d.UID] {
				t.Errorf("uid %q used by two dashboards", d.UID)
			}
			uids[d.UID] = true
			checkDS := func(where string, ref *dsRef) {
				if ref == nil || ref.Type == "grafana" {
					return
				}
				ds, ok := dss[ref.UID]
				if !ok {
					t.Errorf("%s: datasource uid %q is not provisioned (have %v)", where, ref.UID, keys(dss))
					return
				}
				if typ, _ := ds["type"].(string); typ != ref.Type {
					t.Errorf("%s: datasource %q has type %q, the reference says %q", where, ref.UID, typ, ref.Type)
				}
			}
			vars := parseVars(d, nil)
			checkExpr := func(where, expr string) {
				e := fill(expr, vars)
				if m := leftover.FindString(e); m != "" {
					t.Errorf("%s: unknown variable %s in %s", where, m, expr)
				}
				if _, err := promql.ParseExpr(e); err != nil {
					t.Errorf("%s: %q does not parse: %v", where, e, err)
				}
				checkMetricNames(t, where, e)
			}
			ids := map[int]string{}
			var boxes []panel
			for _, p := range d.allPanels() {
				where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
				if p.ID <= 0 {
					t.Errorf("%s: no id", where)
				}
				if prev, dup := ids[p.ID]; dup {
					t.Errorf("%s: id %d also used by %q", where, p.ID, prev)
				}
				ids[p.ID] = p.Title
				g := p.GridPos
				if g.W <= 0 || g.H <= 0 || g.X < 0 || g.Y < 0 || g.X+g.W > 24 {
					t.Errorf("%s: gridPos %+v outside the 24-column grid", where, g)
				}
				for _, q := range boxes {
					h := q.GridPos
					if g.X < h.X+h.W && h.X < g.X+g.W && g.Y < h.Y+h.H && h.Y < g.Y+g.H {
						t.Errorf("%s overlaps panel %d %q: %+v and %+v", where, q.ID, q.Title, g, h)
					}
				}
				boxes = append(boxes, p)
				if p.Type == "row" {
					continue
				}
				checkDS(where, p.Datasource)
				checkPanelDoc(t, where, p)
				if len(p.Targets) == 0 {
					t.Errorf("%s: no query", where)
				}
				for _, q := range p.Targets {
					if q.Datasource == nil {
						t.Errorf("%s %s: no datasource: the schema check decodes a query by its datasource's type", where, q.RefID)
					}
					checkDS(where+" "+q.RefID, q.Datasource)
					checkExpr(where+" "+q.RefID, q.Expr)
					checkCounters(t, where+" "+q.RefID, fill(q.Expr, vars))
				}
			}
			for _, v := range d.Templating.List {
				checkDS("variable "+v.Name, v.Datasource)
				if v.Type == "query" {
					checkLabelValues(t, "variable "+v.Name, fill(v.Definition, vars))
				}
			}
			for _, a := range d.Annotations.List {
				if a.BuiltIn == 1 {
					continue
				}
				checkDS("annotation "+a.Name, a.Datasource)
				checkExpr("annotation "+a.Name, a.Expr)
			}
		})
	}
}

var labelValuesRE = regexp.MustCompile(`^label_values\((.*),\s*(\w+)\)$`)

// checkLabelValues parses a variable's label_values(selector, label).
func checkLabelValues(t *testing.T, where, def string) {
	t.Helper()
	m := labelValuesRE.FindStringSubmatch(def)
	if m == nil {
		t.Errorf("%s: %q is not label_values(selector, label)", where, def)
		return
	}
	if _, err := promql.ParseExpr(m[1]); err != nil {
		t.Errorf("%s: selector %q does not parse: %v", where, m[1], err)
	}
	checkMetricNames(t, where, m[1])
}

// promql is Prometheus's own PromQL parser, default options.
var promql = parser.NewParser(parser.Options{})

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
