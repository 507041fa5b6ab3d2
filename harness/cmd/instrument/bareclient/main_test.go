package main

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/edabench/edabench/targets/api/orderpb"
)

func TestSummarize(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name         string
		lat          []time.Duration
		ok, errs     int64
		p50Ms, p99Ms float64
	}{
		{"nothing", nil, 0, 0, 0, 0},
		{"failures are counted, not timed", []time.Duration{-1, 3 * ms, -1, 1 * ms, 2 * ms}, 3, 2, 2, 3},
		{"nearest rank", []time.Duration{10 * ms, 20 * ms, 30 * ms, 40 * ms}, 4, 0, 20, 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := summarize(tt.lat, 1)
			if r.Requests != int64(len(tt.lat)) || r.OK != tt.ok || r.Errors != tt.errs || r.P50Ms != tt.p50Ms || r.P99Ms != tt.p99Ms {
				t.Errorf("summarize = %+v, want ok %d errors %d p50 %v p99 %v", r, tt.ok, tt.errs, tt.p50Ms, tt.p99Ms)
			}
			if r.Requests != r.OK+r.Errors {
				t.Errorf("requests %d != ok %d + errors %d", r.Requests, r.OK, r.Errors)
			}
		})
	}
}

func TestParseRefusesBadInput(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "--target"},
		{[]string{"--target", "10.1.2.3:7100"}, "loopback"},
		{[]string{"--target", "127.0.0.1:7100", "--rate", "0"}, "positive"},
		{[]string{"--target", "127.0.0.1:7100", "--rate", "1e6", "--duration", "1m"}, "10 million"},
	} {
		if _, err := parse(tt.args); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parse(%q) = %v, want an error naming %q", tt.args, err, tt.want)
		}
	}
}

// gateway answers every third order with an error.
type gateway struct {
	orderpb.UnimplementedOrderServiceServer
	n atomic.Int64
}

func (g *gateway) PlaceOrder(context.Context, *orderpb.PlaceOrderRequest) (*orderpb.PlaceOrderReply, error) {
	if g.n.Add(1)%3 == 0 {
		return nil, status.Error(codes.Unavailable, "refused")
	}
	return &orderpb.PlaceOrderReply{}, nil
}

// The schedule runs to its count and every call is accounted: the
// figures' arithmetic, against a loopback stand-in for the gateway.
func TestLoadAccountsEveryCall(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	g := &gateway{}
	orderpb.RegisterOrderServiceServer(srv, g)
	go srv.Serve(ln)
	defer srv.Stop()
	cc, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	c := config{rate: 200, duration: 300 * time.Millisecond, timeout: 5 * time.Second}
	r := load(context.Background(), c, []orderpb.OrderServiceClient{orderpb.NewOrderServiceClient(cc)})
	if r.Requests != 60 || r.OK != 40 || r.Errors != 20 || g.n.Load() != 60 {
		t.Errorf("load = %+v with %d calls served; want 60 requests, 40 ok, 20 errors", r, g.n.Load())
	}
}
