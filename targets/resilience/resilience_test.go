package resilience

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fakeClock is a clock that moves only when told to, or when slept on.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.slept = append(c.slept, d)
	c.t = c.t.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

// deadlineCtx has a deadline on the fake clock's timeline that never fires
// on the real one.
type deadlineCtx struct {
	context.Context
	d time.Time
}

func (c deadlineCtx) Deadline() (time.Time, bool) { return c.d, true }

// recorder is an Observer that remembers what it saw.
type recorder struct {
	mu          sync.Mutex
	retries     int
	transitions []State
	rejected    int
	calls       []codes.Code
}

func (r *recorder) Retry(string, int, codes.Code, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.retries++
}

func (r *recorder) StateChange(_ string, from, to State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if from != to {
		r.transitions = append(r.transitions, to)
	}
}

func (r *recorder) Rejected(string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rejected++
}

func (r *recorder) Call(_ string, c codes.Code, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
}

// script is an invoker that returns the scripted errors in turn, then nil.
type script struct {
	errs  []error
	calls int
}

func (s *script) invoke(ctx context.Context, _ string, _, _ any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
	s.calls++
	if len(s.errs) == 0 {
		return nil
	}
	err := s.errs[0]
	if len(s.errs) > 1 {
		s.errs = s.errs[1:]
	}
	return err
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func unavailable() error { return status.Error(codes.Unavailable, "connection refused") }

func TestBackoffIsCappedExponentialWithFullJitter(t *testing.T) {
	p := RetryPolicy{MaxRetries: 10, InitialBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}
	for _, tc := range []struct {
		retry int
		u     float64
		want  time.Duration
	}{
		{0, 0, 0},
		{0, 0.5, 5 * time.Millisecond},
		{1, 0.5, 10 * time.Millisecond},
		{2, 0.999, 39960 * time.Microsecond},
		{3, 0.5, 40 * time.Millisecond},
		{4, 0.5, 50 * time.Millisecond}, // 160 ms capped at 100 ms
		{60, 0.5, 50 * time.Millisecond},
		{5000, 0.5, 50 * time.Millisecond}, // 2^5000 overflows to +Inf: still capped
	} {
		if got := p.Backoff(tc.retry, tc.u); got != tc.want {
			t.Errorf("Backoff(%d, %v) = %v, want %v", tc.retry, tc.u, got, tc.want)
		}
	}
}

func TestRetryInterceptor(t *testing.T) {
	pol := RetryPolicy{MaxRetries: 2, InitialBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}
	for _, tc := range []struct {
		name      string
		pol       RetryPolicy
		errs      []error
		deadline  time.Duration // on the fake clock; 0: none
		opts      []grpc.CallOption
		cancelled bool
		wantCalls int
		wantCode  codes.Code
		wantSleep []time.Duration
	}{
		{name: "success needs one call", errs: nil, wantCalls: 1, wantCode: codes.OK},
		{name: "unavailable twice then ok", errs: []error{unavailable(), unavailable(), nil}, wantCalls: 3,
			wantCode: codes.OK, wantSleep: []time.Duration{5 * time.Millisecond, 10 * time.Millisecond}},
		{name: "bounded by max retries", errs: []error{unavailable()}, wantCalls: 3, wantCode: codes.Unavailable,
			wantSleep: []time.Duration{5 * time.Millisecond, 10 * time.Millisecond}},
		{name: "business failure is not retried", errs: []error{status.Error(codes.FailedPrecondition, "declined")},
			wantCalls: 1, wantCode: codes.FailedPrecondition},
		{name: "deadline exceeded is not retried", errs: []error{status.Error(codes.DeadlineExceeded, "slow")},
			wantCalls: 1, wantCode: codes.DeadlineExceeded},
		{name: "resource exhausted only when listed", errs: []error{status.Error(codes.ResourceExhausted, "busy")},
			wantCalls: 1, wantCode: codes.ResourceExhausted},
		{name: "resource exhausted listed", pol: RetryPolicy{MaxRetries: 1, InitialBackoff: 10 * time.Millisecond,
			MaxBackoff: 10 * time.Millisecond, Codes: []codes.Code{codes.Unavailable, codes.ResourceExhausted}},
			errs: []error{status.Error(codes.ResourceExhausted, "busy"), nil}, wantCalls: 2, wantCode: codes.OK,
			wantSleep: []time.Duration{5 * time.Millisecond}},
		{name: "relayed failure is not retried", errs: []error{Relay(status.New(codes.Unavailable, "deeper")).Err()},
			wantCalls: 1, wantCode: codes.Unavailable},
		{name: "breaker refusal is not retried", errs: []error{&OpenError{Peer: "p", State: Open}},
			wantCalls: 1, wantCode: codes.Unavailable},
		{name: "a retry refused by the breaker reports the attempt that was sent",
			errs:      []error{status.Error(codes.Unavailable, "sent"), &OpenError{Peer: "p", State: Open}},
			wantCalls: 2, wantCode: codes.Unavailable, wantSleep: []time.Duration{5 * time.Millisecond}},
		{name: "never sleeps past the deadline", errs: []error{unavailable()}, deadline: 12 * time.Millisecond,
			wantCalls: 2, wantCode: codes.Unavailable, wantSleep: []time.Duration{5 * time.Millisecond}},
		{name: "cancelled caller is not retried", errs: []error{unavailable()}, cancelled: true,
			wantCalls: 1, wantCode: codes.Unavailable},
		{name: "per-call override", errs: []error{unavailable()}, opts: []grpc.CallOption{MaxRetries(4)},
			wantCalls: 5, wantCode: codes.Unavailable, wantSleep: []time.Duration{5 * time.Millisecond,
				10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond}},
		{name: "zero retries", pol: RetryPolicy{}, errs: []error{unavailable()}, wantCalls: 1, wantCode: codes.Unavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk, rec := newFakeClock(), &recorder{}
			p := pol
			if tc.pol.MaxRetries != 0 || tc.name == "zero retries" {
				p = tc.pol
			}
			peer, err := NewPeer("inventory", WithRetry(p), WithClock(clk.Now, clk.Sleep),
				WithRand(func() float64 { return 0.5 }), WithObserver(rec), WithLogger(quiet))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if tc.deadline > 0 {
				ctx = deadlineCtx{ctx, clk.Now().Add(tc.deadline)}
			}
			if tc.cancelled {
				c, cancel := context.WithCancel(ctx)
				cancel()
				ctx = c
			}
			s := &script{errs: tc.errs}
			err = peer.RetryInterceptor(ctx, "/m", nil, nil, nil, s.invoke, tc.opts...)
			if got := status.Code(err); got != tc.wantCode {
				t.Errorf("code %v, want %v (err %v)", got, tc.wantCode, err)
			}
			if errors.Is(err, ErrCircuitOpen) && tc.wantCalls > 1 {
				t.Errorf("returned the breaker's refusal %v after an attempt was sent", err)
			}
			if s.calls != tc.wantCalls {
				t.Errorf("%d calls, want %d", s.calls, tc.wantCalls)
			}
			if len(clk.slept) != len(tc.wantSleep) || rec.retries != len(tc.wantSleep) {
				t.Fatalf("slept %v (%d retries observed), want %v", clk.slept, rec.retries, tc.wantSleep)
			}
			for i := range clk.slept {
				if clk.slept[i] != tc.wantSleep[i] {
					t.Errorf("sleep %d = %v, want %v", i, clk.slept[i], tc.wantSleep[i])
				}
			}
		})
	}
}

// An action on a breaker in a table: call (admit + report) or advance the clock.
type act struct {
	advance time.Duration
	outcome Outcome
	hold    bool   // admit but do not report yet
	release int    // report the held call number release-1 with outcome
	refused bool   // the call must be refused
	want    *State // state after the action
}

func st(s State) *State { return &s }

func TestBreaker(t *testing.T) {
	base := BreakerPolicy{FailureThreshold: 3, OpenFor: time.Second, HalfOpenProbes: 1}
	ratio := BreakerPolicy{FailureRatio: 0.5, MinRequests: 4, Window: 10 * time.Second, OpenFor: time.Second, HalfOpenProbes: 1}
	F, S, I := Failure, Success, Ignore
	for _, tc := range []struct {
		name string
		pol  BreakerPolicy
		acts []act
	}{
		{"consecutive failures open it", base, []act{
			{outcome: F, want: st(Closed)}, {outcome: F, want: st(Closed)}, {outcome: F, want: st(Open)},
			{refused: true, want: st(Open)},
		}},
		{"a success resets the count", base, []act{
			{outcome: F}, {outcome: F}, {outcome: S}, {outcome: F}, {outcome: F, want: st(Closed)}, {outcome: F, want: st(Open)},
		}},
		{"business answers and cancellations do not count", base, []act{
			{outcome: F}, {outcome: F}, {outcome: I}, {outcome: I, want: st(Closed)}, {outcome: F, want: st(Open)},
		}},
		{"half-open lets one probe through; its success closes", base, []act{
			{outcome: F}, {outcome: F}, {outcome: F, want: st(Open)},
			{advance: 999 * time.Millisecond}, {refused: true},
			{advance: time.Millisecond}, {hold: true, want: st(HalfOpen)},
			{refused: true, want: st(HalfOpen)},
			{release: 4, outcome: S, want: st(Closed)},
			{outcome: S, want: st(Closed)},
		}},
		{"a failed probe opens it again for OpenFor", base, []act{
			{outcome: F}, {outcome: F}, {outcome: F},
			{advance: time.Second}, {outcome: F, want: st(Open)},
			{advance: 500 * time.Millisecond}, {refused: true},
			{advance: 500 * time.Millisecond}, {outcome: S, want: st(Closed)},
		}},
		{"a cancelled probe frees its slot", base, []act{
			{outcome: F}, {outcome: F}, {outcome: F}, {advance: time.Second},
			{outcome: I, want: st(HalfOpen)}, {outcome: S, want: st(Closed)},
		}},
		{"a late outcome from before the trip is dropped", base, []act{
			{hold: true}, {outcome: F}, {outcome: F}, {outcome: F, want: st(Open)},
			{advance: time.Second}, {hold: true, want: st(HalfOpen)},
			{release: 1, outcome: S, want: st(HalfOpen)}, // the old call must not close it
			{release: 5, outcome: S, want: st(Closed)},
		}},
		{"failure ratio over the window opens it", ratio, []act{
			{outcome: S}, {outcome: F}, {outcome: S, want: st(Closed)}, {outcome: F, want: st(Open)},
		}},
		{"the ratio needs min requests", ratio, []act{
			{outcome: F}, {outcome: F}, {outcome: F, want: st(Closed)},
		}},
		{"old calls leave the window", ratio, []act{
			{outcome: F}, {outcome: F}, {outcome: S}, {advance: 11 * time.Second},
			{outcome: S}, {outcome: F}, {outcome: S, want: st(Closed)}, {outcome: S}, {outcome: F, want: st(Closed)},
		}},
		{"disabled never opens", BreakerPolicy{}, []act{
			{outcome: F}, {outcome: F}, {outcome: F}, {outcome: F, want: st(Closed)},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk, rec := newFakeClock(), &recorder{}
			b, err := NewBreaker("shipping", WithBreaker(tc.pol), WithClock(clk.Now, clk.Sleep), WithObserver(rec), WithLogger(quiet))
			if err != nil {
				t.Fatal(err)
			}
			var held []func(Outcome)
			for i, a := range tc.acts {
				switch {
				case a.advance > 0:
					clk.Advance(a.advance)
				case a.release > 0:
					held[a.release-1](a.outcome)
				default:
					done, err := b.Allow()
					if a.refused {
						var oe *OpenError
						if !errors.As(err, &oe) || status.Code(err) != codes.Unavailable ||
							!strings.HasPrefix(err.Error(), "circuit open to shipping") {
							t.Fatalf("act %d: Allow() = %v, want an Unavailable refusal \"circuit open to shipping\"", i, err)
						}
						break
					}
					if err != nil {
						t.Fatalf("act %d: Allow() refused: %v", i, err)
					}
					if a.hold {
						held = append(held, done)
					} else {
						held = append(held, func(Outcome) { t.Fatalf("act %d reported twice", i) })
						done(a.outcome)
					}
				}
				if a.want != nil {
					if got := b.State(); got != *a.want {
						t.Fatalf("act %d: state %v, want %v (transitions %v)", i, got, *a.want, rec.transitions)
					}
				}
			}
		})
	}
}

func TestClassify(t *testing.T) {
	b, err := NewBreaker("p", WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		err  error
		want Outcome
	}{
		{nil, Success},
		{status.Error(codes.FailedPrecondition, "declined"), Success},
		{status.Error(codes.Aborted, "compensated"), Success},
		{status.Error(codes.Unavailable, "refused"), Failure},
		{status.Error(codes.DeadlineExceeded, "slow"), Failure},
		{status.Error(codes.Internal, "bug"), Failure},
		{status.Error(codes.Canceled, "caller left"), Ignore},
		{Relay(status.New(codes.Unavailable, "deeper")).Err(), Success},
	} {
		if got := b.Classify(tc.err); got != tc.want {
			t.Errorf("Classify(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// The interceptors together: the breaker sees each attempt, the retry loop
// stops once the circuit is open, and the next call fails fast.
func TestPeerInterceptorsTogether(t *testing.T) {
	clk, rec := newFakeClock(), &recorder{}
	peer, err := NewPeer("shipping",
		WithRetry(RetryPolicy{MaxRetries: 3, InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond}),
		WithBreaker(BreakerPolicy{FailureThreshold: 2, OpenFor: time.Minute, HalfOpenProbes: 1}),
		WithClock(clk.Now, clk.Sleep), WithRand(func() float64 { return 0.5 }), WithObserver(rec), WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	s := &script{errs: []error{unavailable()}}
	chain := func(ctx context.Context, opts ...grpc.CallOption) error {
		return peer.ObserveInterceptor(ctx, "/m", nil, nil, nil, func(ctx context.Context, m string, req, reply any, cc *grpc.ClientConn, opts ...grpc.CallOption) error {
			return peer.RetryInterceptor(ctx, m, req, reply, cc, func(ctx context.Context, m string, req, reply any, cc *grpc.ClientConn, opts ...grpc.CallOption) error {
				return peer.BreakerInterceptor(ctx, m, req, reply, cc, s.invoke, opts...)
			}, opts...)
		}, opts...)
	}
	err = chain(context.Background())
	if status.Code(err) != codes.Unavailable || errors.Is(err, ErrCircuitOpen) {
		t.Fatalf("first call: %v, want the peer's own Unavailable", err)
	}
	if s.calls != 2 || rec.retries != 1 {
		t.Fatalf("first call: %d attempts, %d retries; want 2 and 1 (the breaker opened after the second)", s.calls, rec.retries)
	}
	err = chain(context.Background())
	if !errors.Is(err, ErrCircuitOpen) || s.calls != 2 {
		t.Fatalf("second call: %v after %d attempts; want a fast refusal with no attempt", err, s.calls)
	}
	if err := chain(context.Background(), BypassBreaker()); status.Code(err) != codes.Unavailable || s.calls < 3 {
		t.Fatalf("bypass: %v after %d attempts; want the call sent through the open circuit", err, s.calls)
	}
	if peer.Breaker().State() != Open {
		t.Fatalf("bypassed calls changed the breaker: %v", peer.Breaker().State())
	}
	if len(rec.calls) != 3 || rec.rejected != 1 || len(rec.transitions) != 1 || rec.transitions[0] != Open {
		t.Fatalf("observed calls %v, rejected %d, transitions %v", rec.calls, rec.rejected, rec.transitions)
	}
}

func TestMetricsExport(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewMetrics(reg); err == nil {
		t.Fatal("registering the metrics twice on one registerer succeeded; want an error")
	}
	clk := newFakeClock()
	peer, err := NewPeer("payment", WithObserver(m), WithClock(clk.Now, clk.Sleep), WithLogger(quiet),
		WithBreaker(BreakerPolicy{FailureThreshold: 1, OpenFor: time.Minute, HalfOpenProbes: 1}))
	if err != nil {
		t.Fatal(err)
	}
	s := &script{errs: []error{unavailable()}}
	_ = peer.ObserveInterceptor(context.Background(), "/m", nil, nil, nil, func(ctx context.Context, m string, req, reply any, cc *grpc.ClientConn, opts ...grpc.CallOption) error {
		return peer.RetryInterceptor(ctx, m, req, reply, cc, func(ctx context.Context, m string, req, reply any, cc *grpc.ClientConn, opts ...grpc.CallOption) error {
			return peer.BreakerInterceptor(ctx, m, req, reply, cc, s.invoke, opts...)
		}, opts...)
	})
	got := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			switch {
			case mt.GetGauge() != nil:
				got[mf.GetName()] += mt.GetGauge().GetValue()
			case mt.GetCounter() != nil:
				got[mf.GetName()] += mt.GetCounter().GetValue()
			case mt.GetHistogram() != nil:
				got[mf.GetName()] += float64(mt.GetHistogram().GetSampleCount())
			}
		}
	}
	want := map[string]float64{
		MetricBreakerState:       2, // open
		MetricBreakerTransitions: 1,
		MetricRPCClientDuration:  1,
		MetricRPCRetries:         0, // the breaker opened on the first failure: no retry into it
	}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s = %v, want %v (all: %v)", name, got[name], v, got)
		}
	}
}

func TestRelayMarksOnce(t *testing.T) {
	s := Relay(Relay(status.New(codes.Unavailable, "x")))
	if !IsRelayed(s.Err()) || len(s.Details()) != 1 {
		t.Fatalf("Relay twice: relayed %v with %d details, want one mark", IsRelayed(s.Err()), len(s.Details()))
	}
	if IsRelayed(status.Error(codes.Unavailable, "x")) || IsRelayed(nil) || IsRelayed(errors.New("plain")) {
		t.Fatal("IsRelayed reports an unmarked error as relayed")
	}
}

func TestPolicyValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"negative retries", RetryPolicy{MaxRetries: -1}.Validate()},
		{"retries without backoff", RetryPolicy{MaxRetries: 1}.Validate()},
		{"max below initial", RetryPolicy{MaxRetries: 1, InitialBackoff: time.Second, MaxBackoff: time.Millisecond}.Validate()},
		{"ratio above 1", BreakerPolicy{FailureRatio: 2}.Validate()},
		{"ratio without window", BreakerPolicy{FailureRatio: 0.5, MinRequests: 1, OpenFor: time.Second, HalfOpenProbes: 1}.Validate()},
		{"no open-for", BreakerPolicy{FailureThreshold: 1, HalfOpenProbes: 1}.Validate()},
		{"no probes", BreakerPolicy{FailureThreshold: 1, OpenFor: time.Second}.Validate()},
	} {
		if tc.err == nil {
			t.Errorf("%s: validated", tc.name)
		}
	}
	if err := DefaultRetryPolicy().Validate(); err != nil {
		t.Error(err)
	}
	if err := DefaultBreakerPolicy().Validate(); err != nil {
		t.Error(err)
	}
}
