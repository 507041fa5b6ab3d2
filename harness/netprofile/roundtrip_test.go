package netprofile_test

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/edabench/edabench/harness/hops"
	"github.com/edabench/edabench/harness/netprofile"
	"github.com/edabench/edabench/internal/precise"
)

// pings is how many gRPC round trips each path takes; the medians compared
// are of this many, interleaved so the machine's noise hits every path alike.
const pings = 300

// TestProfileRoundTrip checks that a hop under a profile adds the profile's
// round trip to a gRPC call, and no more than the proxy's own overhead on
// top. The tolerance is measured here, not assumed: the gap between a
// direct call's median and a call's p90 through a bare proxy (what the
// proxy and this machine's noise cost), plus the overshoot of the two
// sleeps a round trip waits on (one each way).
func TestProfileRoundTrip(t *testing.T) {
	for _, name := range []string{netprofile.Datacenter, netprofile.CrossZone} {
		t.Run(name, func(t *testing.T) {
			p, err := netprofile.Named(name)
			if err != nil {
				t.Fatal(err)
			}
			server := healthServer(t)
			bare := proxy(t, server, hops.Degradation{})
			shaped := proxy(t, server, p.Degradation())
			clients := []healthpb.HealthClient{client(t, server), client(t, bare), client(t, shaped)}
			rtts := make([][]time.Duration, len(clients))
			ctx := t.Context()
			for range pings {
				for i, c := range clients {
					rtts[i] = append(rtts[i], ping(ctx, t, c))
				}
			}
			direct, viaBare, viaShaped := quantile(rtts[0], 0.5), quantile(rtts[1], 0.5), quantile(rtts[2], 0.5)
			overhead := quantile(rtts[1], 0.9) - direct
			tol := overhead + 2*timerOvershoot(p.Latency)
			added := viaShaped - viaBare
			t.Logf("%s: direct p50 %v, bare proxy p50 %v (p90 %v over direct), with the profile p50 %v: added %v for a round trip of %v, tolerance %v",
				name, direct, viaBare, overhead, viaShaped, added, p.RoundTrip(), tol)
			if added < p.RoundTrip()-tol || added > p.RoundTrip()+tol {
				t.Errorf("%s adds %v to a gRPC round trip, want %v ± %v (the proxy's own overhead and timer slack, measured)", name, added, p.RoundTrip(), tol)
			}
		})
	}
}

func healthServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	healthpb.RegisterHealthServer(s, health.NewServer())
	go s.Serve(ln)
	t.Cleanup(s.Stop)
	return ln.Addr().String()
}

func proxy(t *testing.T, upstream string, d hops.Degradation) string {
	t.Helper()
	set := hops.New(nil)
	t.Cleanup(func() {
		if err := set.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	if err := set.SetBase(d); err != nil {
		t.Fatal(err)
	}
	addr, err := set.Add("hop", upstream)
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

func client(t *testing.T, addr string) healthpb.HealthClient {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	c := healthpb.NewHealthClient(cc)
	ping(t.Context(), t, c) // connect outside the measurement
	return c
}

func ping(ctx context.Context, t *testing.T, c healthpb.HealthClient) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	t0 := time.Now()
	if _, err := c.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("gRPC ping: %v", err)
	}
	return time.Since(t0)
}

// timerOvershoot is how late the proxy's sleep of d (internal/precise's)
// wakes here, at its p90.
func timerOvershoot(d time.Duration) time.Duration {
	var late []time.Duration
	for range 50 {
		t0 := time.Now()
		precise.Sleep(context.Background(), d)
		late = append(late, time.Since(t0)-d)
	}
	return quantile(late, 0.9)
}

func quantile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}
