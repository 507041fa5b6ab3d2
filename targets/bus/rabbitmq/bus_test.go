package rabbitmq_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/rabbitmq"
)

var queueTypes = []rabbitmq.QueueType{rabbitmq.Classic, rabbitmq.Quorum}

// publishN publishes n messages from `workers` goroutines and returns their IDs.
func publishN(t testing.TB, ctx context.Context, c *bus.Conn, key string, n, workers int) []string {
	t.Helper()
	ids := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				id := bus.NewMessageID()
				err := c.Publish(ctx, key, bus.Message{
					MessageID:     id,
					CorrelationID: fmt.Sprintf("order-%d", i),
					Body:          []byte(fmt.Sprintf(`{"i":%d}`, i)),
				})
				if err != nil {
					errs <- fmt.Errorf("publish %d: %w", i, err)
					return
				}
				ids[i] = id
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return ids
}

func TestPublishConsumeExactlyOnceHappyPath(t *testing.T) {
	b := sharedBroker(t)
	for _, qt := range queueTypes {
		t.Run(string(qt), func(t *testing.T) {
			t.Parallel()
			const n = 2000
			q := testQueue{Name: uniqueName(t, "q"), Type: qt, Bindings: []string{"order.*"}}
			e := newEnv(t, b, q)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			c := e.dial(ctx)

			got := newSeen()
			var bad atomic.Value
			cctx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() {
				done <- c.Consume(cctx, q.Name, bus.ConsumeOptions{Prefetch: 50}, func(_ context.Context, d bus.Delivery) error {
					switch {
					case d.Redelivered || d.DeliveryCount != 0:
						bad.Store(fmt.Sprintf("unexpected redelivery %+v", d))
					case d.RoutingKey != "order.created" || !strings.HasPrefix(d.CorrelationID, "order-"):
						bad.Store(fmt.Sprintf("bad delivery metadata %+v", d))
					case d.PublishedAt.IsZero() || time.Since(d.PublishedAt) > time.Minute || time.Since(d.PublishedAt) < 0:
						bad.Store(fmt.Sprintf("bad PublishedAt %v", d.PublishedAt))
					case d.Queue != q.Name:
						bad.Store("bad queue " + d.Queue)
					}
					got.add(d.MessageID)
					return nil
				})
			}()

			ids := publishN(t, ctx, c, "order.created", n, 16)
			got.waitAll(t, func() []string { return ids }, time.Minute)
			// Give a duplicate a chance to show up before judging exactly-once.
			waitFor(t, 10*time.Second, "queue drained", func() bool {
				st, err := c.QueueStats(ctx, q.Name)
				return err == nil && st.Messages == 0 && st.Consumers == 1
			})
			time.Sleep(300 * time.Millisecond)
			stop()
			if err := <-done; err != nil {
				t.Fatalf("Consume: %v", err)
			}
			if v := bad.Load(); v != nil {
				t.Fatal(v)
			}
			for _, id := range ids {
				if k := got.count(id); k != 1 {
					t.Fatalf("message %s consumed %d times, want exactly 1", id, k)
				}
			}
			if got.distinct() != n {
				t.Fatalf("consumed %d distinct messages, want %d", got.distinct(), n)
			}
			if a, cf := e.obs.get("acked"), e.obs.get("confirmed"); a != n || cf != n {
				t.Fatalf("observer: acked=%d confirmed=%d, want %d each (%s)", a, cf, n, e.obs)
			}
			st, err := c.QueueStats(ctx, q.Name)
			if err != nil || st.Messages != 0 {
				t.Fatalf("QueueStats after consume = %+v, %v; want 0 messages", st, err)
			}
		})
	}
}

func TestHandlerErrorRetriesThenDeadLetters(t *testing.T) {
	b := sharedBroker(t)
	for _, qt := range queueTypes {
		t.Run(string(qt), func(t *testing.T) {
			t.Parallel()
			const maxAttempts = 3
			q := testQueue{Name: uniqueName(t, "q"), Type: qt, Bindings: []string{"payment.#"}, MaxAttempts: maxAttempts}
			e := newEnv(t, b, q)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c := e.dial(ctx)

			var mu sync.Mutex
			attempts := map[string][]int{}
			got := newSeen()
			cctx, stop := context.WithCancel(ctx)
			defer stop()
			go c.Consume(cctx, q.Name, bus.ConsumeOptions{Prefetch: 10}, func(_ context.Context, d bus.Delivery) error {
				mu.Lock()
				attempts[d.MessageID] = append(attempts[d.MessageID], d.Attempt())
				mu.Unlock()
				defer got.add(d.MessageID)
				switch string(d.Body) {
				case "fail":
					if d.RoutingKey != "payment.failed" {
						return bus.Poison(fmt.Errorf("routing key lost across retries: %q", d.RoutingKey))
					}
					return errors.New("transient failure")
				case "poison":
					return fmt.Errorf("cannot parse: %w", bus.ErrPoison)
				case "flaky":
					if d.Attempt() < 2 {
						return errors.New("first attempt fails")
					}
				}
				return nil
			})

			for _, body := range []string{"ok", "fail", "poison", "flaky"} {
				if err := c.Publish(ctx, "payment."+strings.Replace(body, "fail", "failed", 1), bus.Message{MessageID: body, CorrelationID: "o-1", Body: []byte(body)}); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, 30*time.Second, "DLQ to hold 2 messages", func() bool {
				st, err := c.QueueStats(ctx, bus.DLQName(q.Name))
				return err == nil && st.Messages == 2
			})
			waitFor(t, 10*time.Second, "flaky to succeed", func() bool { return got.count("flaky") == 2 })
			time.Sleep(200 * time.Millisecond) // a wrong extra attempt would show up now
			mu.Lock()
			defer mu.Unlock()
			want := map[string][]int{"ok": {1}, "fail": {1, 2, 3}, "poison": {1}, "flaky": {1, 2}}
			for id, w := range want {
				if fmt.Sprint(attempts[id]) != fmt.Sprint(w) {
					t.Errorf("%s: attempts %v, want %v", id, attempts[id], w)
				}
			}
			dead := getAll(t, b.amqpURL, bus.DLQName(q.Name))
			var ids []string
			for _, d := range dead {
				ids = append(ids, d.MessageId)
				if _, ok := d.Headers["x-death"]; !ok {
					t.Errorf("dead letter %s has no x-death header: %v", d.MessageId, d.Headers)
				}
				if d.CorrelationId != "o-1" {
					t.Errorf("dead letter %s lost its correlation ID", d.MessageId)
				}
			}
			if s := fmt.Sprint(sortStrings(ids)); s != "[fail poison]" {
				t.Errorf("DLQ holds %s, want [fail poison]", s)
			}
			if dl, rt := e.obs.get("dead_lettered"), e.obs.get("retried"); dl != 2 || rt != 3 {
				t.Errorf("observer: dead_lettered=%d retried=%d, want 2 and 3 (%s)", dl, rt, e.obs)
			}
			// A classic queue retries by republishing a copy and acking the
			// original, which settles it; a quorum queue requeues it.
			if ra, want := e.obs.get(string(bus.EventRetryAcked)), map[rabbitmq.QueueType]int{rabbitmq.Classic: 3}[qt]; ra != want {
				t.Errorf("observer: retry_acked=%d, want %d on a %s queue (%s)", ra, want, qt, e.obs)
			}
		})
	}
}

// TestQuorumDeliveryLimitEnforcedByBroker checks the broker-side bound
// (x-delivery-limit): a raw consumer that always requeues, as a crashing
// service would, still gets the message dead-lettered after MaxAttempts.
func TestQuorumDeliveryLimitEnforcedByBroker(t *testing.T) {
	b := sharedBroker(t)
	q := testQueue{Name: uniqueName(t, "q"), Type: rabbitmq.Quorum, Bindings: []string{"k"}, MaxAttempts: 4}
	e := newEnv(t, b, q)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := e.dial(ctx)
	if err := c.Publish(ctx, "k", bus.Message{Body: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	conn, err := amqp.Dial(b.amqpURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, _ := conn.Channel()
	deliveries := 0
	for deliveries < 20 {
		d, ok, err := ch.Get(q.Name, false)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		deliveries++
		_ = d.Nack(false, true)
	}
	waitFor(t, 10*time.Second, "message in DLQ", func() bool {
		st, err := c.QueueStats(ctx, bus.DLQName(q.Name))
		return err == nil && st.Messages == 1
	})
	if deliveries != q.MaxAttempts {
		t.Fatalf("broker delivered the message %d times, want MaxAttempts=%d", deliveries, q.MaxAttempts)
	}
}

func TestForcedConnectionCloseLosesNothing(t *testing.T) {
	b := sharedBroker(t)
	if b.mgmtURL == "" {
		t.Fatal("needs the management API: the private node always has one (BUS_TEST_MGMT_URL unset?)")
	}
	for _, qt := range queueTypes {
		t.Run(string(qt), func(t *testing.T) {
			q := testQueue{Name: uniqueName(t, "q"), Type: qt, Bindings: []string{"order.#"}, MaxAttempts: 50}
			e := newEnv(t, b, q)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			c := e.dial(ctx)

			got := newSeen()
			cctx, stop := context.WithCancel(ctx)
			consumeDone := make(chan error, 1)
			go func() {
				consumeDone <- c.Consume(cctx, q.Name, bus.ConsumeOptions{Prefetch: 20}, func(_ context.Context, d bus.Delivery) error {
					time.Sleep(200 * time.Microsecond) // a little service time
					got.add(d.MessageID)
					return nil
				})
			}()

			var confirmed idList
			pctx, stopPub := context.WithCancel(ctx)
			var wg sync.WaitGroup
			var pubErr atomic.Value
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; pctx.Err() == nil; i++ {
						id := fmt.Sprintf("w%d-%d", w, i)
						err := c.Publish(pctx, "order.created", bus.Message{MessageID: id, CorrelationID: id, Body: []byte(id)})
						if err != nil {
							if pctx.Err() == nil {
								pubErr.Store(err)
							}
							return
						}
						confirmed.add(id)
					}
				}()
			}
			waitFor(t, 30*time.Second, "traffic", func() bool { return got.distinct() > 300 })
			for round := range 2 {
				closed := closeConnectionsByName(t, b.mgmtURL, e.name+"/", 2)
				t.Logf("round %d: force-closed %d connections after %d confirms", round, closed, len(confirmed.snapshot()))
				before := len(confirmed.snapshot())
				waitFor(t, 60*time.Second, "publishing to resume", func() bool { return len(confirmed.snapshot()) > before+300 })
			}
			stopPub()
			wg.Wait()
			if v := pubErr.Load(); v != nil {
				t.Fatalf("publish failed instead of riding out the reconnect: %v", v)
			}
			got.waitAll(t, confirmed.snapshot, 90*time.Second)
			stop()
			if err := <-consumeDone; err != nil {
				t.Fatalf("Consume: %v", err)
			}
			if r := e.obs.get("reconnected/publish"); r < 2 {
				t.Errorf("publish connection reconnected %d times, want >= 2 (%s)", r, e.obs)
			}
			if r := e.obs.get("reconnected/consume"); r < 2 {
				t.Errorf("consume connection reconnected %d times, want >= 2 (%s)", r, e.obs)
			}
			t.Logf("confirmed %d messages, consumed %d distinct; events %s", len(confirmed.snapshot()), got.distinct(), e.obs)
		})
	}
}

func TestConsumeCancelStopsCleanly(t *testing.T) {
	b := sharedBroker(t)
	q := testQueue{Name: uniqueName(t, "q"), Type: rabbitmq.Quorum, Bindings: []string{"k"}}
	e := newEnv(t, b, q)
	// Let goroutines of earlier tests' closed connections settle first.
	time.Sleep(100 * time.Millisecond)
	baseline := runtime.NumGoroutine()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := e.dial(ctx)
	const n = 40
	publishN(t, ctx, c, "k", n, 4)

	started := make(chan struct{}, n)
	var finished, ctxCancelledInHandler atomic.Int64
	cctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- c.Consume(cctx, q.Name, bus.ConsumeOptions{Prefetch: 10, Concurrency: 4}, func(hctx context.Context, d bus.Delivery) error {
			started <- struct{}{}
			select {
			case <-time.After(500 * time.Millisecond):
			case <-hctx.Done():
				ctxCancelledInHandler.Add(1)
			}
			finished.Add(1)
			return nil
		})
	}()
	for range 4 {
		<-started
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Consume returned %v, want nil", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Consume did not return after ctx cancel")
	}
	f := finished.Load()
	if f < 4 || f > 8 {
		t.Errorf("%d handlers finished; want the 4 in flight to finish (and no new ones started)", f)
	}
	if ctxCancelledInHandler.Load() != 0 {
		t.Error("handler ctx was cancelled although the handlers finished within the grace")
	}
	waitFor(t, 10*time.Second, "unhandled messages back in the queue", func() bool {
		st, err := c.QueueStats(ctx, q.Name)
		return err == nil && int64(st.Messages) == n-f && st.Consumers == 0
	})

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctx, "k", bus.Message{}); !errors.Is(err, bus.ErrClosed) || !errors.Is(err, bus.ErrNotPublished) {
		t.Fatalf("Publish after Close = %v, want ErrNotPublished+ErrClosed", err)
	}
	if err := c.Consume(ctx, q.Name, bus.ConsumeOptions{}, func(context.Context, bus.Delivery) error { return nil }); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Consume after Close = %v, want ErrClosed", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutine leak: %d > baseline %d\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestHandlerGraceExpiresCancelsHandlerContext(t *testing.T) {
	b := sharedBroker(t)
	q := testQueue{Name: uniqueName(t, "q"), Type: rabbitmq.Classic, Bindings: []string{"k"}}
	e := newEnv(t, b, q)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := e.dial(ctx)
	publishN(t, ctx, c, "k", 1, 1)
	started := make(chan struct{})
	var sawCancel atomic.Bool
	cctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- c.Consume(cctx, q.Name, bus.ConsumeOptions{ShutdownGrace: 200 * time.Millisecond}, func(hctx context.Context, d bus.Delivery) error {
			close(started)
			<-hctx.Done()
			sawCancel.Store(true)
			return hctx.Err()
		})
	}()
	<-started
	stop()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Consume did not return")
	}
	if !sawCancel.Load() {
		t.Fatal("handler ctx not cancelled after the grace")
	}
}

func TestMandatoryUnroutable(t *testing.T) {
	b := sharedBroker(t)
	q := testQueue{Name: uniqueName(t, "q"), Bindings: []string{"routed"}}
	e := newEnv(t, b, q)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := e.dial(ctx, bus.WithMandatory(true))
	if err := c.Publish(ctx, "nobody.listens", bus.Message{Body: []byte("x")}); !errors.Is(err, bus.ErrUnroutable) {
		t.Fatalf("Publish(unroutable) = %v, want ErrUnroutable", err)
	}
	if err := c.Publish(ctx, "routed", bus.Message{Body: []byte("x")}); err != nil {
		t.Fatalf("Publish(routed) = %v", err)
	}
}

func TestPublishCancelledContext(t *testing.T) {
	b := sharedBroker(t)
	e := newEnv(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := e.dial(ctx)
	dead, cancelDead := context.WithCancel(ctx)
	cancelDead()
	err := c.Publish(dead, "k", bus.Message{})
	if !errors.Is(err, bus.ErrNotPublished) || !errors.Is(err, context.Canceled) || errors.Is(err, bus.ErrUnconfirmed) {
		t.Fatalf("Publish(cancelled ctx) = %v, want ErrNotPublished wrapping context.Canceled", err)
	}
}

func TestDialUnreachableIsActionable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	_, err := bus.Dial(ctx, rabbitmq.Kind(), bus.WithURL("amqp://guest:secret@127.0.0.1:1/"), bus.WithConnectTimeout(500*time.Millisecond),
		bus.WithBackoff(20*time.Millisecond, 100*time.Millisecond), bus.WithLogger(testLogger(t)))
	if err == nil {
		t.Fatal("Dial to a closed port succeeded")
	}
	msg := err.Error()
	for _, want := range []string{"cannot reach RabbitMQ at 127.0.0.1:1", "make broker-up"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "secret") {
		t.Errorf("error leaks the password: %q", msg)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("Dial took %s despite ConnectTimeout 500ms", time.Since(start))
	}
}

func TestDialBadCredentialsFailsFast(t *testing.T) {
	b := sharedBroker(t)
	u := strings.Replace(b.amqpURL, "guest:guest@", "guest:wrong@", 1)
	if u == b.amqpURL {
		t.Fatal("broker URL has no guest:guest credentials: BUS_TEST_AMQP_URL must use guest:guest")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	_, err := bus.Dial(ctx, rabbitmq.Kind(), bus.WithURL(u), bus.WithConnectTimeout(20*time.Second), bus.WithLogger(testLogger(t)))
	if err == nil || !strings.Contains(err.Error(), "check the user") {
		t.Fatalf("Dial with a wrong password = %v, want an actionable credentials error", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("bad credentials retried for %s instead of failing fast", time.Since(start))
	}
}

func TestTopologyMismatchFailsFast(t *testing.T) {
	b := sharedBroker(t)
	name := uniqueName(t, "q")
	e := newEnv(t, b, testQueue{Name: name, Type: rabbitmq.Classic})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e.dial(ctx)
	_, err := bus.Dial(ctx, rabbitmq.Kind(), bus.WithURL(b.amqpURL), bus.WithExchange(e.exchange), bus.WithQueue(bus.Queue{Name: name}), bus.WithDriverOptions(rabbitmq.Options{QueueType: rabbitmq.Quorum}), bus.WithLogger(testLogger(t)))
	if !errors.Is(err, bus.ErrRefused) || !strings.Contains(err.Error(), "PRECONDITION_FAILED") {
		t.Fatalf("redeclaring a classic queue as quorum = %v, want PRECONDITION_FAILED", err)
	}
}

func TestConsumeMissingQueue(t *testing.T) {
	b := sharedBroker(t)
	e := newEnv(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := e.dial(ctx)
	err := c.Consume(ctx, uniqueName(t, "nope"), bus.ConsumeOptions{}, func(context.Context, bus.Delivery) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "NOT_FOUND") {
		t.Fatalf("Consume(missing queue) = %v, want NOT_FOUND", err)
	}
	if _, err := c.QueueStats(ctx, uniqueName(t, "nope")); err == nil {
		t.Fatal("QueueStats(missing queue) succeeded")
	}
}

func sortStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestQueueDeletedUnderConsumerIsRedeclared: an operator deletes the queue
// while a consumer runs; the broker cancels the consumer, the bus declares
// the topology again and consuming resumes.
func TestQueueDeletedUnderConsumerIsRedeclared(t *testing.T) {
	b := sharedBroker(t)
	q := testQueue{Name: uniqueName(t, "q"), Type: rabbitmq.Quorum, Bindings: []string{"k"}}
	e := newEnv(t, b, q)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := e.dial(ctx)
	got := newSeen()
	cctx, stop := context.WithCancel(ctx)
	defer stop()
	go c.Consume(cctx, q.Name, bus.ConsumeOptions{}, func(_ context.Context, d bus.Delivery) error {
		got.add(d.MessageID)
		return nil
	})
	waitFor(t, 10*time.Second, "consumer", func() bool {
		st, err := c.QueueStats(ctx, q.Name)
		return err == nil && st.Consumers == 1
	})
	conn, err := amqp.Dial(b.amqpURL)
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := conn.Channel()
	if _, err := ch.QueueDelete(q.Name, false, false, false); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	waitFor(t, 20*time.Second, "queue re-declared with a consumer", func() bool {
		st, err := c.QueueStats(ctx, q.Name)
		return err == nil && st.Consumers == 1
	})
	ids := publishN(t, ctx, c, "k", 10, 2)
	got.waitAll(t, func() []string { return ids }, 20*time.Second)
}

func TestPublishRejectsUnencodableMessages(t *testing.T) {
	b := sharedBroker(t)
	q := testQueue{Name: uniqueName(t, "q"), Bindings: []string{"k"}}
	e := newEnv(t, b, q)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := e.dial(ctx)
	for name, m := range map[string]bus.Message{
		"header":     {Headers: map[string]any{"bad": struct{}{}}},
		"message id": {MessageID: strings.Repeat("x", 300)},
	} {
		if err := c.Publish(ctx, "k", m); !errors.Is(err, bus.ErrNotPublished) {
			t.Errorf("%s: Publish = %v, want ErrNotPublished", name, err)
		}
	}
	if err := c.Publish(ctx, strings.Repeat("k", 256), bus.Message{}); !errors.Is(err, bus.ErrNotPublished) {
		t.Errorf("long routing key: Publish = %v, want ErrNotPublished", err)
	}
	if err := c.Publish(ctx, "k", bus.Message{Headers: map[string]any{"ok": int64(1), "s": "v"}}); err != nil {
		t.Fatalf("valid publish after rejected ones: %v", err)
	}
	if n := e.obs.get("disconnected"); n != 0 {
		t.Fatalf("a rejected message cost %d reconnects", n)
	}
}
