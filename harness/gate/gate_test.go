package gate

import (
	"bytes"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edabench/edabench/harness/results"
)

// The fixtures are trimmed summary.json files of real runs: smoke.json and
// crash.json (failure-crash) as measured; slower.json is smoke.json with the
// RR ack p99 30% worse, the EDA e2e p99 20% better and the EDA achieved rate
// down to 80/s; partial.json is smoke.json marked interrupted.
func summary(t *testing.T, name string) map[string]any {
	t.Helper()
	f, err := results.ReadSummary(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return f.Tree
}

func TestEvaluate(t *testing.T) {
	smoke, slower, crash := summary(t, "smoke.json"), summary(t, "slower.json"), summary(t, "crash.json")
	tests := []struct {
		name     string
		gate     string
		run      map[string]any
		baseline map[string]any
		pass     bool
		text     string // the value column
		msg      string // in the failure message
	}{
		{"absolute limit holds", "metric: twins.eda.e2e.p99_ms\n    op: \"<\"\n    value: 500", smoke, nil, true, "99.007", ""},
		{"absolute limit broken", "metric: twins.eda.e2e.p99_ms\n    op: \"<\"\n    value: 50", smoke, nil, false, "99.007", "twins.eda.e2e.p99_ms is 99.007, want < 50"},
		{"equality holds", "metric: twins.eda.audit.lost\n    op: \"==\"\n    value: 0", smoke, nil, true, "0", ""},
		{"equality broken", "metric: twins.rr.errors\n    op: \"==\"\n    value: 0", crash, nil, false, "2434", "twins.rr.errors is 2434, want == 0"},
		{"boundary of <=", "metric: twins.rr.sent\n    op: \"<=\"\n    value: 990", smoke, nil, true, "990", ""},
		{"boundary of <", "metric: twins.rr.sent\n    op: \"<\"\n    value: 990", smoke, nil, false, "990", "want < 990"},
		{"greater or equal", "metric: twins.eda.achieved_rps\n    op: \">=\"\n    value: 90", smoke, nil, true, "98.628", ""},
		{"array index", "metric: twins.eda.faults.0.backlog\n    op: \">\"\n    value: 0", crash, nil, true, "3820", ""},
		{"regression within limit", "metric: twins.rr.ack.p99_ms\n    max_regression: 50%", slower, smoke, true, "38.375 (+30.0%)", ""},
		{"regression over limit", "metric: twins.rr.ack.p99_ms\n    max_regression: 15%", slower, smoke, false, "38.375 (+30.0%)",
			"twins.rr.ack.p99_ms is 30.0% worse than the baseline (38.375 vs 29.519); at most 15% allowed"},
		{"improvement passes", "metric: twins.eda.e2e.p99_ms\n    max_regression: 0%", slower, smoke, true, "79.206 (-20.0%)", ""},
		{"unchanged passes a 0% limit", "metric: twins.eda.ack.p99_ms\n    max_regression: 0%", slower, smoke, true, "51.679 (+0.0%)", ""},
		{"higher is better: a drop fails", "metric: twins.eda.achieved_rps\n    max_regression: 10%\n    better: higher", slower, smoke, false, "80 (-18.9%)", "18.9% worse than the baseline (80 vs 98.628); at most 10% allowed"},
		{"higher is better: a rise passes", "metric: twins.eda.achieved_rps\n    max_regression: 0%\n    better: higher", smoke, slower, true, "98.628 (+23.3%)", ""},
		{"from a zero baseline", "metric: twins.rr.errors\n    max_regression: 50%", crash, smoke, false, "2434 (baseline 0)", "any change away from 0 is a regression"},
		{"zero stays zero", "metric: twins.rr.errors\n    max_regression: 0%", slower, smoke, true, "0 (+0.0%)", ""},
		{"missing key: names it and the keys there", "metric: twins.eda.audit.lsot\n    op: \"==\"\n    value: 0", smoke, nil, false, "-",
			`twins.eda.audit.lsot not found: twins.eda.audit has no key "lsot" (did you mean "lost"?); keys there: accepted, completed,`},
		{"missing twin", "metric: twins.kafka.e2e.p99_ms\n    op: \"<\"\n    value: 1", smoke, nil, false, "-", `twins has no key "kafka"; keys there: eda, rr`},
		{"missing at the top", "metric: twin.eda.e2e.p99_ms\n    op: \"<\"\n    value: 1", smoke, nil, false, "-", `summary.json has no key "twin" (did you mean "twins"?)`},
		{"knee absent from a smoke run", "metric: twins.eda.knee.rps\n    op: \">\"\n    value: 1", smoke, nil, false, "-", `twins.eda has no key "knee"`},
		{"index out of range", "metric: twins.eda.faults.3.errors\n    op: \"==\"\n    value: 0", crash, nil, false, "-", "twins.eda.faults is a list; want an index from 0 to 0"},
		{"an object is not a number", "metric: twins.eda.e2e\n    op: \"<\"\n    value: 1", smoke, nil, false, "-", "twins.eda.e2e is an object, not a number; pick one of its keys: count, max_ms,"},
		{"below a number", "metric: twins.eda.e2e.p99_ms.x\n    op: \"<\"\n    value: 1", smoke, nil, false, "-", "twins.eda.e2e.p99_ms is a number, it has no key"},
		{"missing in the baseline", "metric: twins.eda.faults.0.backlog\n    max_regression: 10%", crash, smoke, false, "3820", `baseline: twins.eda.faults.0.backlog not found: twins.eda has no key "faults"`},
		{"regression without a baseline", "metric: twins.rr.ack.p99_ms\n    max_regression: 10%", smoke, nil, false, "29.519", "pass --baseline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte("checks:\n  - " + tt.gate + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			rs := f.Evaluate(tt.run, tt.baseline)
			if len(rs) != 1 {
				t.Fatalf("%d results, want 1", len(rs))
			}
			r := rs[0]
			if r.Passed != tt.pass || r.Text != tt.text || !strings.Contains(r.Message, tt.msg) || (tt.pass && r.Message != "") {
				t.Fatalf("got passed=%v text=%q message=%q\nwant passed=%v text=%q message containing %q", r.Passed, r.Text, r.Message, tt.pass, tt.text, tt.msg)
			}
		})
	}
}

func TestComplete(t *testing.T) {
	if r := Complete(summary(t, "smoke.json")); !r.Passed {
		t.Fatalf("a finished run: %+v", r)
	}
	r := Complete(summary(t, "partial.json"))
	if r.Passed || !strings.HasPrefix(r.Message, "run is partial: interrupted") {
		t.Fatalf("a partial run: passed=%v message=%q", r.Passed, r.Message)
	}
}

func TestParseRejectsBadFiles(t *testing.T) {
	tests := []struct {
		name, file, want string
	}{
		{"empty", "", "empty file"},
		{"not YAML", "checks: [", "not valid YAML"},
		{"not a mapping", "- metric: a\n", "line 1: want a mapping with a checks list"},
		{"unknown top-level key", "check:\n  - metric: a\n", `line 1: unknown key "check"; the only top-level key is checks`},
		{"no checks", "checks: []\n", "checks must be a non-empty list"},
		{"unknown key in a check", "checks:\n  - metric: a\n    op: \"<\"\n    value: 1\n  - metric: b\n    op: \"<\"\n    valeu: 1\n", `check 2 (line 5): line 7: unknown key "valeu"; allowed: metric, op, value, max_regression, better`},
		{"missing metric", "checks:\n  - op: \"<\"\n    value: 1\n", "check 1 (line 2): metric missing: add metric:"},
		{"bad op", "checks:\n  - metric: a\n    op: \"=\"\n    value: 1\n", `check 1 (line 2): line 3: op "=": want one of < <= == >= >`},
		{"op without value", "checks:\n  - metric: a\n    op: \"<\"\n", "line 3: op without value: add value"},
		{"value without op", "checks:\n  - metric: a\n    value: 1\n", "value without op: add op"},
		{"neither value nor max_regression", "checks:\n  - metric: a\n", "check 1 (line 2): neither value nor max_regression: add op and value"},
		{"both kinds", "checks:\n  - metric: a\n    op: \"<\"\n    value: 1\n    max_regression: 5%\n", "has both op/value and max_regression; split it"},
		{"value not a number", "checks:\n  - metric: a\n    op: \"<\"\n    value: fast\n", `line 4: value "fast": want a number`},
		{"percent without %", "checks:\n  - metric: a\n    max_regression: 15\n", `line 3: max_regression "15": want a percentage with a % sign, e.g. 15%`},
		{"percent not a number", "checks:\n  - metric: a\n    max_regression: lots%\n", `max_regression "lots%": want a number before the %`},
		{"negative percent", "checks:\n  - metric: a\n    max_regression: -5%\n", "must not be negative"},
		{"bad direction", "checks:\n  - metric: a\n    max_regression: 5%\n    better: faster\n", `line 4: better "faster": want lower or higher`},
		{"direction on an absolute check", "checks:\n  - metric: a\n    op: \"<\"\n    value: 1\n    better: higher\n", "better only applies to max_regression"},
		{"metric with a space", "checks:\n  - metric: twins.eda e2e\n    op: \"<\"\n    value: 1\n", "want dot-separated keys without spaces"},
		{"duplicate key", "checks:\n  - metric: a\n    metric: b\n    op: \"<\"\n    value: 1\n", "metric given twice"},
		{"two documents", "checks:\n  - metric: a\n    op: \"<\"\n    value: 1\n---\nchecks: []\n", "more than one YAML document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.file))
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse error = %v\nwant ErrInvalid containing %q", err, tt.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	f, err := Parse([]byte(`checks:
  - metric: twins.eda.e2e.p99_ms   # a comment
    op: "<"
    value: 500
  - metric: twins.eda.knee.rps
    max_regression: 12.5%
    better: higher
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Check{
		{Metric: "twins.eda.e2e.p99_ms", Op: Less, Value: 500, Better: Lower, Line: 2},
		{Metric: "twins.eda.knee.rps", MaxRegression: 0.125, Regression: true, Better: Higher, Line: 5},
	}
	if len(f.Checks) != len(want) {
		t.Fatalf("checks = %+v", f.Checks)
	}
	for i := range want {
		if f.Checks[i] != want[i] {
			t.Errorf("check %d = %+v, want %+v", i, f.Checks[i], want[i])
		}
	}
	if !f.NeedsBaseline() {
		t.Error("NeedsBaseline = false with a max_regression check")
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "g.yaml")
	os.WriteFile(p, []byte("checks:\n  - metric: a\n"), 0o644)
	if _, err := Load(p); err == nil || !strings.HasPrefix(err.Error(), p+": ") {
		t.Fatalf("Load error = %v, want it to start with the path", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none.yaml")); !errors.Is(err, ErrInvalid) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Load of a missing file = %v", err)
	}
}

func TestReports(t *testing.T) {
	f, err := Parse([]byte(`checks:
  - metric: twins.rr.ack.p99_ms
    op: "<"
    value: 100
  - metric: twins.rr.errors
    op: "=="
    value: 0
`))
	if err != nil {
		t.Fatal(err)
	}
	crash := summary(t, "crash.json")
	rs := append([]Result{Complete(crash)}, f.Evaluate(crash, nil)...)

	var table bytes.Buffer
	if err := WriteTable(&table, rs); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"check", "partial", "== false", "twins.rr.ack.p99_ms", "< 100", "PASS",
		"twins.rr.errors", "2434", "== 0", "FAIL",
		"FAIL twins.rr.errors is 2434, want == 0",
		"3 checks, 1 failed",
	} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}

	var x bytes.Buffer
	if err := WriteJUnit(&x, rs, map[string]string{"run": "results/ci/latest"}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Props    []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"properties>property"`
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(x.Bytes(), &doc); err != nil {
		t.Fatalf("JUnit output does not parse: %v\n%s", err, x.String())
	}
	if len(doc.Suites) != 1 {
		t.Fatalf("suites: %+v", doc.Suites)
	}
	s := doc.Suites[0]
	if s.Name != "edabench gate" || s.Tests != 3 || s.Failures != 1 || len(s.Cases) != 3 || len(s.Props) != 1 || s.Props[0].Value != "results/ci/latest" {
		t.Fatalf("suite: %+v\n%s", s, x.String())
	}
	if s.Cases[1].Name != "twins.rr.ack.p99_ms < 100" || s.Cases[1].Failure != nil {
		t.Errorf("case 1: %+v", s.Cases[1])
	}
	if s.Cases[2].Failure == nil || s.Cases[2].Failure.Message != "twins.rr.errors is 2434, want == 0" {
		t.Errorf("case 2: %+v", s.Cases[2])
	}
}
