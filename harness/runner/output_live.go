package runner

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/edabench/edabench/harness/output"
	"github.com/prometheus/client_golang/prometheus"
)

// liveOutput serves the harness's /metrics (live.go, promlive.go) while
// the run lasts, so a dashboard shows it as it happens.
type liveOutput struct {
	output.Nop
	addr     string // as asked: "" for any loopback port
	progress io.Writer
	lm       *liveMetrics
}

func (l *liveOutput) Start(ctx context.Context, _ output.Run) error {
	lm, addr, err := startLiveMetrics(ctx, l.addr)
	if err != nil {
		return err
	}
	l.lm = lm
	fmt.Fprintf(l.progress, "edabench: live metrics at http://%s/metrics\n", addr)
	return nil
}

// register adds a collector (a broker node's exporter) to /metrics.
func (l *liveOutput) register(c prometheus.Collector) error {
	if l.lm == nil {
		return nil
	}
	return l.lm.reg.Register(c)
}

// Addr is where /metrics listens ("" before start).
func (l *liveOutput) Addr() string {
	if l.lm == nil {
		return ""
	}
	return l.lm.addr
}

func (l *liveOutput) TwinStarted(tw output.TwinStart) {
	if l.lm != nil {
		l.lm.run.track(tw.Name, tw.Live)
	}
}

func (l *liveOutput) Tick(t output.Tick) {
	if l.lm == nil {
		return
	}
	l.lm.update(t.Twin, t.Row, t.Sent, t.Replies, t.Failures)
	if t.Injecting {
		l.lm.faults(t.Twin, t.Faults)
	}
}

// progressLine shows a live line per tick on a terminal, and a plain line
// every five seconds elsewhere (CI logs).
type progressLine struct {
	output.Nop
	o                  Options
	zero, lastShown    time.Time
	prevSent, prevRepl int64
}

func (p *progressLine) TwinStarted(tw output.TwinStart) {
	p.zero, p.lastShown, p.prevSent, p.prevRepl = tw.Start, tw.Start, 0, 0
}

func (p *progressLine) Tick(t output.Tick) {
	if !p.o.TTY && t.At.Sub(p.lastShown) < 5*time.Second {
		return
	}
	secs := t.At.Sub(p.lastShown).Seconds()
	offered, achieved := float64(t.Sent-p.prevSent)/secs, float64(t.Replies-p.prevRepl)/secs
	p.prevSent, p.prevRepl, p.lastShown = t.Sent, t.Replies, t.At
	row := t.Row
	if row.Faults != "" {
		row.Phase += " [" + row.Faults + "]"
	}
	line := fmt.Sprintf("%-3s %s/%s %-10s offered %6.0f/s achieved %6.0f/s ack p99 %8.2fms e2e p99 %8.2fms in flight %4d depth %6d errors %d",
		t.Twin, fmtDur(t.At.Sub(p.zero)), fmtDur(p.o.Scenario.TotalDuration()), row.Phase, offered, achieved, row.AckP99, row.E2EP99,
		row.InFlight, row.Depth, t.Failures)
	if p.o.TTY {
		fmt.Fprintf(p.o.Progress, "\r\033[K%s", line)
		return
	}
	fmt.Fprintln(p.o.Progress, line)
}
