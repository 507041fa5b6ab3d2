package merge_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/launch"
	"github.com/edabench/edabench/harness/output"
	"github.com/edabench/edabench/harness/record"
	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/harness/scenario"
	"github.com/edabench/edabench/harness/stats"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// shardScenario is the smoke scenario cut to 10 s at 200 orders/s:
// Poisson arrivals, so that the shards' slices are irregular and only the
// exact interleaving gives back the single generator's schedule.
const shardScenario = `name: smoke
description: the sharding acceptance test's cut of smoke
stages:
  - {name: steady, duration: 10s, rate: 200}
arrival: poisson
topology: chain
slo: {p99: 2s, max_error_rate: 0.01}
seed: 1
`

// TestShardedRunMergesToTheSingleRun is issue 22's acceptance: one
// scenario run by one generator (twice, for the spread) and by four
// generator processes sharing its schedule, all against one RR twin; the
// merged run sends exactly the single run's schedule, and its p50, p99
// and p99.9 sit within the two single runs' spread of them.
func TestShardedRunMergesToTheSingleRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds edabench and runs six load processes against a twin; the -short tier runs none: run without -short (make test)")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	work := t.TempDir()
	bin := buildEdabench(ctx, t, work)
	gw := startRRTwin(ctx, t, bin, work)
	scFile := filepath.Join(work, "smoke-cut.yaml")
	if err := os.WriteFile(scFile, []byte(shardScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	want := scheduleLen(t, scFile)

	// One single run before the shards and one after, so that a machine
	// whose load drifts (a shared one) weighs on both sides alike.
	var singles []*results.TwinResult
	single := func(i int) {
		out := filepath.Join(work, "single"+strconv.Itoa(i))
		edabench(ctx, t, bin, "run", "--twin", "rr", "--target", gw, "--scenario", scFile, "--out", out, "--metrics-addr", "off")
		singles = append(singles, readRR(t, filepath.Join(out, "latest")))
	}
	single(1)

	// The shards' shared zero leaves them time to start and check the twin.
	start := strconv.FormatInt(time.Now().Add(6*time.Second).UnixMilli(), 10)
	var wg sync.WaitGroup
	dirs := make([]string, 4)
	for i := range 4 {
		dirs[i] = filepath.Join(work, "shard"+strconv.Itoa(i+1))
		wg.Go(func() {
			edabench(ctx, t, bin, "run", "--twin", "rr", "--target", gw, "--scenario", scFile, "--out", dirs[i], "--metrics-addr", "off",
				"--shard", fmt.Sprintf("%d/4", i+1), "--start-at", start)
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	single(2)
	var latest []string
	for _, d := range dirs {
		latest = append(latest, filepath.Join(d, "latest"))
	}
	merged := filepath.Join(work, "merged")
	edabench(ctx, t, bin, append(append([]string{"merge"}, latest...), "--out", merged)...)
	m := readRR(t, filepath.Join(merged, "latest"))
	checkSchema(ctx, t, filepath.Join(merged, "latest"))
	checkSchema(ctx, t, latest[0])

	for i, s := range singles {
		if s.Sent != want {
			t.Errorf("single run %d sent %d, want the schedule's %d", i+1, s.Sent, want)
		}
	}
	if m.Sent != want {
		t.Errorf("the merged run sent %d, want the single run's schedule exactly: %d", m.Sent, want)
	}
	if m.Sent != m.OK+m.Rejected+m.Errors+m.Timeouts+m.Dropped || m.Orders.Accepted != m.Orders.Completed+m.Orders.Failed+m.Orders.Lost {
		t.Errorf("the merged counts do not balance: %+v %+v", m.Counts, m.Orders)
	}
	// Each run's own spread: a 95% block-bootstrap interval of each
	// percentile over its seconds (stats.WithinRun, as the verdict uses),
	// from its .hlog. Without it a p50 that reads alike twice by chance, or
	// a p99.9 (the 2nd-highest of 2,000 values) on a loaded machine, would
	// call any other reading a disagreement.
	singleDirs := []string{filepath.Join(work, "single1", "latest"), filepath.Join(work, "single2", "latest")}
	pcts := []float64{50, 99, 99.9}
	singleIv := [][]stats.Interval{withinAck(t, singleDirs[0], pcts), withinAck(t, singleDirs[1], pcts)}
	mergedIv := withinAck(t, filepath.Join(merged, "latest"), pcts)
	for i, q := range []struct {
		name string
		get  func(*results.TwinResult) float64
	}{
		{"p50", func(r *results.TwinResult) float64 { return r.Ack.P50 }},
		{"p99", func(r *results.TwinResult) float64 { return r.Ack.P99 }},
		{"p99.9", func(r *results.TwinResult) float64 { return r.Ack.P999 }},
	} {
		a, b, got := q.get(singles[0]), q.get(singles[1]), q.get(m)
		lo, hi := math.Min(a, b), math.Max(a, b)
		spread := hi - lo
		for _, ivs := range singleIv {
			if iv := ivs[i]; iv.Valid() {
				lo, hi = math.Min(lo, iv.Lo), math.Max(hi, iv.Hi)
			}
		}
		gotLo, gotHi := got, got
		if iv := mergedIv[i]; iv.Valid() {
			gotLo, gotHi = math.Min(got, iv.Lo), math.Max(got, iv.Hi)
		}
		t.Logf("ack %s: single runs %.2f and %.2f ms (with their intervals %.2f..%.2f), merged %.2f ms (%.2f..%.2f)", q.name, a, b, lo, hi, got, gotLo, gotHi)
		if gotHi < lo-spread || gotLo > hi+spread {
			t.Errorf("merged ack %s %.2f ms (%.2f..%.2f) is outside the single runs' %.2f..%.2f ms widened by their spread %.2f ms", q.name, got, gotLo, gotHi, lo, hi, spread)
		}
	}
	checkReaders(ctx, t, bin, work, merged, want)
}

// checkReaders: gate and verdict read the merged run like any other.
func checkReaders(ctx context.Context, t *testing.T, bin, work, merged string, want int64) {
	gate := filepath.Join(work, "gate.yaml")
	body := fmt.Sprintf("checks:\n  - metric: twins.rr.sent\n    op: \"==\"\n    value: %d\n  - metric: twins.rr.ack.p99_ms\n    op: \">\"\n    value: 0\n", want)
	if err := os.WriteFile(gate, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	edabench(ctx, t, bin, "gate", "--file", gate, filepath.Join(merged, "latest"))
	out := edabench(ctx, t, bin, "verdict", "--out", filepath.Join(work, "verdict"), filepath.Join(merged, "latest"))
	if !strings.Contains(out, "1 runs read, 1 used") {
		t.Errorf("verdict did not use the merged run:\n%s", out)
	}
}

func buildEdabench(ctx context.Context, t *testing.T, dir string) string {
	t.Helper()
	root, err := launch.ModuleRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "edabench")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./harness/cmd/edabench")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./harness/cmd/edabench: %v\n%s", err, b)
	}
	return bin
}

// startRRTwin runs the whole RR twin in one process on a free loopback
// port and returns its gateway once it says it is ready.
func startRRTwin(ctx context.Context, t *testing.T, bin, dir string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, "serve", "--twin", "rr", "--service", "all", "--listen", "127.0.0.1:0", "--log-level", "error")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "EDABENCH_READY "); ok {
			var ready struct{ GRPC string }
			if err := json.Unmarshal([]byte(rest), &ready); err != nil || ready.GRPC == "" {
				t.Fatalf("the twin's ready line %q: %v", rest, err)
			}
			go func() {
				for sc.Scan() {
				}
			}()
			return ready.GRPC
		}
	}
	t.Fatalf("the RR twin exited before it was ready: %v", sc.Err())
	return ""
}

// edabench runs bin with args and fails the test on a non-zero exit.
func edabench(ctx context.Context, t *testing.T, bin string, args ...string) string {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Errorf("edabench %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func scheduleLen(t *testing.T, file string) int64 {
	t.Helper()
	sc, err := scenario.Resolve(file)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sc.Schedule(sc.Seed)
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, _, ok := s.Next(); !ok {
			return s.Yielded()
		}
	}
}

func readRR(t *testing.T, dir string) *results.TwinResult {
	t.Helper()
	sf, err := results.ReadSummary(dir)
	if err != nil {
		t.Fatal(err)
	}
	rr := sf.Summary.Twins["rr"]
	if rr == nil {
		t.Fatalf("%s has no rr twin", dir)
	}
	return rr
}

// checkSchema validates a run's summary.json (a shard's, the merged one's)
// against docs/results.schema.json.
func checkSchema(ctx context.Context, t *testing.T, dir string) {
	t.Helper()
	root, err := launch.ModuleRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sch, err := jsonschema.NewCompiler().Compile(filepath.Join(root, "docs", "results.schema.json"))
	if err != nil {
		t.Fatalf("compile the schema: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Errorf("%s/summary.json does not match docs/results.schema.json: %v", dir, err)
	}
}

// withinAck is a run's within-run interval of each ack percentile, over
// the seconds of its rr.ack.hlog.
func withinAck(t *testing.T, dir string, pcts []float64) []stats.Interval {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "rr.ack.hlog"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ivs, err := record.ReadIntervals(f)
	if err != nil {
		t.Fatal(err)
	}
	var ws []stats.Window
	for _, h := range ivs {
		ws = append(ws, output.Window(h))
	}
	return stats.WithinRun(ws, pcts...)
}
