package nats_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/natsnode/natstest"
	"github.com/edabench/edabench/targets/bus"
	natsbus "github.com/edabench/edabench/targets/bus/nats"
)

// relay is a TCP relay in front of the node, as the harness's proxy is on
// a service's broker link: it can cut every connection it carries and
// refuse new ones. Like a server of a cluster, it adds the node's own
// address to the server's INFO as a discovered server (connect_urls):
// a client that used it would reconnect to the node around the relay.
type relay struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	ups    []net.Conn // the relay's own connections to the node
	cut    bool
	silent bool // the client sides stay open when their node side goes
}

func newRelay(t *testing.T, target string) *relay {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{l: l, target: target}
	t.Cleanup(func() { l.Close(); r.cutAll(true) })
	go r.serve()
	return r
}

func (r *relay) addr() string { return r.l.Addr().String() }

func (r *relay) serve() {
	for {
		c, err := r.l.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		if r.cut {
			r.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.DialTimeout("tcp", r.target, 5*time.Second)
		if err != nil {
			r.mu.Unlock()
			c.Close()
			continue
		}
		r.conns = append(r.conns, c, up)
		r.ups = append(r.ups, up)
		r.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); up.Close() }()
		go func() {
			_ = r.advertise(c, up)
			r.mu.Lock()
			silent := r.silent
			r.mu.Unlock()
			if !silent {
				c.Close()
			}
		}()
	}
}

// advertise copies the server's side to the client, the node's address
// added to the connect_urls of its first INFO.
func (r *relay) advertise(c, up net.Conn) error {
	br := bufio.NewReader(up)
	line, err := br.ReadString('\n')
	if err != nil {
		return err
	}
	info, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "INFO ")
	if ok {
		var m map[string]any
		if err := json.Unmarshal([]byte(info), &m); err != nil {
			return err
		}
		m["connect_urls"] = []string{r.target}
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		line = "INFO " + string(b) + "\r\n"
	}
	if _, err := io.WriteString(c, line); err != nil {
		return err
	}
	_, err = io.Copy(c, br)
	return err
}

// cutAll closes every relayed connection; with refuse, new ones too.
func (r *relay) cutAll(refuse bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cut = refuse
	for _, c := range r.conns {
		c.Close()
	}
	r.conns = nil
}

// silence drops the node's side of every relayed connection and keeps
// the client's open: the client hears nothing, and no reset tells it so,
// as in a partition (the proxies' cut in timeout mode).
func (r *relay) silence() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.silent = true
	for _, up := range r.ups {
		up.Close()
	}
	r.ups = nil
}

// dialed records the addresses a driver dialed.
type dialed struct {
	mu  sync.Mutex
	got []string
}

func (d *dialed) dial(ctx context.Context, _, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.got = append(d.got, addr)
	d.mu.Unlock()
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

func (d *dialed) list() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Compact(slices.Sorted(slices.Values(d.got)))
}

// TestEveryConnectionCrossesTheProxy: given a relay's address, the driver
// dials the relay alone, also when it reconnects after the relay cut it
// and the server had named another address to reconnect to; so a cut of
// the relay is a cut of the service's broker link (no PubAck while it
// lasts) and once it heals the publishes go through again.
func TestEveryConnectionCrossesTheProxy(t *testing.T) {
	node := natstest.Shared(t)
	prefix := fmt.Sprintf("natsproxy-%d", time.Now().UnixNano())
	release := node.Claim(t.Context(), brokernode.Topology{Prefixes: []string{prefix}})
	t.Cleanup(func() { release(context.Background()) })
	rl := newRelay(t, node.Addr())
	rec := &dialed{}
	kind := natsbus.KindDialing(rec.dial)
	cfg := bus.DriverConfig{URL: "nats://" + rl.addr(), ConnectionName: prefix,
		BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond, ConnectTimeout: 30 * time.Second}
	d, err := kind.Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	topo := bus.Topology{Exchange: prefix + ".orders", Queues: []bus.Queue{{Name: prefix + ".in", Bindings: []string{"in.#"}}}}
	t.Cleanup(func() { _ = natsbus.Kind().Delete(context.Background(), bus.DriverConfig{URL: node.ClientURL()}, topo) })
	if err := d.Declare(t.Context(), topo); err != nil {
		t.Fatal(err)
	}
	publish := func(ctx context.Context, id string) error {
		return d.Publish(ctx, bus.Outgoing{RoutingKey: "in.placed", Body: []byte(id), MessageID: bus.NewMessageID(),
			CorrelationID: id, PublishedNS: time.Now().UnixNano()})
	}
	if err := publish(t.Context(), "before"); err != nil {
		t.Fatalf("publish through the relay: %v", err)
	}

	// Cut: for 3 s, no publish is acknowledged (the driver redials the
	// relay, refused, and never the node's address the INFO named).
	rl.cutAll(true)
	until := time.Now().Add(3 * time.Second)
	for time.Now().Before(until) {
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		err := publish(ctx, "cut")
		cancel()
		if err == nil {
			t.Fatalf("a publish was acknowledged while the relay refused every connection: the driver went around it (dialed %q)", rec.list())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Healed: the driver reconnects through the relay and publishes.
	rl.cutAll(false)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for {
		if err := d.Reconnect(ctx); err != nil {
			t.Fatalf("reconnect after the relay healed: %v", err)
		}
		err := publish(ctx, "healed")
		if err == nil {
			break
		}
		if !errors.Is(err, bus.ErrConnectionLost) || ctx.Err() != nil {
			t.Fatalf("publish after the relay healed: %v", err)
		}
	}
	if got := rec.list(); !slices.Equal(got, []string{rl.addr()}) {
		t.Fatalf("the driver dialed %q; want the relay %s alone (node %s)", got, rl.addr(), node.Addr())
	}
}

// TestSilentLinkIsNoticed: when the link goes silent (no data, no reset,
// as in a partition), the driver takes the connection for dead once its
// pings go unanswered, and a publish fails as a lost connection (which
// the layer republishes after Reconnect), instead of waiting for a PubAck
// that cannot come.
func TestSilentLinkIsNoticed(t *testing.T) {
	node := natstest.Shared(t)
	prefix := fmt.Sprintf("natssilent-%d", time.Now().UnixNano())
	release := node.Claim(t.Context(), brokernode.Topology{Prefixes: []string{prefix}})
	t.Cleanup(func() { release(context.Background()) })
	rl := newRelay(t, node.Addr())
	cfg := bus.DriverConfig{URL: "nats://" + rl.addr(), ConnectionName: prefix, Options: natsbus.Options{PingInterval: 300 * time.Millisecond},
		BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond, ConnectTimeout: 30 * time.Second}
	d, err := natsbus.Kind().Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	topo := bus.Topology{Exchange: prefix + ".orders", Queues: []bus.Queue{{Name: prefix + ".in", Bindings: []string{"in.#"}}}}
	t.Cleanup(func() { _ = natsbus.Kind().Delete(context.Background(), bus.DriverConfig{URL: node.ClientURL()}, topo) })
	if err := d.Declare(t.Context(), topo); err != nil {
		t.Fatal(err)
	}
	publish := func(ctx context.Context) error {
		return d.Publish(ctx, bus.Outgoing{RoutingKey: "in.placed", Body: []byte("x"), MessageID: bus.NewMessageID(),
			CorrelationID: "x", PublishedNS: time.Now().UnixNano()})
	}
	if err := publish(t.Context()); err != nil {
		t.Fatal(err)
	}
	sub, err := d.Subscribe(t.Context(), topo.Queues[0].Name, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	t0 := time.Now()
	rl.silence()
	defer func() { t.Logf("noticed after %s", time.Since(t0)) }()
	// Three unanswered pings at 300 ms take about a second; a minute
	// bounds it on a loaded machine, far below nats.go's own 4 minutes.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	err = publish(ctx)
	if !errors.Is(err, bus.ErrConnectionLost) {
		t.Fatalf("publish over a silent link = %v, want a lost connection", err)
	}
}
