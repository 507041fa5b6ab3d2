package resilience

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// Peer is the protection of the calls to one downstream: its breaker and
// the retry policy. Build one per downstream and dial it with DialOption.
type Peer struct {
	name    string
	o       Options
	breaker *Breaker
}

// NewPeer applies opts over DefaultOptions and validates them.
func NewPeer(name string, opts ...Option) (*Peer, error) {
	o := DefaultOptions()
	for _, f := range opts {
		f(&o)
	}
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("resilience for %s: %w", name, err)
	}
	return &Peer{name: name, o: o, breaker: newBreaker(name, &o)}, nil
}

// Name is the peer's name, as in metrics and errors.
func (p *Peer) Name() string { return p.name }

// Breaker is the peer's circuit breaker.
func (p *Peer) Breaker() *Breaker { return p.breaker }

// Interceptors are, outermost first: the call observer (one duration per
// call, retries included), the retry loop, and the breaker, which sees
// every attempt.
func (p *Peer) Interceptors() []grpc.UnaryClientInterceptor {
	return []grpc.UnaryClientInterceptor{p.ObserveInterceptor, p.RetryInterceptor, p.BreakerInterceptor}
}

// DialOption chains Interceptors into a connection.
func (p *Peer) DialOption() grpc.DialOption {
	return grpc.WithChainUnaryInterceptor(p.Interceptors()...)
}

// ObserveInterceptor reports each call's final code and duration.
func (p *Peer) ObserveInterceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	start := p.o.Now()
	err := invoker(ctx, method, req, reply, cc, opts...)
	p.o.Observer.Call(p.name, status.Code(err), p.o.Now().Sub(start))
	return err
}

// RetryInterceptor retries a failed call within the policy and the call's deadline.
func (p *Peer) RetryInterceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	limit, bypass := p.o.Retry.MaxRetries, false
	for _, o := range opts {
		switch o := o.(type) {
		case maxRetriesOption:
			limit = o.n
		case bypassBreakerOption:
			bypass = true
		}
	}
	var prev error
	for retry := 0; ; retry++ {
		err := invoker(ctx, method, req, reply, cc, opts...)
		if prev != nil && errors.Is(err, ErrCircuitOpen) {
			// The earlier attempt was sent and may have acted; the caller
			// must see that one, not a refusal that suggests nothing left.
			return prev
		}
		if err == nil || retry >= limit || !p.retryable(err) || ctx.Err() != nil {
			return err
		}
		if !bypass && p.breaker.State() == Open {
			return err
		}
		d := p.o.Retry.Backoff(retry, p.o.Rand())
		if dl, ok := ctx.Deadline(); ok && !p.o.Now().Add(d).Before(dl) {
			return err
		}
		p.o.Observer.Retry(p.name, retry, status.Code(err), d)
		if p.o.Sleep(ctx, d) != nil {
			return err
		}
		prev = err
	}
}

func (p *Peer) retryable(err error) bool {
	if errors.Is(err, ErrCircuitOpen) || IsRelayed(err) {
		return false
	}
	return p.o.Retry.retryable(status.Code(err))
}

// BreakerInterceptor fails fast with an *OpenError while the circuit is
// open and reports every attempt's outcome to the breaker.
func (p *Peer) BreakerInterceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	for _, o := range opts {
		if _, ok := o.(bypassBreakerOption); ok {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
	}
	done, err := p.breaker.Allow()
	if err != nil {
		return err
	}
	err = invoker(ctx, method, req, reply, cc, opts...)
	done(p.breaker.Classify(err))
	return err
}

type bypassBreakerOption struct{ grpc.EmptyCallOption }

// BypassBreaker sends the call even through an open circuit, and keeps its
// outcome out of the breaker's counts. It is for calls that must not be
// skipped, such as compensations: failing them fast would leave effects in
// force.
func BypassBreaker() grpc.CallOption { return bypassBreakerOption{} }

type maxRetriesOption struct {
	grpc.EmptyCallOption
	n int
}

// MaxRetries overrides the policy's retry count for one call (still bounded
// by its deadline).
func MaxRetries(n int) grpc.CallOption { return maxRetriesOption{n: max(n, 0)} }
