package rabbitmq_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/edabench/edabench/harness/broker/brokertest"
	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/rabbitmq"
)

// testBroker is what the tests need from a node.
type testBroker struct {
	amqpURL string
	mgmtURL string // "" when unknown
}

// sharedBroker is the shared private node. BUS_TEST_AMQP_URL (development
// only) points the non-destructive tests at another broker instead.
func sharedBroker(t testing.TB) testBroker {
	t.Helper()
	if u := os.Getenv("BUS_TEST_AMQP_URL"); u != "" {
		return testBroker{amqpURL: u, mgmtURL: os.Getenv("BUS_TEST_MGMT_URL")}
	}
	n := brokertest.Shared(t)
	return testBroker{amqpURL: n.AMQPURL(), mgmtURL: n.MgmtURL()}
}

var nameSeq atomic.Int64

// uniqueName returns a queue/exchange name unique to this test run.
func uniqueName(t testing.TB, what string) string {
	clean := regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "-")
	return fmt.Sprintf("bustest.%s.%s.%d.%d", strings.ToLower(clean), what, time.Now().UnixNano()%1e9, nameSeq.Add(1))
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// cleanupTopology deletes the test's exchanges and queues (and DLQs) from the broker.
func cleanupTopology(t testing.TB, amqpURL string, exchanges []string, queues []string) {
	t.Helper()
	t.Cleanup(func() {
		conn, err := amqp.Dial(amqpURL)
		if err != nil {
			t.Logf("cleanup: %v", err)
			return
		}
		defer conn.Close()
		for _, q := range queues {
			for _, name := range []string{q, bus.DLQName(q)} {
				if ch, err := conn.Channel(); err == nil {
					_, _ = ch.QueueDelete(name, false, false, false)
					_ = ch.Close()
				}
			}
		}
		for _, ex := range exchanges {
			if ch, err := conn.Channel(); err == nil {
				_ = ch.ExchangeDelete(ex, false, false)
				_ = ch.Close()
			}
		}
	})
}

// env is a test topology: one exchange (with its DLX) and queues.
type env struct {
	t        testing.TB
	broker   testBroker
	exchange string
	queues   []testQueue
	obs      *counter
	name     string
}

func newEnv(t testing.TB, b testBroker, queues ...testQueue) *env {
	t.Helper()
	e := &env{t: t, broker: b, exchange: uniqueName(t, "ex"), queues: queues, obs: newCounter(), name: uniqueName(t, "conn")}
	var qnames []string
	for _, q := range queues {
		qnames = append(qnames, q.Name)
	}
	cleanupTopology(t, b.amqpURL, []string{e.exchange, e.exchange + ".dlx"}, qnames)
	return e
}

func (e *env) dial(ctx context.Context, extra ...bus.Option) *bus.Conn {
	e.t.Helper()
	opts := []bus.Option{
		bus.WithURL(e.broker.amqpURL),
		bus.WithConnectionName(e.name),
		bus.WithExchange(e.exchange),
		bus.WithLogger(testLogger(e.t)),
		bus.WithObserver(e.obs),
		bus.WithBackoff(50*time.Millisecond, 2*time.Second),
	}
	for _, q := range e.queues {
		opts = append(opts, bus.WithQueue(q.bus()))
	}
	opts = append(opts, bus.WithDriverOptions(rabbitmq.Options{QueueType: rabbitmq.Quorum}))
	c, err := bus.Dial(ctx, rabbitmq.Kind(), append(opts, extra...)...)
	if err != nil {
		e.t.Fatalf("Dial: %v", err)
	}
	e.t.Cleanup(func() { _ = c.Close() })
	return c
}

// testQueue is a queue of a test topology with its RabbitMQ queue type
// (default quorum; classic is the driver's type for an unreplicated queue).
type testQueue struct {
	Name        string
	Type        rabbitmq.QueueType
	Bindings    []string
	MaxAttempts int
}

func (q testQueue) bus() bus.Queue {
	return bus.Queue{Name: q.Name, Bindings: q.Bindings, MaxAttempts: q.MaxAttempts, Unreplicated: q.Type == rabbitmq.Classic}
}

// counter is an Observer counting events by kind (and role).
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func newCounter() *counter { return &counter{n: map[string]int{}} }

func (c *counter) Observe(e bus.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[string(e.Kind)]++
	if e.Role != "" {
		c.n[string(e.Kind)+"/"+e.Role]++
	}
}

func (c *counter) get(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

func (c *counter) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, _ := json.Marshal(c.n)
	return string(b)
}

// seen records deliveries per message ID.
type seen struct {
	mu   sync.Mutex
	n    map[string]int
	cond chan struct{}
}

func newSeen() *seen { return &seen{n: map[string]int{}, cond: make(chan struct{}, 1)} }

func (s *seen) add(id string) int {
	s.mu.Lock()
	s.n[id]++
	c := s.n[id]
	s.mu.Unlock()
	select {
	case s.cond <- struct{}{}:
	default:
	}
	return c
}

func (s *seen) count(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[id]
}

func (s *seen) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.n)
}

// missing returns the IDs of want not seen yet.
func (s *seen) missing(want []string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, id := range want {
		if s.n[id] == 0 {
			out = append(out, id)
		}
	}
	return out
}

// waitAll waits until every ID in want was seen, failing after timeout.
func (s *seen) waitAll(t testing.TB, want func() []string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		m := s.missing(want())
		if len(m) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages never consumed (e.g. %v)", len(m), len(want()), m[:min(5, len(m))])
		}
		select {
		case <-s.cond:
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// idList is a concurrency-safe append-only list of message IDs.
type idList struct {
	mu  sync.Mutex
	ids []string
}

func (l *idList) add(id string) {
	l.mu.Lock()
	l.ids = append(l.ids, id)
	l.mu.Unlock()
}

func (l *idList) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.ids...)
}

// closeConnectionsByName force-closes (management API DELETE) every
// connection whose client-provided name starts with prefix; it waits until
// at least want such connections are listed. It returns how many it closed.
func closeConnectionsByName(t testing.TB, mgmtURL, prefix string, want int) int {
	t.Helper()
	if mgmtURL == "" {
		t.Fatal("no management API URL for this broker: the private node always has one (BUS_TEST_MGMT_URL unset?)")
	}
	client := &http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		conns := listConnections(t, client, strings.TrimRight(mgmtURL, "/"))
		var names []string
		for _, c := range conns {
			if strings.HasPrefix(c.ClientProperties.ConnectionName, prefix) {
				names = append(names, c.Name)
			}
		}
		if len(names) >= want {
			for _, n := range names {
				deleteConnection(t, client, strings.TrimRight(mgmtURL, "/"), n)
			}
			return len(names)
		}
		if time.Now().After(deadline) {
			t.Fatalf("management API lists %d connections named %q*, want %d", len(names), prefix, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// killClient force-closes every connection whose name starts with name that was
// open when it was called (a driver may hold two: publish and consume),
// and its reconnections none. The management API lists a connection only
// after a stats tick, which a loaded machine delays: so it keeps looking
// for a settle window after the first close, closing late-listed ones
// opened before the call, instead of trusting one listing's count.
func killClient(t testing.TB, mgmtURL, name string) {
	t.Helper()
	before := time.Now().UnixMilli()
	client := &http.Client{Timeout: 10 * time.Second}
	base := strings.TrimRight(mgmtURL, "/")
	closed := map[string]bool{}
	deadline := time.Now().Add(30 * time.Second)
	var settle time.Time
	for {
		for _, c := range listConnections(t, client, base) {
			if !strings.HasPrefix(c.ClientProperties.ConnectionName, name) || c.ConnectedAt > before || closed[c.Name] {
				continue
			}
			deleteConnection(t, client, base, c.Name)
			closed[c.Name] = true
			if settle.IsZero() {
				settle = time.Now().Add(3 * time.Second)
			}
		}
		switch {
		case !settle.IsZero() && time.Now().After(settle):
			return
		case settle.IsZero() && time.Now().After(deadline):
			t.Fatalf("management API lists no connection named %q opened before the kill", name)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// mgmtConn is a connection as the management API lists it.
type mgmtConn struct {
	Name             string `json:"name"`
	ConnectedAt      int64  `json:"connected_at"` // ms since the epoch
	ClientProperties struct {
		ConnectionName string `json:"connection_name"`
	} `json:"client_properties"`
}

func listConnections(t testing.TB, client *http.Client, base string) []mgmtConn {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/connections", nil)
	req.SetBasicAuth("guest", "guest")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("management API: %v", err)
	}
	defer resp.Body.Close()
	var conns []mgmtConn
	if err := json.NewDecoder(resp.Body).Decode(&conns); err != nil {
		t.Fatalf("management API: decoding /api/connections: %v", err)
	}
	return conns
}

func deleteConnection(t testing.TB, client *http.Client, base, name string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, base+"/api/connections/"+url.PathEscape(name), nil)
	req.SetBasicAuth("guest", "guest")
	req.Header.Set("X-Reason", "edabench bus test: forced close")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("management API: DELETE connection %q: %v", name, err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusNotFound {
		t.Fatalf("management API: DELETE connection %q: %s", name, resp.Status)
	}
}

// getAll drains a queue with basic.get (used to inspect DLQs).
func getAll(t testing.TB, amqpURL, queue string) []amqp.Delivery {
	t.Helper()
	conn, err := amqp.Dial(amqpURL)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("channel: %v", err)
	}
	var out []amqp.Delivery
	for {
		d, ok, err := ch.Get(queue, true)
		if err != nil {
			t.Fatalf("get %s: %v", queue, err)
		}
		if !ok {
			return out
		}
		out = append(out, d)
	}
}

// waitFor polls cond until it holds or timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
