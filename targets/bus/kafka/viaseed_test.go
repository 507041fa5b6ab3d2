package kafka_test

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/kafka"
)

// forwarder is a TCP relay in front of the node, as the harness's
// Toxiproxy is on a service's broker link: it counts what it carried and
// can cut every connection it holds.
type forwarder struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	cut    bool
	served int
}

func newForwarder(t *testing.T, target string) *forwarder {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &forwarder{l: l, target: target}
	t.Cleanup(func() { l.Close(); f.cutAll(true) })
	go f.serve()
	return f
}

func (f *forwarder) addr() string { return f.l.Addr().String() }

func (f *forwarder) serve() {
	for {
		c, err := f.l.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		if f.cut {
			f.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.DialTimeout("tcp", f.target, 5*time.Second)
		if err != nil {
			f.mu.Unlock()
			c.Close()
			continue
		}
		f.served++
		f.conns = append(f.conns, c, up)
		f.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); up.Close() }()
		go func() { _, _ = io.Copy(c, up); c.Close() }()
	}
}

// cutAll closes every relayed connection; with refuse, new ones too.
func (f *forwarder) cutAll(refuse bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cut = refuse
	for _, c := range f.conns {
		c.Close()
	}
	f.conns = nil
}

// hosts records the addresses a driver's clients dialed.
type hosts struct {
	mu  sync.Mutex
	got []string
}

func (h *hosts) dial(ctx context.Context, _, network, host string) (net.Conn, error) {
	h.mu.Lock()
	h.got = append(h.got, host)
	h.mu.Unlock()
	var d net.Dialer
	return d.DialContext(ctx, network, host)
}

func (h *hosts) list() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Compact(slices.Sorted(slices.Values(h.got)))
}

// TestViaSeedKeepsEveryConnectionOnTheProxy: given a relay's address as
// its seed, a client dials the node's advertised listener around the relay;
// with ViaSeed every connection crosses the relay, so a cut of the relay
// is a cut of the service's broker link (publishes fail until it heals)
// and nothing is lost across it.
func TestViaSeedKeepsEveryConnectionOnTheProxy(t *testing.T) {
	e := newQueueEnv(t)
	fw := newForwarder(t, e.url)
	for _, tc := range []struct {
		name    string
		viaSeed bool
		want    func([]string) bool
	}{
		{"advertised listener bypasses the proxy", false, func(h []string) bool { return slices.Contains(h, e.url) }},
		{"via seed stays on it", true, func(h []string) bool { return slices.Equal(h, []string{fw.addr()}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &hosts{}
			c := e.dialKind(t, kafka.KindDialing(rec.dial), fw.addr(), kafka.Options{ViaSeed: tc.viaSeed}, tc.name)
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			if err := c.Publish(ctx, "in.placed", bus.Message{Body: []byte("x"), CorrelationID: tc.name}); err != nil {
				t.Fatalf("Publish: %v", err)
			}
			if h := rec.list(); !tc.want(h) {
				t.Fatalf("dialed %q (relay %s, node %s)", h, fw.addr(), e.url)
			}
		})
	}

	// Cut the relay under a pinned client: the publish cannot be
	// acknowledged while it is cut, and goes through once it heals.
	c := e.dialKind(t, kafka.Kind(), fw.addr(), kafka.Options{ViaSeed: true}, "cut")
	fw.cutAll(true)
	short, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	err := c.Publish(short, "in.placed", bus.Message{Body: []byte("cut"), CorrelationID: "cut"})
	cancel()
	if err == nil {
		t.Fatal("a publish was acknowledged while every connection to the relay was cut: the client went around it")
	}
	fw.cutAll(false)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := c.Publish(ctx, "in.placed", bus.Message{Body: []byte("healed"), CorrelationID: "healed"}); err != nil {
		t.Fatalf("Publish after the relay healed: %v", err)
	}
}

// A pinned client with several seeds would send every broker's requests
// to one: refused, naming the fix.
func TestViaSeedRefusesSeveralSeeds(t *testing.T) {
	_, err := kafka.Kind().Open(context.Background(), bus.DriverConfig{URL: "127.0.0.1:1,127.0.0.1:2", Options: kafka.Options{ViaSeed: true}})
	if err == nil || errors.Is(err, bus.ErrConnectionLost) {
		t.Fatalf("Open = %v, want a refusal of ViaSeed with two seeds", err)
	}
	if want := "give one HOST:PORT"; !strings.Contains(err.Error(), want) {
		t.Fatalf("Open = %v, want a message with %q", err, want)
	}
}
