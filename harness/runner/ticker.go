package runner

import (
	"context"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/edabench/edabench/harness/hoststat"
	"github.com/edabench/edabench/harness/lag"
	"github.com/edabench/edabench/harness/output"
	"github.com/edabench/edabench/harness/results"
)

// ticker cuts the recorders into one-second intervals: each goes into the
// cumulative and per-phase histograms and the time series, and out to the
// run's outputs (the .hlog interval logs, the live metrics, the progress
// line). Its state is its own: other files go through its methods.
type ticker struct {
	st   *twinState
	env  *twinEnv
	emit func(output.Tick)

	mu        sync.Mutex
	total     [4]*hdrhistogram.Histogram
	phases    map[string]*[4]*hdrhistogram.Histogram
	phaseSecs map[string]float64
	rows      []output.Row
	last      time.Time
	// host reads the host's steal and CPU pressure at each cut, so each
	// second's latencies sit beside what the host took in that second.
	host *hoststat.Sampler
}

func newTicker(st *twinState, env *twinEnv, emit func(output.Tick)) *ticker {
	t := &ticker{st: st, env: env, emit: emit, phases: map[string]*[4]*hdrhistogram.Histogram{},
		phaseSecs: map[string]float64{}, last: st.start, host: hoststat.NewSampler(hostProc, time.Now())}
	for i := range t.total {
		t.total[i] = newHist()
	}
	return t
}

// hostProc is where the host's counters are read: the machine's own, the
// same for every twin.
const hostProc = "/proc"

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(1, 3_600_000_000, 3) }

// phaseAt names the phase running at t: the runner records when each one
// begins, and "drain" once the load has ended.
func (t *ticker) phaseAt(at time.Time) string {
	if p := t.st.tl.phaseAt(at); p != "" {
		return p
	}
	return "setup"
}

func (t *ticker) run(ctx context.Context) {
	tk := time.NewTicker(tick)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tk.C:
			t.cut(now, "")
		}
	}
}

// cut takes one interval from every recorder; phase "" means the phase
// running at the interval's end.
func (t *ticker) cut(now time.Time, phase string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if phase == "" {
		phase = t.phaseAt(now.Add(-time.Millisecond))
	}
	ph := t.phases[phase]
	if ph == nil {
		ph = &[4]*hdrhistogram.Histogram{newHist(), newHist(), newHist(), newHist()}
		t.phases[phase] = ph
	}
	t.phaseSecs[phase] += now.Sub(t.last).Seconds()
	began := t.last
	t.last = now
	var iv [4]*hdrhistogram.Histogram
	for i, rec := range t.st.recs {
		iv[i] = rec.Interval(now)
	}
	if t.st.obs == nil {
		// The RR twin's reply is the order's end: its e2e series is its ack.
		iv[mE2E], iv[mE2EU] = iv[mAck], iv[mAckU]
	}
	for i, h := range iv {
		t.total[i].Merge(h)
		ph[i].Merge(h)
	}
	row := output.Row{Sec: t.st.sec(began), Phase: phase, InFlight: t.st.inFlight.Load(),
		AckP50: q(iv[mAck], 50), AckP99: q(iv[mAck], 99), E2EP50: q(iv[mE2E], 50), E2EP99: q(iv[mE2E], 99)}
	// The files' own reading time, not the tick's: a cut that waited for
	// the lock would otherwise divide the stall by too short an interval.
	hs := t.host.Next(time.Now())
	row.Host = &hs
	if t.env.sampler != nil {
		row.Depth, row.LagMs = lastLag(t.env.sampler.Last())
	}
	ev := output.Tick{Twin: t.st.name, At: now, Interval: iv}
	if t.env.inj != nil {
		ev.Faults, ev.Injecting = t.env.inj.Active(), true
		row.Faults = strings.Join(ev.Faults, "+")
	}
	ev.Row = row
	t.rows = append(t.rows, row)
	tot := &t.st.total
	ev.Sent, ev.Replies = tot.sent.Load(), tot.ok.Load()+tot.rejected.Load()
	ev.Failures = tot.errors.Load() + tot.timeouts.Load() + tot.dropped.Load()
	t.emit(ev)
}

func q(h *hdrhistogram.Histogram, p float64) float64 {
	if h.TotalCount() == 0 {
		return 0
	}
	return float64(h.ValueAtQuantile(p)) / 1000
}

// lastLag sums one tick's depths and takes its largest lag.
func lastLag(tick []lag.Sample) (int64, float64) {
	var depth int64
	var lagMs float64
	for _, s := range tick {
		depth += s.Depth
		lagMs = max(lagMs, s.LagSeconds*1000)
	}
	return depth, lagMs
}

// cutPhase closes the interval under way as part of phase and returns a
// copy of that phase's histograms.
func (t *ticker) cutPhase(phase string, now time.Time) [4]*hdrhistogram.Histogram {
	t.cut(now, phase)
	t.mu.Lock()
	defer t.mu.Unlock()
	var out [4]*hdrhistogram.Histogram
	for i, h := range t.phases[phase] {
		out[i] = hdrhistogram.Import(h.Export())
	}
	return out
}

func (t *ticker) phase(name string) *[4]*hdrhistogram.Histogram {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.phases[name]
}

func (t *ticker) phaseSeconds(name string) float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.phaseSecs[name]
}

func (t *ticker) totals() [4]*hdrhistogram.Histogram {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.total
}

// withTotals lends f the whole-run histograms under the ticker's lock, so
// a scrape reads them whole rather than half-merged by a tick; f must not
// keep them.
func (t *ticker) withTotals(f func(total [4]*hdrhistogram.Histogram)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f(t.total)
}

// rowsBySecond is a copy of the rows cut so far, in second order (a ramp's
// judged step cuts out of turn).
func (t *ticker) rowsBySecond() []output.Row {
	t.mu.Lock()
	rows := append([]output.Row(nil), t.rows...)
	t.mu.Unlock()
	sort.Slice(rows, func(i, j int) bool { return rows[i].Sec < rows[j].Sec })
	return rows
}

// end takes the last interval and returns the twin's whole series for the
// outputs.
func (t *ticker) end(now time.Time) output.TwinEnd {
	t.cut(now, "")
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.st
	out := output.TwinEnd{Name: st.name, Totals: t.total}
	for _, row := range t.rows {
		s := row.Sec
		out.Series = append(out.Series, output.SeriesRow{Row: row, Offered: st.secOffered[s].Load(), Replies: st.secReplies[s].Load(),
			Errors: st.secErrors[s].Load(), Timeouts: st.secTimeouts[s].Load(), Dropped: st.secDropped[s].Load(), Ended: st.secEnded[s].Load()})
	}
	return out
}

// hostStats summarizes the host's interference over the load's seconds
// (the drain's are after the figures a claim reads); nil, with the reason
// logged, when this machine gives neither steal nor pressure.
func (t *ticker) hostStats(log *slog.Logger) *results.HostStats {
	var secs []int
	var steal, pressure []float64
	for _, r := range t.rowsBySecond() {
		if r.Phase == "drain" || r.Phase == "setup" || r.Host == nil {
			continue
		}
		secs = append(secs, r.Sec)
		steal = append(steal, r.Host.StealPct)
		pressure = append(pressure, r.Host.PressurePct)
	}
	h := results.SummarizeHost(secs, steal, pressure, hoststat.SuspectStealPct)
	t.mu.Lock()
	cpuErr, psiErr := t.host.Errs()
	t.mu.Unlock()
	if cpuErr != nil || psiErr != nil {
		log.Info("host interference partly unknown", "steal_err", cpuErr, "pressure_err", psiErr)
	}
	return h
}
