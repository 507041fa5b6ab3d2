package output

import (
	"context"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/harness/stats"
)

// Within adds each twin's within-run latency intervals to the summary
// (results.LatencyWithin): it keeps every second's ack and e2e histogram
// as a stats.Window, for the whole run and for its phase, and at the
// twin's end resamples them (stats.WithinRun). It must come before
// Summary in the list, which writes the file.
type Within struct {
	Nop
	series map[string]*seconds               // by twin, while it runs
	whole  map[string]*results.LatencyWithin // by twin, once it ended
	phases map[string]map[string]*results.LatencyWithin
}

// seconds is a twin's windows in the order cut: the whole run's and each
// phase's, [0] ack and [1] e2e, each in bounded memory (stats.Windows).
type seconds struct {
	whole [2]stats.Windows
	phase map[string]*[2]stats.Windows
}

func NewWithin() *Within {
	return &Within{series: map[string]*seconds{}, whole: map[string]*results.LatencyWithin{},
		phases: map[string]map[string]*results.LatencyWithin{}}
}

func (w *Within) TwinStarted(tw TwinStart) {
	w.series[tw.Name] = &seconds{phase: map[string]*[2]stats.Windows{}}
}

func (w *Within) Tick(t Tick) {
	s := w.series[t.Twin]
	if s == nil {
		return
	}
	ph := s.phase[t.Row.Phase]
	if ph == nil {
		ph = &[2]stats.Windows{}
		s.phase[t.Row.Phase] = ph
	}
	for i, h := range [2]*hdrhistogram.Histogram{t.Interval[Ack], t.Interval[E2E]} {
		win := Window(h)
		s.whole[i].Add(win)
		ph[i].Add(win)
	}
}

func (w *Within) TwinEnded(tw TwinEnd) error {
	s := w.series[tw.Name]
	if s == nil {
		return nil
	}
	delete(w.series, tw.Name)
	w.whole[tw.Name] = within(&s.whole)
	w.phases[tw.Name] = map[string]*results.LatencyWithin{}
	for name, ph := range s.phase {
		w.phases[tw.Name][name] = within(ph)
	}
	return nil
}

// Stop puts the intervals into the twins' (and their phases') results.
func (w *Within) Stop(_ context.Context, sum *results.Summary) error {
	if sum == nil {
		return nil
	}
	for name, t := range sum.Twins {
		if t == nil {
			continue
		}
		t.Within = w.whole[name]
		for ph, p := range t.Phases {
			if p != nil {
				p.Within = w.phases[name][ph]
			}
		}
	}
	return nil
}

func within(s *[2]stats.Windows) *results.LatencyWithin {
	lw := &results.LatencyWithin{Ack: results.NewWithinRun(s[0].All()), E2E: results.NewWithinRun(s[1].All())}
	if lw.Ack == nil && lw.E2E == nil {
		return nil
	}
	return lw
}

// Window is one interval's histogram as its non-empty buckets, each at
// its highest equivalent value in ms: the value summary.json's
// percentiles report (record.Summarize), so the windows' merged
// percentile is the summary's.
func Window(h *hdrhistogram.Histogram) stats.Window {
	if h == nil || h.TotalCount() == 0 {
		return stats.Window{}
	}
	var out stats.Window
	for _, b := range h.Distribution() {
		if b.Count > 0 {
			out = append(out, stats.Bin{Value: float64(b.To) / 1000, Count: b.Count})
		}
	}
	return out
}
