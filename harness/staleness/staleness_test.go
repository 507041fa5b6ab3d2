package staleness

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/edabench/edabench/harness/cpubill"

	"github.com/edabench/edabench/targets/api/orderpb"
)

// readSide answers GetOrder COMPLETED once an order's delay has passed
// since it was placed: a stand-in for a read model, so the test checks the
// probe's arithmetic, not a twin (the runner's tests probe real twins).
type readSide struct {
	orderpb.UnimplementedOrderServiceServer
	delay  time.Duration
	mu     sync.Mutex
	placed map[string]time.Time
}

func (r *readSide) GetOrder(_ context.Context, req *orderpb.GetOrderRequest) (*orderpb.Order, error) {
	r.mu.Lock()
	at := r.placed[req.GetOrderId()]
	r.mu.Unlock()
	st := orderpb.OrderStatus_ACCEPTED
	if time.Since(at) >= r.delay {
		st = orderpb.OrderStatus_COMPLETED
	}
	return &orderpb.Order{OrderId: req.GetOrderId(), Status: st}, nil
}

func serve(t testing.TB, rs *readSide) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	orderpb.RegisterOrderServiceServer(s, rs)
	go s.Serve(ln)
	t.Cleanup(s.Stop)
	return ln.Addr().String()
}

func TestProbe(t *testing.T) {
	tests := []struct {
		name      string
		delay     time.Duration
		immediate bool
	}{
		{"consistent at the reply (RR)", 0, true},
		{"eventually consistent (EDA)", 30 * time.Millisecond, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := &readSide{delay: tt.delay, placed: map[string]time.Time{}}
			p, err := New(context.Background(), serve(t, rs), "staleness", WithEvery(0))
			if err != nil {
				t.Fatal(err)
			}
			for i := range 10 {
				id := string(rune('a' + i))
				now := time.Now()
				rs.mu.Lock()
				rs.placed[id] = now
				rs.mu.Unlock()
				p.Offer(id, now)
				time.Sleep(time.Millisecond)
			}
			r := p.Close()
			if r.Sampled != 10 || r.Completed != 10 || r.Count != 10 {
				t.Fatalf("%+v: want 10 sampled, completed and recorded", r)
			}
			if tt.immediate {
				if r.ImmediatelyConsistent != 10 || r.StaleReads != 0 {
					t.Fatalf("%+v: want every first read complete", r)
				}
				return
			}
			if r.ImmediatelyConsistent != 0 || r.StaleReads == 0 || r.P50 < float64(tt.delay.Milliseconds()) {
				t.Fatalf("%+v: want stale reads for at least %v", r, tt.delay)
			}
		})
	}
}

func TestSampling(t *testing.T) {
	rs := &readSide{placed: map[string]time.Time{}}
	p, err := New(context.Background(), serve(t, rs), "staleness", WithEvery(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		p.Offer("x", time.Now())
	}
	if r := p.Close(); r.Sampled != 1 {
		t.Fatalf("sampled %d orders, want 1 per hour", r.Sampled)
	}
	if _, err := New(context.Background(), "192.0.2.1:80", "x"); err == nil {
		t.Fatal("a non-loopback gateway was accepted")
	}
}

// BenchmarkProbeRead is one probe of an order already consistent: a
// GetOrder on loopback and its recording (for `make bench-micro`, issue
// 21). The read side answering is in the same process, so ns/op and the
// allocations include the server's side of the call. "billed" times each
// read in a cpubill span, as a run does: the difference is what locking
// the thread through a blocking call costs (cpu-ns/op: the process's CPU
// per read, both sides).
func BenchmarkProbeRead(b *testing.B) {
	for _, bc := range []struct {
		name string
		ctx  context.Context
	}{
		{"unbilled", context.Background()},
		{"billed", cpubill.NewContext(context.Background(), cpubill.New())},
	} {
		b.Run(bc.name, func(b *testing.B) {
			rs := &readSide{placed: map[string]time.Time{}}
			p, err := New(bc.ctx, serve(b, rs), "staleness", WithEvery(0))
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			replied := time.Now()
			b.ReportAllocs()
			before := cpubill.From(bc.ctx).Read().Process
			for b.Loop() {
				p.probe(bc.ctx, "order-1", replied)
			}
			// The process's CPU (both sides of the call), not wall time:
			// what a span adds to the machine's work.
			b.ReportMetric(float64(cpubill.From(bc.ctx).Read().Process-before)/float64(b.N), "cpu-ns/op")
		})
	}
}
