package runner

import (
	"math"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/fault"
	"github.com/edabench/edabench/harness/results"
)

func TestFirstsAfter(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 7, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	f := newFirsts(t0, 10*time.Second)
	for _, n := range []int{5, 2003, 2001, 2007, 4500} {
		f.record(ms(n))
	}
	f.record(ms(-5))     // before the run: not kept
	f.record(ms(20_000)) // after it: not kept
	for _, tc := range []struct {
		name string
		from time.Time
		want time.Time
		ok   bool
	}{
		{"before the run: the first event", ms(-100), ms(5), true},
		{"exactly an event", ms(5), ms(5), true},
		{"in a slot whose earliest is after it", ms(2000), ms(2001), true},
		{"inside a slot: its latest, late by under a slot", ms(2002), ms(2007), true},
		{"a later slot", ms(2008), ms(4500), true},
		{"after the last", ms(4501), time.Time{}, false},
		{"after the run", ms(30_000), time.Time{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := f.after(tc.from)
			if ok != tc.ok || !got.Equal(tc.want) {
				t.Errorf("after(%v) = %v, %v; want %v, %v", tc.from.Sub(t0), got.Sub(t0), ok, tc.want.Sub(t0), tc.ok)
			}
		})
	}
}

// TestNodeDown: the node's marks on the run's clock, and the twin's first
// acceptance and completion counted from serving, not from the window.
func TestNodeDown(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 7, 0, 0, 0, time.UTC)
	s := func(x float64) time.Time { return t0.Add(time.Duration(x * float64(time.Second))) }
	st := newTwinState("eda", t0, nil, 1, 60, 100)
	st.firstAccept.record(s(9)) // before the node served: not the recovery
	st.firstAccept.record(s(21.5))
	st.firstEnd.record(s(22))
	m := fault.NodeMarks{StopAsked: s(10), Gone: s(10.2), StartAsked: s(15), Back: s(16), Serving: s(20)}
	got := nodeDown(m, 5*time.Second, st)
	want := results.NodeDown{StopAskedS: 10, GoneS: 10.2, StartAskedS: 15, BackS: 16, ServingS: 20,
		StopMs: 200, AwayMs: 9800, DownMs: 10000, WindowMs: 5000, StartMs: 5000, LateMs: 0,
		FirstAcceptS: 21.5, FirstCompletionS: 22, AcceptAfterMs: 1500, CompleteAfterMs: 2000}
	if !approx(*got, want) {
		t.Errorf("nodeDown = %+v\nwant       %+v", *got, want)
	}
	if err := got.Check(); err != nil {
		t.Errorf("a complete timeline fails its check: %v", err)
	}
	// A stop longer than the window: the start is asked once the node is
	// gone, late by what the stop overran.
	late := fault.NodeMarks{StopAsked: s(10), Gone: s(16.2), StartAsked: s(16.3), Back: s(17), Serving: s(20)}
	if got := nodeDown(late, 5*time.Second, st); got.LateMs < 1299 || got.LateMs > 1301 || got.StartMs < 3699 || got.StartMs > 3701 {
		t.Errorf("late start: late %v ms, start %v ms; want 1300 and 3700", got.LateMs, got.StartMs)
	}
	// A node that never served: no recovery read at all.
	m.Serving = time.Time{}
	got = nodeDown(m, 5*time.Second, st)
	if got.ServingS != -1 || got.AwayMs != -1 || got.FirstAcceptS != -1 || got.AcceptAfterMs != -1 || got.CompleteAfterMs != -1 {
		t.Errorf("without serving: %+v, want -1 for serving and everything after it", *got)
	}
}

func approx(a, b results.NodeDown) bool {
	av := []float64{a.StopAskedS, a.GoneS, a.StartAskedS, a.BackS, a.ServingS, a.StopMs, a.AwayMs, a.DownMs, a.WindowMs, a.StartMs, a.LateMs, a.FirstAcceptS, a.FirstCompletionS, a.AcceptAfterMs, a.CompleteAfterMs}
	bv := []float64{b.StopAskedS, b.GoneS, b.StartAskedS, b.BackS, b.ServingS, b.StopMs, b.AwayMs, b.DownMs, b.WindowMs, b.StartMs, b.LateMs, b.FirstAcceptS, b.FirstCompletionS, b.AcceptAfterMs, b.CompleteAfterMs}
	for i := range av {
		if math.Abs(av[i]-bv[i]) > 1e-6 {
			return false
		}
	}
	return true
}
