package runner

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/harness/scenario"
)

func hists(v int64) [4]*hdrhistogram.Histogram {
	var out [4]*hdrhistogram.Histogram
	for i := range out {
		out[i] = newHist()
		out[i].RecordValue(v)
	}
	return out
}

// feed drives outputs through one twin's run as the runner does.
func feed(t *testing.T, outs []output, sum *results.Summary, twin string, secs int) {
	t.Helper()
	ctx := context.Background()
	for _, o := range outs {
		if err := o.start(ctx, runInfo{id: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	zero := time.Unix(1e9, 0)
	for _, o := range outs {
		o.twinStarted(twinStart{name: twin, start: zero})
	}
	end := twinEnd{name: twin, totals: hists(int64(1000 * secs))}
	for s := range secs {
		row := tickRow{sec: s, phase: "steady", ackP99: 1.5, e2eP99: 2.25, depth: int64(s), lagMs: 0.5}
		if s == 1 {
			row.faults = "kill:inventory"
		}
		for _, o := range outs {
			o.tick(tickEvent{twin: twin, at: zero.Add(time.Duration(s+1) * time.Second), iv: hists(1000), row: row, sent: int64(10 * s)})
		}
		end.series = append(end.series, seriesRow{tickRow: row, offered: 10, replies: 9, errors: 1, ended: 9})
	}
	for _, o := range outs {
		if err := o.twinEnded(end); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range outs {
		if err := o.stop(ctx, sum); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFileOutputs(t *testing.T) {
	for _, c := range []struct {
		name  string
		twin  string
		secs  int
		files []string
	}{
		{name: "a twin with seconds", twin: "eda", secs: 3, files: []string{"summary.json", "timeseries.csv",
			"eda.ack.hlog", "eda.ack_uncorrected.hlog", "eda.e2e.hlog", "eda.e2e_uncorrected.hlog",
			"eda.ack.hgrm", "eda.ack_uncorrected.hgrm", "eda.e2e.hgrm", "eda.e2e_uncorrected.hgrm"}},
		{name: "a twin stopped before its first second", twin: "rr", secs: 0, files: []string{"summary.json", "timeseries.csv", "rr.ack.hgrm", "rr.ack.hlog"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			var progress bytes.Buffer
			sum := &results.Summary{SchemaVersion: results.SchemaVersion, RunID: "test", Partial: true, PartialReason: "interrupted",
				Twins: map[string]*results.TwinResult{c.twin: {}}}
			r := &Runner{o: Options{MetricsAddr: "off", Progress: &progress, Scenario: smokeScenario(t)}, dir: dir}
			feed(t, r.newOutputs(), sum, c.twin, c.secs)
			for _, f := range c.files {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("%s not written: %v", f, err)
				}
			}
			got, err := results.ReadSummary(dir)
			if err != nil || !got.Summary.Partial || got.Summary.PartialReason != "interrupted" {
				t.Errorf("summary.json read back %+v, %v; want it marked partial", got, err)
			}
			csv, _ := os.ReadFile(filepath.Join(dir, "timeseries.csv"))
			lines := strings.Split(strings.TrimSuffix(string(csv), "\n"), "\n")
			if lines[0] != strings.Join(results.Columns(), ",") || len(lines) != 1+c.secs {
				t.Fatalf("timeseries.csv:\n%s\nwant the header of results.Columns and %d rows", csv, c.secs)
			}
			if c.secs > 1 && lines[2] != "1,"+c.twin+",steady,10,9,1,0,0,9,0,0.000,1.500,0.000,2.250,1,0.5,kill:inventory" {
				t.Errorf("second row %q", lines[2])
			}
			ts, err := results.ReadTimeseries(dir)
			if err != nil {
				t.Fatal(err)
			}
			if c.secs > 0 && len(ts.Twin(c.twin).T) != c.secs {
				t.Errorf("read back %d rows of %s, want %d", len(ts.Twin(c.twin).T), c.twin, c.secs)
			}
		})
	}
}

func smokeScenario(t *testing.T) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.LoadShipped("smoke")
	if err != nil {
		t.Fatal(err)
	}
	return sc
}
