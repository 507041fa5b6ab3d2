package lag

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edabench/edabench/targets/eda"
)

// fakeSource replays a script of depths (one per call, the last repeated);
// a negative depth makes that call fail.
type fakeSource struct {
	mu     sync.Mutex
	script []int64
	calls  int
}

func (f *fakeSource) Sample(ctx context.Context) ([]Sample, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.script[min(f.calls, len(f.script)-1)]
	f.calls++
	if d < 0 {
		return nil, errors.New("broker restarting")
	}
	at := time.Now()
	return []Sample{{At: at, Queue: "q1", Depth: d}, {At: at, Queue: "q2", Depth: 0}}, nil
}

func TestSamplerRecordsGapsAndKeepsGoing(t *testing.T) {
	src := &fakeSource{script: []int64{3, -1, -1, 2, 1, 0}}
	var (
		mu    sync.Mutex
		ticks int
	)
	s := NewSampler(src, 5*time.Millisecond, func(got []Sample) {
		mu.Lock()
		ticks++
		mu.Unlock()
		if len(got) != 2 {
			t.Errorf("onTick got %d samples, want 2", len(got))
		}
	})
	if s.Last() != nil {
		t.Error("Last before any tick is not nil")
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(s.Samples()) < 2*6 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := s.Run(ctx); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("second concurrent Run: err = %v, want 'already running'", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel = %v, want nil", err)
	}

	samples, gaps := s.Samples(), s.Gaps()
	if len(gaps) != 2 || !strings.Contains(gaps[0].Err, "broker restarting") {
		t.Errorf("gaps = %+v, want the 2 failed ticks", gaps)
	}
	if len(samples) < 12 || samples[0].Depth != 3 || samples[2].Depth != 2 {
		t.Fatalf("samples = %+v, want the script minus its failed ticks", samples[:min(len(samples), 6)])
	}
	mu.Lock()
	defer mu.Unlock()
	if ticks != len(samples)/2 {
		t.Errorf("onTick ran %d times for %d ticks", ticks, len(samples)/2)
	}
	if last := s.Last(); len(last) != 2 || last[0].At != samples[len(samples)-1].At {
		t.Errorf("Last = %+v, want the newest tick's 2 samples", last)
	}
	// Samples is a copy: the caller may keep or modify it.
	samples[0].Depth = 99
	if s.Samples()[0].Depth != 3 {
		t.Error("Samples returned the sampler's own slice")
	}
}

func TestWaitDrained(t *testing.T) {
	t.Run("waits for two good polls in a row", func(t *testing.T) {
		// 5, fail, 0, 4, 0, 0: the first zero is not confirmed, the failure
		// breaks nothing but a run, and the answer is the 5th poll.
		src := &fakeSource{script: []int64{5, -1, 0, 4, 0, 0}}
		took, err := WaitDrained(t.Context(), src, 0, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if src.calls != 6 {
			t.Errorf("polled %d times, want 6", src.calls)
		}
		// The 5th poll is taken after 4 poll periods.
		if took < 4*drainPoll-100*time.Millisecond || took > 5*drainPoll {
			t.Errorf("took %v, want about %v", took, 4*drainPoll)
		}
	})
	t.Run("threshold is per queue", func(t *testing.T) {
		src := &fakeSource{script: []int64{2}}
		if _, err := WaitDrained(t.Context(), src, 2, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("timeout names the busy queue", func(t *testing.T) {
		src := &fakeSource{script: []int64{7}}
		_, err := WaitDrained(t.Context(), src, 0, 1500*time.Millisecond)
		if !errors.Is(err, ErrNotDrained) || !strings.Contains(err.Error(), "q1=7") {
			t.Fatalf("err = %v, want ErrNotDrained naming q1=7", err)
		}
	})
	t.Run("timeout reports the last failure", func(t *testing.T) {
		src := &fakeSource{script: []int64{-1}}
		_, err := WaitDrained(t.Context(), src, 0, 1500*time.Millisecond)
		if !errors.Is(err, ErrNotDrained) || !strings.Contains(err.Error(), "broker restarting") {
			t.Fatalf("err = %v, want ErrNotDrained with the poll error", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := WaitDrained(ctx, &fakeSource{script: []int64{7}}, 0, time.Minute)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}

func TestParseLag(t *testing.T) {
	// What an EDA service exposes (its histogram too, which is not read).
	text := strings.NewReplacer("LAST", eda.MetricConsumerLagLast, "HIST", eda.MetricConsumerLag).Replace(`# HELP LAST Time lag of the latest delivery.
# TYPE LAST gauge
LAST{broker="rabbitmq",queue="x.payment",service="payment",twin="eda"} 0.25
LAST{broker="rabbitmq",queue="x.gateway",service="gateway",twin="eda"} 1.5e-3
LAST{broker="rabbitmq",queue="x.gateway",service="gateway2",twin="eda"} 0.5
# HELP HIST Time lag histogram.
# TYPE HIST histogram
HIST_bucket{broker="rabbitmq",queue="x.payment",le="0.1"} 3
HIST_bucket{broker="rabbitmq",queue="x.payment",le="+Inf"} 4
HIST_sum{broker="rabbitmq",queue="x.payment"} 0.9
HIST_count{broker="rabbitmq",queue="x.payment"} 4
`)
	got, err := parseLag(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"x.payment": 0.25, "x.gateway": 0.5}
	if len(got) != len(want) || got["x.payment"] != want["x.payment"] || got["x.gateway"] != want["x.gateway"] {
		t.Errorf("parseLag = %v, want %v", got, want)
	}
	if _, err := parseLag(strings.NewReader("not { a metric\n")); err == nil {
		t.Error("parseLag accepted garbage")
	}
}
