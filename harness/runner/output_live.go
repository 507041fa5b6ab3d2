package runner

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/edabench/edabench/harness/launch"
	"github.com/edabench/edabench/harness/results"
)

// liveOutput serves the harness's /metrics (live.go, promlive.go) while
// the run lasts, so a dashboard shows it as it happens.
type liveOutput struct {
	nopOutput
	addr     string // as asked: "" for any loopback port
	progress io.Writer
	lm       *liveMetrics
}

func (l *liveOutput) start(ctx context.Context, _ runInfo) error {
	lm, addr, err := startLiveMetrics(ctx, l.addr)
	if err != nil {
		return err
	}
	l.lm = lm
	fmt.Fprintf(l.progress, "edabench: live metrics at http://%s/metrics\n", addr)
	return nil
}

// Addr is where /metrics listens ("" before start).
func (l *liveOutput) Addr() string {
	if l.lm == nil {
		return ""
	}
	return l.lm.addr
}

func (l *liveOutput) twinStarted(tw twinStart) {
	if l.lm != nil {
		l.lm.run.track(tw.name, tw.tk, tw.st)
	}
}

func (l *liveOutput) tick(t tickEvent) {
	if l.lm == nil {
		return
	}
	l.lm.update(t.twin, t.row, t.sent, t.replies, t.failures)
	if t.injecting {
		l.lm.faults(t.twin, t.faults)
	}
}

// fileSD announces the live /metrics to a Prometheus with file SD (make
// observe, the dashboards' test) for as long as the run lasts.
type fileSD struct {
	nopOutput
	addr func() string
	log  *slog.Logger
	rm   func()
}

func (f *fileSD) start(_ context.Context, run runInfo) error {
	rm, err := launch.WriteFileSD(launch.FileSDDir(), "harness", []string{f.addr()}, run.labels)
	if err != nil {
		f.log.Warn("file SD for the harness", "err", err)
	}
	f.rm = rm
	return nil
}

func (f *fileSD) stop(context.Context, *results.Summary) error {
	if f.rm != nil {
		f.rm()
	}
	return nil
}

// progressLine shows a live line per tick on a terminal, and a plain line
// every five seconds elsewhere (CI logs).
type progressLine struct {
	nopOutput
	o                  Options
	zero, lastShown    time.Time
	prevSent, prevRepl int64
}

func (p *progressLine) twinStarted(tw twinStart) {
	p.zero, p.lastShown, p.prevSent, p.prevRepl = tw.start, tw.start, 0, 0
}

func (p *progressLine) tick(t tickEvent) {
	if !p.o.TTY && t.at.Sub(p.lastShown) < 5*time.Second {
		return
	}
	secs := t.at.Sub(p.lastShown).Seconds()
	offered, achieved := float64(t.sent-p.prevSent)/secs, float64(t.replies-p.prevRepl)/secs
	p.prevSent, p.prevRepl, p.lastShown = t.sent, t.replies, t.at
	row := t.row
	if row.faults != "" {
		row.phase += " [" + row.faults + "]"
	}
	line := fmt.Sprintf("%-3s %s/%s %-10s offered %6.0f/s achieved %6.0f/s ack p99 %8.2fms e2e p99 %8.2fms in flight %4d depth %6d errors %d",
		t.twin, fmtDur(t.at.Sub(p.zero)), fmtDur(p.o.Scenario.TotalDuration()), row.phase, offered, achieved, row.ackP99, row.e2eP99,
		row.inFlight, row.depth, t.failures)
	if p.o.TTY {
		fmt.Fprintf(p.o.Progress, "\r\033[K%s", line)
		return
	}
	fmt.Fprintln(p.o.Progress, line)
}
