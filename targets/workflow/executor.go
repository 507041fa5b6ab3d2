package workflow

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

var (
	// ErrStepFailed is a definite business failure: the caller compensates
	// what was applied before and rejects the order. Never retried.
	ErrStepFailed = errors.New("step failed")
	// ErrCompensated: the order was compensated before this step could apply.
	ErrCompensated = errors.New("order already compensated")
)

// failureReason is what a failing step tells the customer.
func failureReason(s Step) string {
	switch s {
	case Payment:
		return "payment declined"
	case Inventory:
		return "out of stock"
	case Shipping:
		return "no carrier available"
	default:
		return "confirmation could not be sent"
	}
}

// Result is what one execution of a step did.
type Result struct {
	Outcome Outcome
	// At is when the step was decided for this order: now, or at the first
	// application when this was a duplicate.
	At          time.Time
	ServiceTime time.Duration
}

// Executor runs one step: cost model, then the idempotent store.
type Executor struct {
	step    Step
	store   *Store
	cost    *CostControl
	metrics *Metrics

	mu  sync.Mutex
	rng *rand.Rand
}

// NewExecutor builds a step executor; metrics may be nil. seed makes the
// service-time and failure draws reproducible across runs.
func NewExecutor(step Step, store *Store, cost *CostControl, metrics *Metrics, seed uint64) *Executor {
	if metrics == nil {
		metrics = NewMetrics(nil)
	}
	return &Executor{step: step, store: store, cost: cost, metrics: metrics,
		rng: rand.New(rand.NewPCG(seed, uint64(len(step))))}
}

// Step is the step this executor runs.
func (e *Executor) Step() Step { return e.step }

// Cost is the executor's live cost model (the admin endpoint changes it).
func (e *Executor) Cost() *CostControl { return e.cost }

// Store is the executor's store (the audit endpoint reads it).
func (e *Executor) Store() *Store { return e.store }

func (e *Executor) draw(c Cost) (time.Duration, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return c.Sample(e.rng), c.Fails(e.rng)
}

// Execute applies the step to order at most once. A repeated call for an
// order already decided spends no service time and returns the first
// decision: OutcomeDuplicate with no error when it had applied, ErrStepFailed
// when it had failed, ErrCompensated when the order was compensated.
func (e *Executor) Execute(ctx context.Context, o Order) (Result, error) {
	start := time.Now()
	if r := e.store.Peek(o.ID, e.step); r.State != None {
		return e.commit(o, start, 0, r.State == Failed, false)
	}
	c := e.cost.Load()
	d, fails := e.draw(c)
	if err := c.Spend(ctx, d); err != nil {
		return Result{}, fmt.Errorf("%s: %w", e.step, err)
	}
	return e.commit(o, start, d, fails, true)
}

// commit stores the decision; drawn says it was drawn now rather than
// replayed from the store, which is what tells a failure from a repeat of one.
func (e *Executor) commit(o Order, start time.Time, d time.Duration, fails, drawn bool) (Result, error) {
	now := time.Now()
	var (
		out Outcome
		at  time.Time
		err error
	)
	if fails {
		out, at, err = e.store.Fail(o.ID, e.step, now)
	} else {
		out, at, err = e.store.Apply(o.ID, e.step, now)
	}
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", e.step, err)
	}
	res := Result{Outcome: out, At: at, ServiceTime: d}
	e.metrics.duration.WithLabelValues(string(e.step), out.String()).Observe(time.Since(start).Seconds())
	switch out {
	case OutcomeApplied:
		e.metrics.applied.WithLabelValues(string(e.step)).Inc()
	case OutcomeDuplicate:
		e.metrics.duplicates.WithLabelValues(string(e.step)).Inc()
	case OutcomeFailed:
		if fails && drawn {
			e.metrics.failures.WithLabelValues(string(e.step)).Inc()
		} else {
			e.metrics.duplicates.WithLabelValues(string(e.step)).Inc()
		}
		return res, fmt.Errorf("%w: %s: %s", ErrStepFailed, e.step, failureReason(e.step))
	case OutcomeRefused:
		e.metrics.duplicates.WithLabelValues(string(e.step)).Inc()
		return res, fmt.Errorf("%w: %s", ErrCompensated, e.step)
	}
	return res, nil
}

// Compensate undoes the step for order; see Store.Compensate.
func (e *Executor) Compensate(orderID string) (bool, error) {
	undone, err := e.store.Compensate(orderID, e.step, time.Now())
	if err != nil {
		return false, fmt.Errorf("%s: compensate: %w", e.step, err)
	}
	if undone {
		e.metrics.compensations.WithLabelValues(string(e.step)).Inc()
	}
	return undone, nil
}
