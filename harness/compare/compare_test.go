package compare

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edabench/edabench/harness/results"
)

// smoke.json and crash.json are trimmed summary.json files of a smoke and
// a failure-crash run.
func summary(t *testing.T, name string) map[string]any {
	t.Helper()
	f, err := results.ReadSummary(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return f.Tree
}

func TestFlatten(t *testing.T) {
	f := Flatten(summary(t, "crash.json"))
	for p, want := range map[string]float64{
		"twins.eda.e2e.p99_ms":         10051.583,
		"twins.rr.errors":              2434,
		"twins.eda.faults.0.backlog":   3820,
		"twins.rr.audit.indeterminate": 2434,
	} {
		if got, ok := f[p]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", p, got, ok, want)
		}
	}
	for p := range f {
		if !strings.HasPrefix(p, "twins.") {
			t.Errorf("%s: only figures under twins are compared", p)
		}
	}
	if _, ok := f["twins.eda.faults.0.fault"]; ok {
		t.Error("a string leaf was flattened")
	}
}

func TestRows(t *testing.T) {
	smoke, crash := summary(t, "smoke.json"), summary(t, "crash.json")
	metrics := func(rows []Row) []string {
		var out []string
		for _, r := range rows {
			out = append(out, r.Metric)
		}
		return out
	}
	tests := []struct {
		name  string
		o     Options
		first []string // the rows must start with these
		not   []string // and lack these
		zeros bool     // some rows were left out as 0 in both
	}{
		{"curated by default, rr first", Options{},
			[]string{"twins.rr.offered_rps", "twins.rr.achieved_rps", "twins.rr.ok", "twins.rr.errors", "twins.rr.ack.p50_ms"},
			[]string{"twins.rr.timeouts", "twins.rr.sent", "twins.eda.faults.0.backlog", "twins.rr.audit.lost"}, true},
		{"all: curated, then the rest", Options{All: true},
			[]string{"twins.rr.offered_rps"},
			[]string{"twins.rr.timeouts"}, true},
		{"filter", Options{Filters: []string{"p99_", "faults.0.backlog"}},
			[]string{"twins.rr.ack.p99_ms", "twins.rr.e2e.p99_ms", "twins.eda.ack.p99_ms", "twins.eda.e2e.p99_ms", "twins.eda.faults.0.backlog"},
			[]string{"twins.rr.ok", "twins.rr.ack.p999_ms", "twins.rr.faults.0.backlog"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, zeros := Rows(smoke, crash, tt.o)
			got := metrics(rows)
			if len(got) < len(tt.first) || !slices.Equal(got[:len(tt.first)], tt.first) {
				t.Fatalf("rows start %q, want %q", got, tt.first)
			}
			for _, n := range tt.not {
				if slices.Contains(got, n) {
					t.Errorf("%s listed", n)
				}
			}
			if (zeros > 0) != tt.zeros {
				t.Errorf("zeros = %d", zeros)
			}
			if len(slices.Compact(slices.Clone(got))) != len(got) {
				t.Errorf("a metric listed twice: %q", got)
			}
		})
	}
	all, _ := Rows(smoke, crash, Options{All: true})
	curated, _ := Rows(smoke, crash, Options{})
	if len(all) <= len(curated) {
		t.Errorf("--all lists %d rows, the default %d", len(all), len(curated))
	}
	for _, r := range all {
		if r.Metric == "twins.eda.faults.0.backlog" && (r.InA || !r.InB || r.B != 3820) {
			t.Errorf("a metric only in B: %+v", r)
		}
	}
}

func TestWrite(t *testing.T) {
	var out bytes.Buffer
	if err := Write(&out, summary(t, "smoke.json"), summary(t, "crash.json"), Options{}); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		"20261126-090641-rr-eda-smoke", "20261126-090721-rr-eda-failure-crash",
		"scenario", "smoke", "failure-crash", "2026-11-26T09:06:41Z", "partial",
		"backbone    rabbitmq", "rr, eda@rabbitmq",
		"twins.rr.errors", "2434",
		"twins.eda.e2e.p99_ms", "99.007", "10051.583", "+9952.576 (+10052.4%)",
		"0 in both runs not shown",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	// The errors went from 0: no percent of 0.
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "twins.rr.errors ") && (!strings.HasSuffix(strings.TrimSpace(line), "+2434") || strings.Contains(line, "%")) {
			t.Errorf("errors row: %q", line)
		}
	}
}

func TestChange(t *testing.T) {
	tests := []struct {
		r    Row
		want string
	}{
		{Row{A: 100, B: 115, InA: true, InB: true}, "+15 (+15.0%)"},
		{Row{A: 29.519, B: 22.191, InA: true, InB: true}, "-7.328 (-24.8%)"},
		{Row{A: 5, B: 5, InA: true, InB: true}, "0"},
		{Row{A: 0, B: 3, InA: true, InB: true}, "+3"},
		{Row{B: 3, InB: true}, ""},
	}
	for _, tt := range tests {
		if got := change(tt.r); got != tt.want {
			t.Errorf("change(%+v) = %q, want %q", tt.r, got, tt.want)
		}
	}
}

// Runs on two backbones: each side names its backbone, and each broker
// twin carries it.
func TestInfoNamesTheBackbone(t *testing.T) {
	a := map[string]any{"twins": map[string]any{"rr": map[string]any{}, "eda": map[string]any{}, "hybrid": map[string]any{}},
		"environment": map[string]any{"broker": map[string]any{"name": "kafka", "version": "4.4.0"}}}
	b := map[string]any{"twins": map[string]any{"rr": map[string]any{}}, "environment": map[string]any{"rabbitmq": "3.10.8"}}
	for _, tt := range []struct {
		s               map[string]any
		backbone, twins string
	}{
		{a, "kafka", "rr, eda@kafka, hybrid@kafka"},
		{b, "- (RR only)", "rr"},
	} {
		info := map[string]string{}
		for _, kv := range Info(tt.s) {
			info[kv[0]] = kv[1]
		}
		if info["backbone"] != tt.backbone || info["twins"] != tt.twins {
			t.Errorf("backbone %q twins %q, want %q %q", info["backbone"], info["twins"], tt.backbone, tt.twins)
		}
	}
}
