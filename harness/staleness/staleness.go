// Package staleness measures how long a twin's read side lags its write
// side: from the moment PlaceOrder answered until GetOrder first reports
// the order COMPLETED. An RR twin answers when the workflow is done, so a
// read right after the reply should already say so; an EDA twin answers
// ACCEPTED and completes later, so its reads are stale for a while: the
// "eventual" in eventual consistency, measured.
//
// A sample of orders is probed, at a bounded rate and concurrency, so the
// probe's own reads stay a small share of the load.
package staleness

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	protocodec "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"

	"github.com/edabench/edabench/harness/cpubill"
	"github.com/edabench/edabench/harness/record"
	"github.com/edabench/edabench/internal/loopback"
	"github.com/edabench/edabench/targets/api/orderpb"
)

// Defaults: a probe every 50 ms at most (20 orders/s), 16 at a time, each
// reading every 2 ms for at most 10 s.
const (
	DefaultEvery       = 50 * time.Millisecond
	DefaultConcurrency = 16
	DefaultPoll        = 2 * time.Millisecond
	DefaultGiveUp      = 10 * time.Second
)

// Result is what the probe measured.
type Result struct {
	record.Summary
	// Sampled orders were probed; Completed of them were read COMPLETED
	// within the give-up time; StaleReads is how many reads, over all
	// probes, returned a status other than COMPLETED first.
	Sampled    int64 `json:"sampled"`
	Completed  int64 `json:"completed"`
	StaleReads int64 `json:"stale_reads"`
	// ImmediatelyConsistent is how many sampled orders read COMPLETED on
	// the very first read after the reply.
	ImmediatelyConsistent int64 `json:"immediately_consistent"`
}

// Prober probes orders after their reply.
type Prober struct {
	ctx    context.Context // bounds every probe; the run's
	conn   *grpc.ClientConn
	client orderpb.OrderServiceClient
	every  time.Duration
	poll   time.Duration
	giveUp time.Duration
	allow  *loopback.Allowlist // targets beyond loopback (nil: none)

	// slots bounds the probes under way.
	slots                                       chan struct{}
	next                                        atomic.Int64 // unix ns before which no order is sampled
	sampled, completed, staleReads, immediately atomic.Int64
	wg                                          sync.WaitGroup

	// One histogram under a lock, not an HDR shard per slot: at 20 probes a
	// second the lock is never contended, and a shard each (~370 KB, made
	// when a stall first keeps that many probes waiting) grew a soak's heap
	// by up to 6 MB long after its start.
	hist *record.Locked
}

// Option tunes a Prober.
type Option func(*Prober)

// WithEvery samples at most one order per d.
func WithEvery(d time.Duration) Option { return func(p *Prober) { p.every = d } }

// WithPoll reads every d.
func WithPoll(d time.Duration) Option { return func(p *Prober) { p.poll = d } }

// WithAllow lets the gateway be one of allow's targets rather than on
// loopback (a cluster's Service).
func WithAllow(allow *loopback.Allowlist) Option { return func(p *Prober) { p.allow = allow } }

// New connects to a loopback gateway, or one WithAllow names; ctx ends
// every probe when it is done.
func New(ctx context.Context, addr, name string, opts ...Option) (*Prober, error) {
	var probe Prober
	for _, o := range opts {
		o(&probe)
	}
	if err := probe.allow.Check(addr); err != nil {
		return nil, fmt.Errorf("staleness probe: %w", err)
	}
	dial := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if acct := cpubill.From(ctx).Account(cpubill.Staleness); acct != nil {
		dial = append(dial, grpc.WithDefaultCallOptions(grpc.ForceCodecV2(billedCodec{CodecV2: encoding.GetCodecV2(protocodec.Name), acct: acct})))
	}
	cc, err := grpc.NewClient(addr, dial...)
	if err != nil {
		return nil, fmt.Errorf("staleness probe: grpc client for %s: %w", addr, err)
	}
	p := &Prober{ctx: ctx, conn: cc, client: orderpb.NewOrderServiceClient(cc), hist: record.NewLocked(),
		every: DefaultEvery, poll: DefaultPoll, giveUp: DefaultGiveUp, slots: make(chan struct{}, DefaultConcurrency)}
	for _, o := range opts {
		o(p)
	}
	return p, nil
}

// Offer probes the order if it is due for a sample and a slot is free; it
// never blocks the load worker that calls it.
func (p *Prober) Offer(orderID string, replied time.Time) {
	now := time.Now().UnixNano()
	next := p.next.Load()
	if now < next || !p.next.CompareAndSwap(next, now+p.every.Nanoseconds()) {
		return
	}
	select {
	case p.slots <- struct{}{}:
	default:
		return
	}
	p.sampled.Add(1)
	p.wg.Add(1)
	go func() {
		defer func() { <-p.slots; p.wg.Done() }()
		p.probe(p.ctx, orderID, replied)
	}()
}

func (p *Prober) probe(ctx context.Context, id string, replied time.Time) {
	ctx, cancel := context.WithTimeout(ctx, p.giveUp)
	defer cancel()
	tick := time.NewTicker(p.poll)
	defer tick.Stop()
	for first := true; ; first = false {
		sent := time.Now()
		o, err := p.client.GetOrder(ctx, &orderpb.GetOrderRequest{OrderId: id})
		if err == nil && o.GetStatus() == orderpb.OrderStatus_COMPLETED {
			// The read that first saw it was sent at `sent`: the order was
			// complete by then, at the latest.
			p.hist.Record(max(sent.Sub(replied), 0))
			p.completed.Add(1)
			if first {
				p.immediately.Add(1)
			}
			return
		}
		if err == nil {
			p.staleReads.Add(1)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Close waits for the probes under way (each bounded by the give-up time,
// or ctx passed to Offer) and returns what they measured.
func (p *Prober) Close() Result {
	p.wg.Wait()
	p.conn.Close()
	h, _ := p.hist.Snapshot()
	return Result{Summary: record.Summarize(h), Sampled: p.sampled.Load(), Completed: p.completed.Load(),
		StaleReads: p.staleReads.Load(), ImmediatelyConsistent: p.immediately.Load()}
}

// billedCodec times the probe's encoding and decoding of each read as the
// staleness probe's CPU. Not the whole read: a span held across the call
// would lock the goroutine to its thread while it waits for the reply,
// and that hand-off costs more CPU than the read's own client side
// (BenchmarkProbeRead: about 40 µs more per read). The call's framing and
// transport stay in the harness's remainder; the span count is the reads.
type billedCodec struct {
	encoding.CodecV2
	acct *cpubill.Account
}

func (c billedCodec) Marshal(v any) (mem.BufferSlice, error) {
	sp := c.acct.Start()
	defer sp.End()
	return c.CodecV2.Marshal(v)
}

func (c billedCodec) Unmarshal(data mem.BufferSlice, v any) error {
	sp := c.acct.Start()
	defer sp.End()
	return c.CodecV2.Unmarshal(data, v)
}
