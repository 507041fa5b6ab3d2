package executor

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/load"
	"github.com/edabench/edabench/harness/scenario"
)

func TestEveryShippedScenarioHasItsExecutor(t *testing.T) {
	reg := Builtin()
	for _, name := range scenario.Shipped() {
		sc, err := scenario.LoadShipped(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reg.Get(sc.Executor()); err != nil {
			t.Errorf("scenario %s: %v", name, err)
		}
	}
	if _, err := reg.Get("constant-vus"); err == nil {
		t.Error("an unknown executor was found")
	}
}

func TestRegistryRefusesDuplicates(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("two executors of one name did not panic")
		}
	}()
	NewRegistry(Stages{}, Stages{})
}

// recorder is a plan's attacker and accounting: every request the
// executor yields must reach Handle once, with a unique sequence number.
type recorder struct {
	mu     sync.Mutex
	seqs   map[uint64]int
	phases []string
	sent   atomic.Int64
}

func newPlan(stages []load.Stage, rec *recorder, judge func(context.Context, load.Stage) (bool, string)) Plan {
	rec.seqs = map[uint64]int{}
	return Plan{
		Stages: stages, Arrival: load.Uniform, Seed: 1, Start: time.Now(),
		Attacker: load.AttackerFunc(func(_ context.Context, r load.Request) load.Result {
			rec.sent.Add(1)
			return load.Result{Seq: r.Seq, Phase: r.Phase, Intended: r.Intended, Start: time.Now(), End: time.Now()}
		}),
		Handle: func(_ int, r load.Result) {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			rec.seqs[r.Seq]++
		},
		Begin: func(phase string, _ time.Time) {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			rec.phases = append(rec.phases, phase)
		},
		Judge: judge,
	}
}

func steps(names ...string) []load.Stage {
	var out []load.Stage
	for _, n := range names {
		out = append(out, load.Stage{Name: n, Duration: 50 * time.Millisecond, From: 200, To: 200})
	}
	return out
}

func TestExecutors(t *testing.T) {
	holdsUntil := func(broken string) func(context.Context, load.Stage) (bool, string) {
		return func(_ context.Context, s load.Stage) (bool, string) {
			if s.Name == broken {
				return false, "p99 above the SLO"
			}
			return true, ""
		}
	}
	for _, c := range []struct {
		name       string
		exec       Executor
		judge      func(context.Context, load.Stage) (bool, string)
		wantPhases []string
		wantKnee   bool
		wantBroken bool
	}{
		{name: "stages run in one schedule", exec: Stages{}, wantPhases: []string{"a", "b", "c"}},
		{name: "a ramp stops at the broken step", exec: Ramp{}, judge: holdsUntil("b"), wantPhases: []string{"a", "b"}, wantKnee: true, wantBroken: true},
		{name: "a ramp that never breaks", exec: Ramp{}, judge: holdsUntil(""), wantPhases: []string{"a", "b", "c"}, wantKnee: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{}
			out, err := c.exec.Run(context.Background(), newPlan(steps("a", "b", "c"), rec, c.judge))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(rec.phases, c.wantPhases) {
				t.Errorf("phases begun %v, want %v", rec.phases, c.wantPhases)
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
			if (out.Knee != nil) != c.wantKnee {
				t.Fatalf("knee %+v, want one: %v", out.Knee, c.wantKnee)
			}
			if c.wantKnee && out.Knee.Reached != c.wantBroken {
				t.Errorf("knee %+v, want broken: %v", out.Knee, c.wantBroken)
			}
			if c.wantBroken && (out.Knee.RPS != 200 || out.Knee.BrokenAt != 200) {
				t.Errorf("knee %+v, want held at 200 and broken at 200", out.Knee)
			}
		})
	}
}

func TestRampInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	rec := &recorder{}
	out, err := Ramp{}.Run(ctx, newPlan(steps("a", "b"), rec, func(context.Context, load.Stage) (bool, string) {
		cancel()
		return true, ""
	}))
	if err != nil {
		t.Fatal(err)
	}
	if out.Knee.Reason != "interrupted" || out.Knee.RPS != 200 {
		t.Errorf("knee %+v, want interrupted after the first step held", out.Knee)
	}
}

func TestStagesRefusesABadSchedule(t *testing.T) {
	_, err := Stages{}.Run(context.Background(), newPlan([]load.Stage{{Name: "x", Duration: -1}}, &recorder{}, nil))
	if !errors.Is(err, load.ErrSchedule) {
		t.Errorf("err %v, want load.ErrSchedule", err)
	}
}
