// Package output holds what a run writes: one Output per file format (or
// announcement), each in its own file, fed the same events by the runner,
// which writes no format itself. The readers of the files it writes are in
// harness/results (ReadSummary, ReadTimeseries), with the columns named
// there (results.Columns).
package output

import (
	"context"
	"errors"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/edabench/edabench/harness/hoststat"
	"github.com/edabench/edabench/harness/results"
)

// Output is one thing a run writes or serves. The runner calls its
// methods in this order, from one goroutine at a time (Tick under the
// ticker's lock), so an output needs no lock unless it serves readers of
// its own (a scrape).
type Output interface {
	// Start is called before any twin; an output that serves or announces
	// something starts it here (files are made with the run's folder).
	Start(ctx context.Context, run Run) error
	// TwinStarted is a twin's time zero: its load starts now.
	TwinStarted(tw TwinStart)
	// Tick is one second of one twin, as the ticker cuts it.
	Tick(t Tick)
	// TwinEnded is a twin's whole series once its ticker stopped, on every
	// way out of a twin's run that got as far as its load.
	TwinEnded(tw TwinEnd) error
	// Stop is called on every way out of the run, with the summary marked
	// partial if it is; it must tolerate a Start that failed or never ran.
	Stop(ctx context.Context, sum *results.Summary) error
}

// Run is what an output knows of the run.
type Run struct {
	Dir, ID string
	Labels  map[string]string // Prometheus target labels of the run's targets
}

// TwinStart is a twin's time zero, and its figures for an output that
// reads them on demand.
type TwinStart struct {
	Name  string
	Start time.Time
	Live  Live
}

// Live reads a twin's figures at any moment while it runs (a scrape).
type Live interface {
	// Calls are the PlaceOrder calls ended so far: replies under "OK",
	// the others under their gRPC code.
	Calls() map[string]int64
	// Load is the load's time zero and how long it has run, frozen when
	// it ends.
	Load() (start time.Time, seconds float64)
	// Unfinished counts accepted orders not yet seen to end.
	Unfinished() int64
	// Totals lends f the whole-run histograms, whole (never half-merged by
	// a tick); f must not keep them.
	Totals(f func(total [Series]*hdrhistogram.Histogram))
}

// The four latency series of a twin, in the order of every [Series] array.
const (
	Ack = iota
	AckUncorrected
	E2E
	E2EUncorrected
	Series
)

// SeriesNames are the series in file-name form (TWIN.NAME.hlog, .hgrm).
func SeriesNames() [Series]string {
	return [Series]string{"ack", "ack_uncorrected", "e2e", "e2e_uncorrected"}
}

// Row is one second of a twin as it is cut.
type Row struct {
	Sec                            int
	Phase                          string
	InFlight                       int64
	AckP50, AckP99, E2EP50, E2EP99 float64 // ms
	Depth                          int64
	LagMs                          float64
	Faults                         string // active faults, "+"-separated
	// Host is what the host took from the machine in the second; nil, or
	// a NaN field, is unknown (harness/hoststat).
	Host *hoststat.Sample
}

// Tick is one second of one twin.
type Tick struct {
	Twin string
	At   time.Time
	// Interval are the second's histograms; E2E is already the ack for a
	// twin whose reply is the order's end.
	Interval                [Series]*hdrhistogram.Histogram
	Row                     Row
	Sent, Replies, Failures int64
	// Faults are the active faults; Injecting is false when the twin has
	// no injector, so no fault series exists for it.
	Faults    []string
	Injecting bool
}

// SeriesRow is one second of a twin's series once its run ended: the row
// cut then and the second's final counts (a request counts in the second
// it was due or ended, which may be after that second was cut).
type SeriesRow struct {
	Row
	Offered, Replies, Errors, Timeouts, Dropped, Ended int64
}

// TwinEnd is a twin's whole run.
type TwinEnd struct {
	Name   string
	Totals [Series]*hdrhistogram.Histogram
	Series []SeriesRow
}

// Nop gives an output the events it does not need; embed it.
type Nop struct{}

func (Nop) Start(context.Context, Run) error             { return nil }
func (Nop) TwinStarted(TwinStart)                        {}
func (Nop) Tick(Tick)                                    {}
func (Nop) TwinEnded(TwinEnd) error                      { return nil }
func (Nop) Stop(context.Context, *results.Summary) error { return nil }

// List feeds a run's outputs, in order.
type List []Output

// Start starts each output, stopping at the first that fails.
func (l List) Start(ctx context.Context, run Run) error {
	for _, o := range l {
		if err := o.Start(ctx, run); err != nil {
			return err
		}
	}
	return nil
}

func (l List) TwinStarted(tw TwinStart) {
	for _, o := range l {
		o.TwinStarted(tw)
	}
}

func (l List) Tick(t Tick) {
	for _, o := range l {
		o.Tick(t)
	}
}

// TwinEnded tells every output, whatever one of them returns.
func (l List) TwinEnded(tw TwinEnd) error {
	var errs []error
	for _, o := range l {
		errs = append(errs, o.TwinEnded(tw))
	}
	return errors.Join(errs...)
}

// Stop stops every output, whatever one of them returns.
func (l List) Stop(ctx context.Context, sum *results.Summary) error {
	var errs []error
	for _, o := range l {
		errs = append(errs, o.Stop(ctx, sum))
	}
	return errors.Join(errs...)
}
