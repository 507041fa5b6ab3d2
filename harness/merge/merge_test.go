package merge

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/edabench/edabench/harness/output"
	"github.com/edabench/edabench/harness/record"
	"github.com/edabench/edabench/harness/results"
)

var testStart = time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)

// fakeShard is one shard's run folder as edabench run writes it, laid out
// by the same outputs: seconds of latencies (µs), counted in summary.json.
type fakeShard struct {
	index, count int
	seed         uint64
	hash         string
	skew         time.Duration // how late this shard's clock cut its seconds
	values       [][]int64     // per second
}

func (f fakeShard) write(t *testing.T, base string) string {
	t.Helper()
	dir := filepath.Join(base, "shard"+string(rune('0'+f.index)))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	outs := output.List{output.NewWithin(), output.NewSummary(dir), output.NewTimeseries(dir), output.NewHistograms(dir)}
	ctx := context.Background()
	if err := outs.Start(ctx, output.Run{Dir: dir, ID: filepath.Base(dir)}); err != nil {
		t.Fatal(err)
	}
	outs.TwinStarted(output.TwinStart{Name: "rr", Start: testStart})
	var totals [output.Series]*hdrhistogram.Histogram
	for i := range totals {
		totals[i] = record.NewHistogram()
	}
	var series []output.SeriesRow
	var sent int64
	for sec, vs := range f.values {
		var iv [output.Series]*hdrhistogram.Histogram
		from := testStart.Add(time.Duration(sec)*time.Second + f.skew)
		for i := range iv {
			iv[i] = record.NewHistogram()
			for _, v := range vs {
				iv[i].RecordValue(v)
			}
			iv[i].SetStartTimeMs(from.UnixMilli())
			iv[i].SetEndTimeMs(from.Add(time.Second).UnixMilli())
			totals[i].Merge(iv[i])
		}
		row := output.Row{Sec: sec, Phase: "steady"}
		outs.Tick(output.Tick{Twin: "rr", At: from.Add(time.Second), Interval: iv, Row: row})
		series = append(series, output.SeriesRow{Row: row, Offered: int64(len(vs)), Replies: int64(len(vs))})
		sent += int64(len(vs))
	}
	if err := outs.TwinEnded(output.TwinEnd{Name: "rr", Totals: totals, Series: series}); err != nil {
		t.Fatal(err)
	}
	counts := results.Counts{Sent: sent, OK: sent}
	sum := &results.Summary{SchemaVersion: results.SchemaVersion, RunID: filepath.Base(dir), StartedAt: testStart, EndedAt: testStart.Add(time.Minute),
		Scenario: map[string]any{"name": "smoke"}, Environment: results.Environment{Hostname: "gen" + string(rune('0'+f.index))},
		Twins: map[string]*results.TwinResult{"rr": {Counts: counts, LoadSeconds: float64(len(f.values)),
			Orders: results.OrderCounts{Accepted: sent, Completed: sent},
			Phases: map[string]*results.PhaseResult{"steady": {Counts: counts, Seconds: float64(len(f.values))}}}},
		Shard: &results.ShardInfo{Index: f.index, Count: f.count, ScenarioHash: f.hash, Seed: f.seed, StartAt: testStart, LoadStartedAt: testStart.Add(f.skew)}}
	if err := outs.Stop(ctx, sum); err != nil {
		t.Fatal(err)
	}
	return dir
}

// shards deals the same latencies to n shards, interleaved as --shard
// deals arrivals, and returns their folders and all values.
func shards(t *testing.T, n int, skew time.Duration) ([]string, *hdrhistogram.Histogram) {
	rng := rand.New(rand.NewPCG(1, 2))
	all := record.NewHistogram()
	fs := make([]fakeShard, n)
	for i := range fs {
		fs[i] = fakeShard{index: i + 1, count: n, seed: 1, hash: "abc", values: make([][]int64, 5)}
		if i == n-1 {
			fs[i].skew = skew
		}
	}
	g := 0
	for sec := range 5 {
		for range 400 {
			v := int64(200 + rng.ExpFloat64()*3000)
			all.RecordValue(v)
			fs[g%n].values[sec] = append(fs[g%n].values[sec], v)
			g++
		}
	}
	base := t.TempDir()
	var dirs []string
	for _, f := range fs {
		dirs = append(dirs, f.write(t, base))
	}
	return dirs, all
}

func TestMergeIsExact(t *testing.T) {
	dirs, all := shards(t, 4, 7*time.Millisecond)
	out := t.TempDir()
	sum, dir, err := Merge(context.Background(), Options{Dirs: dirs, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	rr := sum.Twins["rr"]
	if rr.Sent != all.TotalCount() || rr.OK != rr.Sent || rr.Orders.Accepted != rr.Orders.Completed+rr.Orders.Failed+rr.Orders.Lost {
		t.Errorf("merged counts %+v %+v, want %d sent, balanced", rr.Counts, rr.Orders, all.TotalCount())
	}
	if want := record.Summarize(all); rr.Ack != want || rr.E2E != want {
		t.Errorf("merged ack %+v, want the percentiles of every value %+v", rr.Ack, want)
	}
	if p := rr.Phases["steady"]; p == nil || p.Ack != record.Summarize(all) || p.Sent != all.TotalCount() {
		t.Errorf("merged phase %+v", p)
	}
	if rr.Within == nil {
		t.Error("no within-run intervals from the merged seconds")
	}
	if sum.Partial || len(sum.Merged.Gaps) > 0 || len(sum.Merged.Shards) != 4 {
		t.Errorf("a whole merge reported %+v", sum.Merged)
	}
	// The files read back as a run's: the log's intervals are the seconds,
	// and the summary is the one returned.
	f, err := os.Open(filepath.Join(dir, "rr.ack.hlog"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ivs, err := record.ReadIntervals(f)
	if err != nil || len(ivs) != 5 {
		t.Fatalf("merged log: %d intervals, %v; want 5 (one per second, the shards' joined)", len(ivs), err)
	}
	back, err := results.ReadSummary(filepath.Join(out, "latest"))
	if err != nil || back.Summary.Twins["rr"].Ack != rr.Ack || back.Summary.Merged == nil {
		t.Fatalf("summary read back: %v", err)
	}
	ts, err := results.ReadTimeseries(dir)
	if err != nil {
		t.Fatal(err)
	}
	var offered float64
	for _, v := range ts.Twin("rr").Num(results.ColOffered) {
		offered += v
	}
	if int64(offered) != all.TotalCount() || ts.Twin("rr").Len() != 5 {
		t.Errorf("timeseries: %v offered over %d rows, want %d over 5", offered, ts.Twin("rr").Len(), all.TotalCount())
	}
}

func TestMergeReportsGaps(t *testing.T) {
	dirs, _ := shards(t, 4, 300*time.Millisecond)
	sum, _, err := Merge(context.Background(), Options{Dirs: dirs[:3], Out: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	m := sum.Merged
	if len(m.Missing) != 1 || m.Missing[0] != 4 || !sum.Partial {
		t.Errorf("missing %v, partial %v: want shard 4 missing and the run partial", m.Missing, sum.Partial)
	}
	sum, _, err = Merge(context.Background(), Options{Dirs: dirs, Out: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(sum.Merged.Gaps, ";"), "300 ms apart") {
		t.Errorf("gaps %q: want the 300 ms spread of the load starts", sum.Merged.Gaps)
	}
}

func TestMergeRefuses(t *testing.T) {
	base := t.TempDir()
	ok := fakeShard{index: 1, count: 2, seed: 1, hash: "abc", values: [][]int64{{1000}}}.write(t, base)
	other := func(f fakeShard) string {
		f.values = [][]int64{{2000}}
		return f.write(t, t.TempDir())
	}
	notShard := t.TempDir()
	os.WriteFile(filepath.Join(notShard, "summary.json"), []byte(`{"schema_version":1,"run_id":"x","twins":{}}`), 0o644)
	for name, tc := range map[string]struct {
		dirs []string
		want string
	}{
		"seed":     {[]string{ok, other(fakeShard{index: 2, count: 2, seed: 2, hash: "abc"})}, "seed 2"},
		"scenario": {[]string{ok, other(fakeShard{index: 2, count: 2, seed: 1, hash: "def"})}, "which differ"},
		"count":    {[]string{ok, other(fakeShard{index: 2, count: 3, seed: 1, hash: "abc"})}, "different N"},
		"twice":    {[]string{ok, other(fakeShard{index: 1, count: 2, seed: 1, hash: "abc"})}, "are both shard 1/2"},
		"no shard": {[]string{ok, notShard}, "is not a shard's run"},
		"nothing":  {nil, "no run folder given"},
	} {
		_, _, err := Merge(context.Background(), Options{Dirs: tc.dirs, Out: t.TempDir()})
		if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want ErrInput saying %q", name, err, tc.want)
		}
	}
}

// Logs joins bare interval logs (k6 runners') exactly, too.
func TestLogs(t *testing.T) {
	dirs, all := shards(t, 3, 5*time.Millisecond)
	var paths []string
	for _, d := range dirs {
		paths = append(paths, filepath.Join(d, "rr.ack.hlog"))
	}
	out := filepath.Join(t.TempDir(), "k6.rr.ack.hlog")
	total, err := Logs(paths, out)
	if err != nil {
		t.Fatal(err)
	}
	if record.Summarize(total) != record.Summarize(all) {
		t.Errorf("merged logs %+v, want %+v", record.Summarize(total), record.Summarize(all))
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if ivs, err := record.ReadIntervals(f); err != nil || len(ivs) != 5 {
		t.Errorf("%d merged intervals (%v), want 5", len(ivs), err)
	}
	if _, err := os.Stat(strings.TrimSuffix(out, ".hlog") + ".hgrm"); err != nil {
		t.Error(err)
	}
}
