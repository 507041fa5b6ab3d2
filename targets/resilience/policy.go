// Package resilience is the client-side protection of the RR twin's gRPC
// calls: bounded retries with capped exponential backoff and full jitter,
// and a circuit breaker per downstream, both as grpc.UnaryClientInterceptors
// so they wrap any generated client.
//
// Retries are only safe for idempotent methods; every StepService method is.
// They happen only on retryable codes (Unavailable by default), never past
// the call's deadline, never through an open breaker, and never for a failure
// the peer relayed from further downstream (see Relay): the peer that saw
// the failure has already retried it, and retrying at every hop of a chain
// multiplies the load on a struggling service by (1+retries)^hops.
package resilience

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
)

// RetryPolicy bounds the retries of one call.
type RetryPolicy struct {
	// MaxRetries is how many times a call is retried after its first
	// attempt; 0 disables retries.
	MaxRetries int
	// InitialBackoff caps the first wait; each retry doubles the cap up to
	// MaxBackoff, and the wait is drawn uniformly below the cap (full jitter),
	// so callers that failed together do not retry together.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// Codes are the retryable status codes (default: Unavailable only;
	// DeadlineExceeded is never worth retrying under the same deadline).
	Codes []codes.Code
}

// DefaultRetryPolicy retries twice, waiting at most 25 ms then 50 ms.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxRetries: 2, InitialBackoff: 25 * time.Millisecond, MaxBackoff: time.Second,
		Codes: []codes.Code{codes.Unavailable}}
}

// Validate names the field that is wrong.
func (p RetryPolicy) Validate() error {
	switch {
	case p.MaxRetries < 0:
		return fmt.Errorf("retry: max retries %d must not be negative (0 disables retries)", p.MaxRetries)
	case p.MaxRetries > 0 && p.InitialBackoff <= 0:
		return fmt.Errorf("retry: initial backoff %v must be positive when retries are on", p.InitialBackoff)
	case p.MaxBackoff < p.InitialBackoff:
		return fmt.Errorf("retry: max backoff %v is below initial backoff %v", p.MaxBackoff, p.InitialBackoff)
	}
	return nil
}

// Backoff is the wait before retry number retry (0 for the first), given a
// uniform draw u in [0, 1).
func (p RetryPolicy) Backoff(retry int, u float64) time.Duration {
	limit := float64(p.InitialBackoff) * math.Pow(2, float64(retry))
	if limit > float64(p.MaxBackoff) || math.IsInf(limit, 0) {
		limit = float64(p.MaxBackoff)
	}
	return time.Duration(u * limit)
}

func (p RetryPolicy) retryable(c codes.Code) bool {
	if len(p.Codes) == 0 {
		return c == codes.Unavailable
	}
	return slices.Contains(p.Codes, c)
}

// BreakerPolicy says when a peer's circuit opens and how it recovers.
type BreakerPolicy struct {
	// FailureThreshold consecutive failures open the circuit; 0 disables
	// this trigger.
	FailureThreshold int
	// FailureRatio opens the circuit when at least MinRequests calls ended
	// within the last Window and this share of them failed; 0 disables it.
	// It catches a peer that fails often but not consecutively.
	FailureRatio float64
	MinRequests  int
	Window       time.Duration
	// OpenFor is how long an open circuit fails fast before it lets a probe through.
	OpenFor time.Duration
	// HalfOpenProbes calls may be in flight while half-open; that many
	// successes close the circuit, one failure opens it again.
	HalfOpenProbes int
	// FailureCodes are the codes that count against the peer (default:
	// Unavailable, DeadlineExceeded, ResourceExhausted, Internal, Unknown,
	// DataLoss). Other codes are answers from a healthy peer, except
	// Canceled, which is the caller's doing and counts neither way.
	FailureCodes []codes.Code
}

// DefaultBreakerPolicy opens after 5 consecutive failures, or half of at
// least 20 calls in 10 s, and probes after 1 s.
func DefaultBreakerPolicy() BreakerPolicy {
	return BreakerPolicy{FailureThreshold: 5, FailureRatio: 0.5, MinRequests: 20, Window: 10 * time.Second,
		OpenFor: time.Second, HalfOpenProbes: 1}
}

// Validate names the field that is wrong.
func (p BreakerPolicy) Validate() error {
	switch {
	case p.FailureThreshold < 0:
		return fmt.Errorf("breaker: failure threshold %d must not be negative (0 disables it)", p.FailureThreshold)
	case p.FailureRatio < 0 || p.FailureRatio > 1 || math.IsNaN(p.FailureRatio):
		return fmt.Errorf("breaker: failure ratio %v: want a share in [0, 1] (0 disables it)", p.FailureRatio)
	case p.FailureRatio > 0 && (p.MinRequests < 1 || p.Window <= 0):
		return fmt.Errorf("breaker: a failure ratio needs min requests >= 1 (got %d) and a positive window (got %v)", p.MinRequests, p.Window)
	case p.enabled() && p.OpenFor <= 0:
		return fmt.Errorf("breaker: open-for %v must be positive", p.OpenFor)
	case p.enabled() && p.HalfOpenProbes < 1:
		return fmt.Errorf("breaker: half-open probes %d must be at least 1", p.HalfOpenProbes)
	}
	return nil
}

func (p BreakerPolicy) enabled() bool { return p.FailureThreshold > 0 || p.FailureRatio > 0 }

func (p BreakerPolicy) isFailure(c codes.Code) bool {
	if len(p.FailureCodes) > 0 {
		return slices.Contains(p.FailureCodes, c)
	}
	switch c {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Internal, codes.Unknown, codes.DataLoss:
		return true
	}
	return false
}

// Options configure a Peer. Build them with DefaultOptions and Option funcs.
type Options struct {
	Retry   RetryPolicy
	Breaker BreakerPolicy
	// Observer sees retries, state changes and calls; nil sees nothing.
	Observer Observer
	Logger   *slog.Logger
	// Now and Sleep are the clock; tests replace them.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand draws the jitter, uniform in [0, 1).
	Rand func() float64
}

// Option changes Options.
type Option func(*Options)

// DefaultOptions are the default policies on the real clock.
func DefaultOptions() Options {
	return Options{Retry: DefaultRetryPolicy(), Breaker: DefaultBreakerPolicy(), Logger: slog.Default(),
		Now: time.Now, Sleep: sleep, Rand: rand.Float64}
}

// WithRetry sets the retry policy.
func WithRetry(p RetryPolicy) Option { return func(o *Options) { o.Retry = p } }

// WithBreaker sets the breaker policy.
func WithBreaker(p BreakerPolicy) Option { return func(o *Options) { o.Breaker = p } }

// WithObserver sets who sees retries, state changes and calls (e.g. *Metrics).
func WithObserver(obs Observer) Option { return func(o *Options) { o.Observer = obs } }

// WithLogger sets the logger of state changes.
func WithLogger(l *slog.Logger) Option { return func(o *Options) { o.Logger = l } }

// WithClock replaces the clock, for tests.
func WithClock(now func() time.Time, sleep func(context.Context, time.Duration) error) Option {
	return func(o *Options) { o.Now, o.Sleep = now, sleep }
}

// WithRand replaces the jitter source, for tests.
func WithRand(r func() float64) Option { return func(o *Options) { o.Rand = r } }

func (o *Options) validate() error {
	if o.Now == nil || o.Sleep == nil || o.Rand == nil {
		return errors.New("resilience: options need a clock (Now, Sleep) and a Rand: start from DefaultOptions")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
	return errors.Join(o.Retry.Validate(), o.Breaker.Validate())
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
