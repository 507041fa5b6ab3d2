package runner

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/edabench/edabench/harness/lag"
	"github.com/edabench/edabench/harness/load"
	"github.com/edabench/edabench/harness/record"
	"github.com/edabench/edabench/harness/results"
)

func csvHeader() string { return strings.Join(results.Columns(), ",") + "\n" }

// ticker cuts the recorders into one-second intervals: each goes to the
// .hlog interval logs, into the cumulative and per-phase histograms, into
// the time series, the live metrics and the progress line.
type ticker struct {
	r      *Runner
	st     *twinState
	env    *twinEnv
	stages []load.Stage

	mu        sync.Mutex
	tmp       [4]*os.File
	logs      [4]*record.LogWriter
	total     [4]*hdrhistogram.Histogram
	phases    map[string]*[4]*hdrhistogram.Histogram
	phaseSecs map[string]float64
	rows      []tickRow
	last      time.Time
	lastShown time.Time
	prevSent  int64
	prevRepl  int64
	openErr   error
}

type tickRow struct {
	sec                            int
	phase                          string
	inFlight                       int64
	ackP50, ackP99, e2eP50, e2eP99 float64
	depth                          int64
	lagMs                          float64
	faults                         string // active faults, "+"-separated
}

func newTicker(r *Runner, st *twinState, env *twinEnv, stages []load.Stage) *ticker {
	t := &ticker{r: r, st: st, env: env, stages: stages, phases: map[string]*[4]*hdrhistogram.Histogram{},
		phaseSecs: map[string]float64{}, last: st.start, lastShown: st.start}
	for i := range t.total {
		t.total[i] = newHist()
		f, err := os.CreateTemp(r.dir, "."+st.name+"."+metricNames[i]+".hlog.*")
		if err != nil {
			t.openErr = err
			continue
		}
		lw, err := record.NewLogWriter(f, st.start)
		if err != nil {
			t.openErr = err
			continue
		}
		t.tmp[i], t.logs[i] = f, lw
	}
	return t
}

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
		if t.logs[i] != nil {
			t.logs[i].Write(h, phase)
		}
	}
	row := tickRow{sec: t.st.sec(began), phase: phase, inFlight: t.st.inFlight.Load(),
		ackP50: q(iv[mAck], 50), ackP99: q(iv[mAck], 99), e2eP50: q(iv[mE2E], 50), e2eP99: q(iv[mE2E], 99)}
	if t.env.sampler != nil {
		row.depth, row.lagMs = lastLag(t.env.sampler.Last())
	}
	if t.env.inj != nil {
		row.faults = strings.Join(t.env.inj.Active(), "+")
	}
	t.rows = append(t.rows, row)
	t.progress(now, row)
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
func (t *ticker) rowsBySecond() []tickRow {
	t.mu.Lock()
	rows := append([]tickRow(nil), t.rows...)
	t.mu.Unlock()
	sort.Slice(rows, func(i, j int) bool { return rows[i].sec < rows[j].sec })
	return rows
}

// flush takes the last interval, then writes the .hlog and .hgrm files and
// the time-series rows.
func (t *ticker) flush(now time.Time) error {
	t.cut(now, "")
	t.mu.Lock()
	defer t.mu.Unlock()
	errs := []error{t.openErr}
	dir, name := t.r.dir, t.st.name
	for i := range t.total {
		if t.tmp[i] != nil {
			f := t.tmp[i]
			errs = append(errs, f.Sync(), f.Close(), os.Rename(f.Name(), filepath.Join(dir, name+"."+metricNames[i]+".hlog")))
		}
		h := t.total[i]
		errs = append(errs, results.WriteFile(filepath.Join(dir, name+"."+metricNames[i]+".hgrm"), func(w io.Writer) error {
			return record.WriteHgrm(w, h)
		}))
	}
	st := t.st
	for _, row := range t.rows {
		s := row.sec
		fmt.Fprintf(t.r.csv, "%d,%s,%s,%d,%d,%d,%d,%d,%d,%d,%.3f,%.3f,%.3f,%.3f,%d,%.1f,%s\n", s, name, row.phase,
			st.secOffered[s].Load(), st.secReplies[s].Load(), st.secErrors[s].Load(), st.secTimeouts[s].Load(),
			st.secDropped[s].Load(), st.secEnded[s].Load(), row.inFlight, row.ackP50, row.ackP99, row.e2eP50, row.e2eP99,
			row.depth, row.lagMs, row.faults)
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// progress shows a live line per tick on a terminal, a plain line every
// five seconds elsewhere (CI logs), and feeds the live metrics.
func (t *ticker) progress(now time.Time, row tickRow) {
	st := t.st
	sent := st.total.sent.Load()
	repl := st.total.ok.Load() + st.total.rejected.Load()
	secs := now.Sub(t.lastShown).Seconds()
	total := t.r.o.Scenario.TotalDuration()
	failures := st.total.errors.Load() + st.total.timeouts.Load() + st.total.dropped.Load()
	if lm := t.r.live; lm != nil {
		lm.update(st.name, row, sent, repl, failures)
		if t.env.inj != nil {
			lm.faults(st.name, t.env.inj.Active())
		}
	}
	if !t.r.o.TTY && now.Sub(t.lastShown) < 5*time.Second {
		return
	}
	offered, achieved := float64(sent-t.prevSent)/secs, float64(repl-t.prevRepl)/secs
	t.prevSent, t.prevRepl, t.lastShown = sent, repl, now
	if row.faults != "" {
		row.phase += " [" + row.faults + "]"
	}
	line := fmt.Sprintf("%-3s %s/%s %-10s offered %6.0f/s achieved %6.0f/s ack p99 %8.2fms e2e p99 %8.2fms in flight %4d depth %6d errors %d",
		st.name, fmtDur(now.Sub(st.start)), fmtDur(total), row.phase, offered, achieved, row.ackP99, row.e2eP99,
		row.inFlight, row.depth, failures)
	if t.r.o.TTY {
		fmt.Fprintf(t.r.o.Progress, "\r\033[K%s", line)
		return
	}
	fmt.Fprintln(t.r.o.Progress, line)
}
