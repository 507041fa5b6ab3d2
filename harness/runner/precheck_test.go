package runner

import (
	"errors"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/edabench/edabench/harness/broker/brokertest"
	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/targets/serve/servetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
)

// deadAddr is a loopback address nothing listens on: a port just released.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// tcpServer accepts connections and hands each to serve, until the test ends.
func tcpServer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); serve(c) }()
		}
	}()
	return ln.Addr().String()
}

// silent holds a connection open without a word, until the peer gives up.
func silent(c net.Conn) { io.Copy(io.Discard, c) }

// httpOne answers whatever comes with an HTTP/1.1 response and hangs up.
func httpOne(c net.Conn) {
	c.Write([]byte("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
}

// grpcServer serves gRPC health, with server reflection or without.
func grpcServer(t *testing.T, withReflection bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	if withReflection {
		reflection.Register(srv)
	}
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

func TestCheckGateway(t *testing.T) {
	tests := []struct {
		name string
		addr func(*testing.T) string
		want string // "" for no error
	}{
		{"nothing listens", deadAddr, "nothing listens there (connection refused); start the twin"},
		{"silent TCP listener", func(t *testing.T) string { return tcpServer(t, silent) }, "does not answer gRPC"},
		{"HTTP/1 server", func(t *testing.T) string { return tcpServer(t, httpOne) }, "does not answer gRPC"},
		{"gRPC without reflection", func(t *testing.T) string { return grpcServer(t, false) }, "a gRPC server without server reflection"},
		{"gRPC without OrderService", func(t *testing.T) string { return grpcServer(t, true) },
			"serving [grpc.health.v1.Health grpc.reflection.v1.ServerReflection grpc.reflection.v1alpha.ServerReflection] but not edabench.v1.OrderService"},
		{"real gateway", servetest.RRGateway, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckGateway(t.Context(), tt.addr(t))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("CheckGateway: %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("CheckGateway: %v, want %q", err, tt.want)
			}
		})
	}
}

// Run stops at the check: exit-2 input, and no results folder.
func TestRunChecksTargetFirst(t *testing.T) {
	out := t.TempDir()
	addr := deadAddr(t)
	sc := mustScenario(t, "name: s\nstages:\n  - {name: a, duration: 1s, rate: 10}\n")
	_, dir, err := Run(t.Context(), WithTwins("rr"), WithScenario(sc), WithTarget(addr), WithOutDir(out), WithMetricsAddr("off"))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "--target "+addr+": nothing listens there") {
		t.Fatalf("Run: %v, want ErrInvalid naming --target %s", err, addr)
	}
	if dir != "" {
		t.Errorf("a results folder %s for a run that never started", dir)
	}
}

type brokerCase struct {
	name string
	url  func(*testing.T) string
	want string // "" for no error
}

func TestCheckBroker(t *testing.T) {
	tests := []brokerCase{
		{"not an AMQP URL", func(*testing.T) string { return "http://127.0.0.1:5682/" }, "not an AMQP URL"},
		{"nothing listens", func(t *testing.T) string { return "amqp://guest:guest@" + deadAddr(t) + "/" },
			"nothing listens there (connection refused); start the running twin's broker or fix the URL"},
		{"silent TCP listener", func(t *testing.T) string { return "amqp://guest:guest@" + tcpServer(t, silent) + "/" },
			"listens but no AMQP connection opened"},
	}
	if testing.Short() {
		t.Log("short mode: the cases against the real broker do not run")
	} else {
		node := brokertest.Shared(t)
		wrongPassword := func(t *testing.T) string {
			u, err := url.Parse(node.AMQPURL())
			if err != nil {
				t.Fatal(err)
			}
			u.User = url.UserPassword(u.User.Username(), "not-the-password")
			return u.String()
		}
		tests = append(tests,
			brokerCase{"wrong password", wrongPassword, "the broker refused the login"},
			brokerCase{"the broker", func(*testing.T) string { return node.AMQPURL() }, ""})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckBroker(t.Context(), brokernode.Default, tt.url(t))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("CheckBroker: %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("CheckBroker: %v, want %q", err, tt.want)
			}
		})
	}
}

// TestFirstAddr: the address a routed broker's reachability check dials,
// from each driver's URL form.
func TestFirstAddr(t *testing.T) {
	cases := []struct{ raw, want, err string }{
		{"127.0.0.1:9102", "127.0.0.1:9102", ""},
		{" kafka://127.0.0.1:9102,127.0.0.1:9103 ", "127.0.0.1:9102", ""},
		{"127.0.0.1:9102, 127.0.0.1:9103", "127.0.0.1:9102", ""},
		{"nats://127.0.0.1:4232", "127.0.0.1:4232", ""},
		{"nats://[::1]:4232", "[::1]:4232", ""},
		{"nats://127.0.0.1", "", "names no HOST:PORT"},
		{"", "", "names no HOST:PORT"},
	}
	for _, c := range cases {
		got, err := firstAddr(c.raw)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("firstAddr(%q) = %q, %v; want an error saying %q", c.raw, got, err, c.err)
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("firstAddr(%q) = %q, %v; want %q", c.raw, got, err, c.want)
		}
	}
}
