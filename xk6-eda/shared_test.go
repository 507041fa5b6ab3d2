package eda

import (
	"context"
	"testing"
	"time"

	"go.k6.io/k6/metrics"
)

// The sweeper counts an order lost at its deadline; a completion after that
// is counted late, never completed; a duplicate or foreign completion is
// ignored.
func TestLostThenLate(t *testing.T) {
	reg := metrics.NewRegistry()
	m, err := registerMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &shared{m: m, ctx: ctx, cancel: cancel, pending: map[string]*pendingOrder{}, lostIDs: map[string]*pendingOrder{}}
	out := make(chan metrics.SampleContainer, 100)
	t0 := time.Unix(1000, 0)
	for i, id := range []string{"a", "b"} {
		p := &pendingOrder{sent: t0, deadline: t0.Add(time.Duration(i+1) * time.Second), ctx: ctx, out: out,
			tags: metrics.TagsAndMeta{Tags: reg.RootTagSet().With("n", id)}}
		if err := s.track(id, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.track("a", &pendingOrder{}); err == nil {
		t.Fatal("a duplicate order ID was accepted")
	}
	s.expire(t0.Add(1500 * time.Millisecond)) // a is due, b is not
	s.finish("b", t0.Add(1600*time.Millisecond), true)
	s.finish("b", t0.Add(1700*time.Millisecond), true)     // duplicate delivery
	s.finish("other", t0.Add(1700*time.Millisecond), true) // another run's order
	s.finish("a", t0.Add(2*time.Second), true)             // after it was counted lost
	close(out)
	got := map[string]float64{}
	for c := range out {
		for _, smp := range c.GetSamples() {
			got[smp.Metric.Name] += smp.Value
			if smp.Metric.Name == MetricE2E && smp.Value != 1600 {
				t.Errorf("e2e %v ms, want 1600", smp.Value)
			}
		}
	}
	want := map[string]float64{MetricLost: 1, MetricCompleted: 1, MetricE2E: 1600, MetricLateComplete: 1}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
	if s.pendingCount() != 0 {
		t.Errorf("%d orders still pending", s.pendingCount())
	}
}

// At the end of the test every Counter the extension registers gets a zero,
// so the summary lists each one and a count==0 threshold has a value.
func TestSettlePushesZeroForEveryCounter(t *testing.T) {
	reg := metrics.NewRegistry()
	m, err := registerMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &shared{m: m, ctx: ctx, cancel: cancel, pending: map[string]*pendingOrder{}, lostIDs: map[string]*pendingOrder{}}
	out := make(chan metrics.SampleContainer, 100)
	s.out, s.gaugeTag, s.outCtx = out, reg.RootTagSet(), ctx
	s.atEnd.Store(true)
	s.settle()
	close(out)
	zeros := map[string]bool{}
	for c := range out {
		for _, smp := range c.GetSamples() {
			if smp.Value == 0 {
				zeros[smp.Metric.Name] = true
			}
		}
	}
	n := 0
	for _, metric := range reg.All() {
		if metric.Type != metrics.Counter {
			continue
		}
		n++
		if !zeros[metric.Name] {
			t.Errorf("counter %s got no zero at the end", metric.Name)
		}
	}
	if n < 6 {
		t.Errorf("only %d counters registered", n)
	}
}
