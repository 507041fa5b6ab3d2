package executor

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/load"
	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/harness/scenario"
)

// fakeSpec is a search whose steps are short enough for a unit test: the
// step sequence, not the timing, is under test.
func fakeSpec() *scenario.SearchSpec {
	return &scenario.SearchSpec{Start: 50, Factor: 2, MaxRate: 6400, Precision: 0.10, MinRequests: 1,
		MinStep: 10 * time.Millisecond, MaxStep: 10 * time.Millisecond, MaxSteps: 20, MaxDuration: time.Minute,
		AckP99: 250 * time.Millisecond, E2EP99: time.Second, MaxErrorRate: 0.01}
}

// twinBreakingAbove holds the ack SLO up to ack req/s and the completion
// SLO up to done req/s, and breaks each above.
func twinBreakingAbove(ack, done float64) func(context.Context, load.Stage) StepMeasure {
	return func(_ context.Context, st load.Stage) StepMeasure {
		m := StepMeasure{Sent: 100, Accepted: 100, AckP99: 5 * time.Millisecond, E2EP99: 20 * time.Millisecond}
		if st.To > ack {
			m.AckP99 = time.Second
		}
		if st.To > done {
			m.E2EP99 = 3 * time.Second
		}
		return m
	}
}

func runSearch(t *testing.T, sp *scenario.SearchSpec, measure func(context.Context, load.Stage) StepMeasure, backlog func() (int64, bool)) (*results.Knee, *recorder) {
	t.Helper()
	rec := &recorder{}
	p := newPlan((&scenario.Scenario{Search: sp}).LoadStages(), rec, nil)
	p.Search, p.Measure, p.Backlog = sp, measure, backlog
	out, err := Search{}.Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	// Every request accounted for, each under its own number.
	if got := out.Stats.Sent + out.Stats.Dropped; got != int64(len(rec.seqs)) || got == 0 {
		t.Errorf("sent+dropped %d, handled %d distinct", got, len(rec.seqs))
	}
	for seq, n := range rec.seqs {
		if n != 1 {
			t.Errorf("request %d handled %d times", seq, n)
		}
	}
	if len(out.Knee.Steps) != len(rec.phases) || len(rec.phases) > sp.MaxSteps {
		t.Errorf("%d steps recorded, %d phases begun, max_steps %d", len(out.Knee.Steps), len(rec.phases), sp.MaxSteps)
	}
	return out.Knee, rec
}

// brackets checks that a knee's bracket holds x and is within precision.
func brackets(t *testing.T, what string, k *results.Knee, x float64) {
	t.Helper()
	if !(k.RPS <= x && x < k.BrokenAt) || !k.Bracketed() || !k.Reached {
		t.Errorf("%s knee [%g, %g] (%s), want a bracket of %g within 10%%", what, k.RPS, k.BrokenAt, k.Reason, x)
	}
}

func TestSearchBracketsTheKnees(t *testing.T) {
	for _, c := range []struct {
		name      string
		ack, done float64
		maxSteps  int // the bound the search must stay within
	}{
		{name: "EDA-like: completes below what it accepts", ack: 730, done: 410, maxSteps: 17},
		{name: "RR-like: one knee", ack: 3000, done: 3000, maxSteps: 13},
		{name: "knee just above the start", ack: 55, done: 55, maxSteps: 6},
		{name: "knee just below the ceiling", ack: 6300, done: 6300, maxSteps: 12},
		{name: "knee on a growth step", ack: 800, done: 800, maxSteps: 13},
	} {
		t.Run(c.name, func(t *testing.T) {
			k, _ := runSearch(t, fakeSpec(), twinBreakingAbove(c.ack, c.done), nil)
			brackets(t, "ack", k, c.ack)
			brackets(t, "completion", k.Completion, c.done)
			if len(k.Steps) > c.maxSteps {
				t.Errorf("%d steps, want at most %d: %+v", len(k.Steps), c.maxSteps, k.Steps)
			}
			if k.Method != "search" || k.Completion.Method != "search" {
				t.Errorf("method %q/%q, want search", k.Method, k.Completion.Method)
			}
		})
	}
}

func TestSearchEnds(t *testing.T) {
	t.Run("a twin that never breaks stops at max_rate", func(t *testing.T) {
		k, _ := runSearch(t, fakeSpec(), twinBreakingAbove(1e9, 1e9), nil)
		if k.Reached || k.RPS != 6400 || k.BrokenAt != 0 || len(k.Steps) != 8 {
			t.Errorf("knee %+v after %d steps, want held at 6400/s after 8 growth steps", k, len(k.Steps))
		}
		if !strings.Contains(k.Reason, "above it") {
			t.Errorf("reason %q", k.Reason)
		}
	})
	t.Run("a twin broken at the start is below the first step", func(t *testing.T) {
		k, _ := runSearch(t, fakeSpec(), twinBreakingAbove(10, 10), nil)
		if !k.Reached || k.RPS != 0 || k.BrokenAt != 50 || len(k.Steps) != 2 || !strings.Contains(k.Reason, "below the first step") {
			t.Errorf("knee %+v after %d steps, want broken at the first step, twice", k, len(k.Steps))
		}
	})
	t.Run("max_steps cuts the bisection and says so", func(t *testing.T) {
		sp := fakeSpec()
		sp.MaxSteps = 6
		k, _ := runSearch(t, sp, twinBreakingAbove(730, 730), nil)
		if len(k.Steps) != 6 || k.Bracketed() || !strings.Contains(k.Reason, "max_steps (6) reached") || !(k.RPS <= 730 && 730 < k.BrokenAt) {
			t.Errorf("knee %+v after %d steps, want a wide bracket of 730 cut at 6 steps", k, len(k.Steps))
		}
	})
	t.Run("a step that does not fit in max_duration is not started", func(t *testing.T) {
		sp := fakeSpec()
		sp.Settle, sp.MaxDuration = time.Hour, 30*time.Minute
		p := newPlan((&scenario.Scenario{Search: sp}).LoadStages(), &recorder{}, nil)
		p.Search, p.Measure = sp, twinBreakingAbove(1e9, 1e9)
		out, err := Search{}.Run(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		if k := out.Knee; len(k.Steps) != 0 || out.Stats.Sent != 0 || !strings.Contains(k.Reason, "max_duration (30m0s) reached") {
			t.Errorf("knee %+v, sent %d: want no step, stopped by max_duration", k, out.Stats.Sent)
		}
	})
	t.Run("a stall below the knee does not pin it", func(t *testing.T) {
		twin := twinBreakingAbove(730, 730)
		stalled := false
		k, _ := runSearch(t, fakeSpec(), func(ctx context.Context, st load.Stage) StepMeasure {
			m := twin(ctx, st)
			if st.To == 100 && !stalled { // the host took the CPU for this step
				stalled = true
				m.AckP99, m.E2EP99 = 2*time.Second, 2*time.Second
			}
			return m
		}, nil)
		brackets(t, "ack", k, 730)
		brackets(t, "completion", k.Completion, 730)
		if k.Steps[1].RPS != 100 || k.Steps[1].AckHeld {
			t.Errorf("step 2 %+v, want the stall kept in the steps", k.Steps[1])
		}
	})
	t.Run("errors break both SLOs", func(t *testing.T) {
		k, _ := runSearch(t, fakeSpec(), func(_ context.Context, st load.Stage) StepMeasure {
			m := StepMeasure{Sent: 100, Accepted: 100}
			if st.To > 300 {
				m.Failed = 5
			}
			return m
		}, nil)
		brackets(t, "ack", k, 300)
		brackets(t, "completion", k.Completion, 300)
	})
}

// A backlog that grows breaks the completion SLO alone: the acks hold.
func TestSearchBacklogGrowth(t *testing.T) {
	var depth atomic.Int64
	sp := fakeSpec()
	sp.E2EP99 = time.Millisecond // rate × 1 ms: one message of growth allowed up to 1,000/s
	sp.MinStep, sp.MaxStep = 40*time.Millisecond, 40*time.Millisecond
	measure := func(_ context.Context, st load.Stage) StepMeasure {
		return StepMeasure{Sent: 100, Accepted: 100}
	}
	rec := &recorder{}
	p := newPlan((&scenario.Scenario{Search: sp}).LoadStages(), rec, nil)
	handle := p.Handle
	// Every request leaves messages nobody consumes.
	p.Handle = func(w int, r load.Result) { depth.Add(100); handle(w, r) }
	p.Search, p.Measure = sp, measure
	p.Backlog = func() (int64, bool) { return depth.Load(), true }
	out, err := Search{}.Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	k := out.Knee
	if k.Reached || k.Completion.RPS != 0 || k.Completion.BrokenAt != 50 || !strings.Contains(k.Completion.Reason, "backlog grew") {
		t.Errorf("knee %+v, completion %+v: want acks unbroken, completion broken at the start by the backlog", k, k.Completion)
	}
	if k.Steps[0].BacklogGrowth <= 0 {
		t.Errorf("first step %+v, want its backlog growth", k.Steps[0])
	}
}

func TestSearchNeedsItsSettings(t *testing.T) {
	if _, err := (Search{}).Run(context.Background(), Plan{}); err == nil {
		t.Error("a search without settings ran")
	}
}

// recording is a real search's steps (testdata), replayed as the twin.
type recording struct {
	Recorded string             `json:"recorded"`
	Knee     results.Knee       `json:"knee"`
	Steps    []results.KneeStep `json:"steps"`
}

// TestSearchReplaysARecordedSequence replays a real RR search, noisy
// machine and all (it broke at 200/s and held at 1,037/s), with the
// recorded settings: the search must take the same steps and reach the
// same brackets, so the sequence is a function of the judgments alone.
func TestSearchReplaysARecordedSequence(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "search-rr-2026-12-05.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec recording
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	byRate := map[float64]results.KneeStep{}
	for _, st := range rec.Steps {
		byRate[st.RPS] = st
	}
	sp := fakeSpec()
	sp.MaxSteps = 14
	var asked []float64
	k, _ := runSearch(t, sp, func(_ context.Context, st load.Stage) StepMeasure {
		asked = append(asked, st.To)
		r, ok := byRate[st.To]
		if !ok {
			t.Errorf("step at %g/s was not recorded", st.To)
		}
		ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
		return StepMeasure{Sent: r.Sent, Failed: failedOf(r), AckP99: ms(r.AckP99Ms), E2EP99: ms(r.E2EP99Ms)}
	}, nil)
	// The recording predates the confirmation of the break that ends the
	// growth: 1,600/s is run twice.
	var want []float64
	for i, st := range rec.Steps {
		want = append(want, st.RPS)
		if i == 5 {
			want = append(want, st.RPS)
		}
	}
	if !slices.Equal(asked, want) {
		t.Errorf("steps %v, want %v", asked, want)
	}
	// The recording's ack knee, [118.92, 129.68], kept the first break; read
	// from the same judgments, a twin that held 1,037/s has that capacity,
	// and its breaks at 141-800/s were the machine's stalls.
	if k.RPS != 1037.47 || k.BrokenAt != 1131.37 || k.Completion.RPS != rec.Knee.Completion.RPS || k.Completion.BrokenAt != rec.Knee.Completion.BrokenAt {
		t.Errorf("knee [%g, %g], completion [%g, %g]; want [1037.47, 1131.37] for both", k.RPS, k.BrokenAt, k.Completion.RPS, k.Completion.BrokenAt)
	}
}

// failedOf recovers a recorded step's failures from its verdict: the
// summary keeps the step's sent and p99s, and a step broken by failures
// says so first.
func failedOf(st results.KneeStep) int64 {
	var failed, sent int64
	if _, err := fmt.Sscanf(st.Why, "%d of %d requests failed", &failed, &sent); err == nil {
		return failed
	}
	return 0
}

// TestSearchReplaysARecordedEDASequence replays a real EDA search with
// make bench's settings (scenarios/knee.yaml), its queues included: each
// step's recorded p99s, and its backlog growth read through Plan.Backlog,
// so the completion judgment sees what the run saw. The search must take
// the recorded steps (a break at 400/s confirmed, then bisection) and read
// the recorded knees from them.
func TestSearchReplaysARecordedEDASequence(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "search-eda-2026-12-05.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec recording
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	sp := fakeSpec()
	sp.Start, sp.MaxSteps = 25, 16
	r := &recorder{}
	p := newPlan((&scenario.Scenario{Search: sp}).LoadStages(), r, nil)
	// The backlog is the recorded growth of every step begun so far: read
	// before a step begins it excludes the step's growth, after it
	// includes it.
	p.Backlog = func() (int64, bool) {
		r.mu.Lock()
		begun := len(r.phases)
		r.mu.Unlock()
		var depth int64
		for _, st := range rec.Steps[:min(begun, len(rec.Steps))] {
			depth += st.BacklogGrowth
		}
		return depth, true
	}
	var asked []float64
	p.Search, p.Measure = sp, func(_ context.Context, st load.Stage) StepMeasure {
		i := len(asked)
		asked = append(asked, st.To)
		if i >= len(rec.Steps) {
			t.Fatalf("step %d at %g/s beyond the recording", i+1, st.To)
		}
		s := rec.Steps[i]
		ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
		return StepMeasure{Sent: s.Sent, Accepted: s.Sent, AckP99: ms(s.AckP99Ms), E2EP99: ms(s.E2EP99Ms)}
	}
	out, err := Search{}.Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	var want []float64
	for _, st := range rec.Steps {
		want = append(want, st.RPS)
	}
	if !slices.Equal(asked, want) {
		t.Errorf("steps %v, want %v", asked, want)
	}
	k := out.Knee
	for i, st := range k.Steps {
		if r := rec.Steps[i]; st.AckHeld != r.AckHeld || st.CompletionHeld != r.CompletionHeld || st.BacklogGrowth != r.BacklogGrowth {
			t.Errorf("step %d judged %+v, recorded %+v", i+1, st, r)
		}
	}
	if k.RPS != rec.Knee.RPS || k.BrokenAt != rec.Knee.BrokenAt || k.Completion.RPS != rec.Knee.Completion.RPS || k.Completion.BrokenAt != rec.Knee.Completion.BrokenAt {
		t.Errorf("knee [%g, %g], completion [%g, %g]; recorded [%g, %g] and [%g, %g]", k.RPS, k.BrokenAt, k.Completion.RPS, k.Completion.BrokenAt,
			rec.Knee.RPS, rec.Knee.BrokenAt, rec.Knee.Completion.RPS, rec.Knee.Completion.BrokenAt)
	}
	if !k.Bracketed() || !k.Completion.Bracketed() {
		t.Errorf("knees %+v / %+v not bracketed within 10%%", k, k.Completion)
	}
}
