// Package attack places orders on a twin's OrderService for the load
// generator, and classifies each outcome for the accounting
// (sent = ok + errors + timeouts + dropped).
package attack

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/edabench/edabench/harness/load"
	"github.com/edabench/edabench/internal/loopback"
	"github.com/edabench/edabench/targets/api/orderpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// Outcome is how one request ended.
type Outcome uint8

const (
	OK       Outcome = iota // a reply: ACCEPTED or COMPLETED
	Rejected                // a reply: REJECTED (the workflow said no; counted with ok replies, and apart)
	Error                   // a gRPC error other than a timeout
	Timeout                 // the request's deadline passed
	Dropped                 // never sent: the in-flight cap was reached
)

func (o Outcome) String() string {
	return [...]string{"ok", "rejected", "error", "timeout", "dropped"}[o]
}

// ErrRejected marks a REJECTED reply in a load.Result.
var ErrRejected = errors.New("order rejected")

// Classify maps a result to its outcome and, for errors, the gRPC code name.
func Classify(r load.Result) (Outcome, string) {
	switch {
	case r.Dropped:
		return Dropped, ""
	case r.Err == nil:
		return OK, ""
	case errors.Is(r.Err, ErrRejected):
		return Rejected, ""
	}
	c := status.Code(r.Err)
	if c == codes.DeadlineExceeded || errors.Is(r.Err, context.DeadlineExceeded) {
		return Timeout, codes.DeadlineExceeded.String()
	}
	return Error, c.String()
}

// OrderID names an order so that whoever sees it complete (the EDA twin's
// OrderCompleted event) can tell its sequence number, intended and actual
// send times without a shared lookup table.
func OrderID(run string, seq uint64, intended, sent time.Time) string {
	return run + "-" + strconv.FormatUint(seq, 10) + "-" + strconv.FormatInt(intended.UnixNano(), 10) +
		"-" + strconv.FormatInt(sent.UnixNano(), 10)
}

// ParseOrderID is OrderID's inverse; ok is false for an order of another run.
func ParseOrderID(run, id string) (seq uint64, intended, sent time.Time, ok bool) {
	rest, found := strings.CutPrefix(id, run+"-")
	if !found {
		return 0, time.Time{}, time.Time{}, false
	}
	parts := strings.Split(rest, "-")
	if len(parts) != 3 {
		return 0, time.Time{}, time.Time{}, false
	}
	seq, err1 := strconv.ParseUint(parts[0], 10, 64)
	in, err2 := strconv.ParseInt(parts[1], 10, 64)
	st, err3 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, time.Time{}, time.Time{}, false
	}
	return seq, time.Unix(0, in), time.Unix(0, st), true
}

// GRPC places orders over a few client connections, so one HTTP/2
// connection's stream limit and write lock do not become the bottleneck.
type GRPC struct {
	conns   []*grpc.ClientConn
	clients []orderpb.OrderServiceClient
	next    atomic.Uint64
	run     string
	timeout time.Duration
	allow   *loopback.Allowlist
}

// Option configures NewGRPC.
type Option func(*GRPC)

// WithTimeout is each request's deadline (default 5 s).
func WithTimeout(d time.Duration) Option { return func(g *GRPC) { g.timeout = d } }

// WithAllow lets the gateway be one of allow's targets rather than on
// loopback (a cluster's Service).
func WithAllow(allow *loopback.Allowlist) Option { return func(g *GRPC) { g.allow = allow } }

// NewGRPC connects (lazily, as gRPC does) to a loopback gateway, or one
// WithAllow names; run names this run's orders.
func NewGRPC(addr, run string, conns int, opts ...Option) (*GRPC, error) {
	g := &GRPC{run: run, timeout: 5 * time.Second}
	for _, o := range opts {
		o(g)
	}
	if err := g.allow.Check(addr); err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	if conns < 1 {
		conns = 1
	}
	for i := 0; i < conns; i++ {
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			g.Close()
			return nil, fmt.Errorf("grpc client for %s: %w", addr, err)
		}
		g.conns = append(g.conns, cc)
		g.clients = append(g.clients, orderpb.NewOrderServiceClient(cc))
	}
	return g, nil
}

// Close closes the connections.
func (g *GRPC) Close() error {
	var errs []error
	for _, c := range g.conns {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// Attack places one order.
func (g *GRPC) Attack(ctx context.Context, req load.Request) load.Result {
	res := load.Result{Seq: req.Seq, Phase: req.Phase, Intended: req.Intended}
	client := g.clients[g.next.Add(1)%uint64(len(g.clients))]
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	res.Start = time.Now()
	id := OrderID(g.run, req.Seq, req.Intended, res.Start)
	rep, err := client.PlaceOrder(ctx, &orderpb.PlaceOrderRequest{
		OrderId: id, Customer: "load", AmountCents: 1999,
		Items: []*orderpb.Item{{Sku: "sku-1", Quantity: 1}},
	})
	res.End = time.Now()
	switch {
	case err != nil:
		res.Err = err
	case rep.GetStatus() == orderpb.OrderStatus_REJECTED:
		res.Err = fmt.Errorf("%w: %s", ErrRejected, rep.GetReason())
	}
	return res
}
