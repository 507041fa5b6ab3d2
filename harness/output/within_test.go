package output

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/edabench/edabench/harness/launch"
	"github.com/edabench/edabench/harness/record"
	"github.com/edabench/edabench/harness/results"
)

// The within-run intervals reach summary.json for the whole run and each
// phase, and their point is the summary's own percentile: the seconds'
// windows merge to the run's histogram.
func TestWithinFillsTheSummary(t *testing.T) {
	w := NewWithin()
	ctx := context.Background()
	zero := time.Unix(1e9, 0)
	w.TwinStarted(TwinStart{Name: "eda", Start: zero})
	total, phaseTotal := record.NewHistogram(), map[string]*hdrhistogram.Histogram{}
	for s := range 20 {
		phase := "steady"
		if s >= 15 {
			phase = "spike"
		}
		var iv [Series]*hdrhistogram.Histogram
		for i := range iv {
			iv[i] = record.NewHistogram()
		}
		for k := range 100 {
			us := int64(5000 + 37*k + 11*s) // 5 to 9 ms
			if s == 17 && k >= 90 {
				us = 900_000 // a stalled second's tail
			}
			_ = iv[Ack].RecordValue(us)
			_ = iv[E2E].RecordValue(2 * us)
		}
		total.Merge(iv[Ack])
		if phaseTotal[phase] == nil {
			phaseTotal[phase] = record.NewHistogram()
		}
		phaseTotal[phase].Merge(iv[Ack])
		w.Tick(Tick{Twin: "eda", At: zero.Add(time.Duration(s+1) * time.Second), Interval: iv, Row: Row{Sec: s, Phase: phase}})
	}
	if err := w.TwinEnded(TwinEnd{Name: "eda"}); err != nil {
		t.Fatal(err)
	}
	sum := &results.Summary{Twins: map[string]*results.TwinResult{
		"eda": {Phases: map[string]*results.PhaseResult{"steady": {}, "spike": {}}},
		"rr":  {}, // a twin this output never saw keeps nil
	}}
	if err := w.Stop(ctx, sum); err != nil {
		t.Fatal(err)
	}
	eda := sum.Twins["eda"]
	if eda.Within == nil || eda.Within.Ack == nil || eda.Within.E2E == nil {
		t.Fatalf("eda within_run = %+v, want ack and e2e", eda.Within)
	}
	ack := eda.Within.Ack
	want := record.Summarize(total)
	if ack.P99.Median != want.P99 || ack.P50.Median != want.P50 || ack.Windows != 20 || ack.Replicates == 0 || ack.Method == "" {
		t.Fatalf("ack within %+v; want the run's p50 %v and p99 %v over 20 windows", ack, want.P50, want.P99)
	}
	if ack.P99.Lo > ack.P99.Median || ack.P99.Hi < ack.P99.Median || ack.P99.Lo >= ack.P99.Hi {
		t.Fatalf("ack p99 %v: want an interval around the point with a stalled second in the run", ack.P99)
	}
	for ph, h := range phaseTotal {
		got := eda.Phases[ph].Within
		if got == nil || got.Ack.P99.Median != record.Summarize(h).P99 {
			t.Fatalf("phase %s within %+v, want its own p99 %v", ph, got, record.Summarize(h).P99)
		}
	}
	if sum.Twins["rr"].Within != nil {
		t.Fatalf("rr within %+v, want nil", sum.Twins["rr"].Within)
	}
	checkWithinSchema(t, eda.Within)
}

// checkWithinSchema validates what the output wrote against the
// within_run object of docs/results.schema.json.
func checkWithinSchema(t *testing.T, lw *results.LatencyWithin) {
	t.Helper()
	root, err := launch.ModuleRoot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sch, err := jsonschema.NewCompiler().Compile(filepath.Join(root, "docs", "results.schema.json") + "#/$defs/within_run")
	if err != nil {
		t.Fatalf("compile the schema: %v", err)
	}
	b, err := json.Marshal(lw)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Fatalf("within_run %s does not match docs/results.schema.json: %v", b, err)
	}
}
