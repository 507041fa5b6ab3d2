package output

import (
	"context"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/edabench/edabench/harness/hoststat"
	"github.com/edabench/edabench/harness/launch"
	"github.com/edabench/edabench/harness/results"
)

func hists(v int64) [Series]*hdrhistogram.Histogram {
	var out [Series]*hdrhistogram.Histogram
	for i := range out {
		out[i] = hdrhistogram.New(1, 3_600_000_000, 3)
		out[i].RecordValue(v)
	}
	return out
}

// feed drives outputs through one twin's run as the runner does.
func feed(t *testing.T, outs List, sum *results.Summary, twin string, secs int) {
	t.Helper()
	ctx := context.Background()
	if err := outs.Start(ctx, Run{ID: "test"}); err != nil {
		t.Fatal(err)
	}
	zero := time.Unix(1e9, 0)
	outs.TwinStarted(TwinStart{Name: twin, Start: zero})
	end := TwinEnd{Name: twin, Totals: hists(int64(1000 * secs))}
	for s := range secs {
		row := Row{Sec: s, Phase: "steady", AckP99: 1.5, E2EP99: 2.25, Depth: int64(s), LagMs: 0.5}
		if s == 1 {
			row.Faults = "kill:inventory"
			// No PSI on this kernel: pressure unknown, an empty cell.
			row.Host = &hoststat.Sample{StealPct: 12.5, PressurePct: math.NaN(), PressureAvg: math.NaN()}
		}
		outs.Tick(Tick{Twin: twin, At: zero.Add(time.Duration(s+1) * time.Second), Interval: hists(1000), Row: row, Sent: int64(10 * s)})
		end.Series = append(end.Series, SeriesRow{Row: row, Offered: 10, Replies: 9, Errors: 1, Ended: 9})
	}
	if err := outs.TwinEnded(end); err != nil {
		t.Fatal(err)
	}
	if err := outs.Stop(ctx, sum); err != nil {
		t.Fatal(err)
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
			sum := &results.Summary{SchemaVersion: results.SchemaVersion, RunID: "test", Partial: true, PartialReason: "interrupted",
				Twins: map[string]*results.TwinResult{c.twin: {}}}
			feed(t, List{NewSummary(dir), NewTimeseries(dir), NewHistograms(dir)}, sum, c.twin, c.secs)
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
			if c.secs > 1 && lines[2] != "1,"+c.twin+",steady,10,9,1,0,0,9,0,0.000,1.500,0.000,2.250,1,0.5,kill:inventory,12.50,," {
				t.Errorf("second row %q", lines[2])
			}
			ts, err := results.ReadTimeseries(dir)
			if err != nil {
				t.Fatal(err)
			}
			if c.secs > 0 && len(ts.Twin(c.twin).T) != c.secs {
				t.Errorf("read back %d rows of %s, want %d", len(ts.Twin(c.twin).T), c.twin, c.secs)
			}
			if c.secs > 1 {
				// A second without a host reading is unknown, not zero.
				st := ts.Twin(c.twin).Num(results.ColStealPct)
				p := ts.Twin(c.twin).Num(results.ColCPUPressurePct)
				if !math.IsNaN(st[0]) || st[1] != 12.5 || !math.IsNaN(p[1]) {
					t.Errorf("steal read back %v, pressure %v; want [NaN 12.5 ...], NaN at 1", st, p)
				}
			}
		})
	}
}

// The harness's file-SD target is there while the run lasts, with the
// run's labels, and gone after.
func TestFileSDLastsTheRun(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(launch.EnvSDDir, dir)
	f := NewFileSD(func() string { return "127.0.0.1:9999" }, slog.New(slog.DiscardHandler))
	if err := f.Start(context.Background(), Run{Labels: map[string]string{"run": "r1"}}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "harness.json"))
	if err != nil || !strings.Contains(string(b), "127.0.0.1:9999") || !strings.Contains(string(b), `"run": "r1"`) {
		t.Fatalf("harness.json = %s, %v; want the address and the run's label", b, err)
	}
	if err := f.Stop(context.Background(), &results.Summary{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "harness.json")); !os.IsNotExist(err) {
		t.Errorf("harness.json still there after the run: %v", err)
	}
}
