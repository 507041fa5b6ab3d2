package runner

import (
	"context"
	"errors"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/edabench/edabench/harness/results"
)

// output is one thing a run writes or serves: a file format, the live
// /metrics, the progress line. The runner feeds every output the same
// events, in order, and writes no format itself; a new output is a file
// implementing this and a line in newOutputs. Methods are called from one
// goroutine at a time (tick under the ticker's lock), so an output needs
// no lock of its own unless it serves readers of its own (a scrape).
type output interface {
	// start is called before any twin; an output that serves or announces
	// something starts it here (the files are made with the run's folder).
	start(ctx context.Context, run runInfo) error
	// twinStarted is a twin's time zero: the load starts now.
	twinStarted(tw twinStart)
	// tick is one second of one twin, as the ticker cuts it.
	tick(t tickEvent)
	// twinEnded is a twin's whole series once the ticker stopped; it is
	// called on every way out of a twin's run that got as far as its load.
	twinEnded(tw twinEnd) error
	// stop is called on every way out of the run, with the summary marked
	// partial if it is; it must tolerate a start that failed or never ran.
	stop(ctx context.Context, sum *results.Summary) error
}

// runInfo is what an output knows of the run.
type runInfo struct {
	dir, id string
	labels  map[string]string // Prometheus target labels of the run
}

type twinStart struct {
	name  string
	start time.Time
	tk    *ticker
	st    *twinState
}

type tickEvent struct {
	twin string
	at   time.Time
	// iv are the second's interval histograms, e2e already the ack for a
	// twin whose reply is the order's end.
	iv                      [4]*hdrhistogram.Histogram
	row                     tickRow
	sent, replies, failures int64
	// faults are the active faults; injecting is false when the twin has no
	// injector, so no fault series exists for it.
	faults    []string
	injecting bool
}

type twinEnd struct {
	name   string
	totals [4]*hdrhistogram.Histogram
	series []seriesRow
}

// newOutputs is every output of a run, in the order they are fed.
func (r *Runner) newOutputs() []output {
	outs := []output{&summaryFile{dir: r.dir}, &timeseriesFile{dir: r.dir}, &histogramFiles{dir: r.dir}, &progressLine{o: r.o}}
	if r.o.MetricsAddr != "off" {
		lm := &liveOutput{addr: r.o.MetricsAddr, progress: r.o.Progress}
		outs = append(outs, lm, &fileSD{addr: lm.Addr, log: r.o.Log})
	}
	return outs
}

func (r *Runner) startOutputs(ctx context.Context) error {
	info := runInfo{dir: r.dir, id: r.id, labels: r.sdLabels()}
	for _, o := range r.outs {
		if err := o.start(ctx, info); err != nil {
			return err
		}
	}
	return nil
}

func (r *Runner) emitTwinStarted(tw twinStart) {
	for _, o := range r.outs {
		o.twinStarted(tw)
	}
}

func (r *Runner) emitTick(t tickEvent) {
	for _, o := range r.outs {
		o.tick(t)
	}
}

func (r *Runner) emitTwinEnded(tw twinEnd) error {
	var errs []error
	for _, o := range r.outs {
		errs = append(errs, o.twinEnded(tw))
	}
	return errors.Join(errs...)
}

func (r *Runner) stopOutputs(ctx context.Context) error {
	var errs []error
	for _, o := range r.outs {
		errs = append(errs, o.stop(ctx, r.sum))
	}
	return errors.Join(errs...)
}

// nopOutput gives an output the events it does not need.
type nopOutput struct{}

func (nopOutput) start(context.Context, runInfo) error         { return nil }
func (nopOutput) twinStarted(twinStart)                        {}
func (nopOutput) tick(tickEvent)                               {}
func (nopOutput) twinEnded(twinEnd) error                      { return nil }
func (nopOutput) stop(context.Context, *results.Summary) error { return nil }
