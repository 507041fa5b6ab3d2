package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edabench/edabench/targets/bus"
)

// seen counts the deliveries of each order, across the group's members.
type seen struct {
	mu sync.Mutex
	n  map[string]int
}

func (s *seen) handler(_ context.Context, d bus.Delivery) error {
	time.Sleep(2 * time.Millisecond) // keep records in flight when a member stops
	s.mu.Lock()
	s.n[d.CorrelationID]++
	s.mu.Unlock()
	return nil
}

func (s *seen) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.n)
}

// member runs Consume on c until stop is called, which returns once
// Consume did (its acks committed, the group left). It returns once the
// member has its first assignment, as a service announces itself ready:
// a second member's join then means the group rebalanced between the two
// (CI saw the first member given nothing when the orders ran ahead of its
// join).
func member(t *testing.T, c *bus.Conn, queue string, h bus.Handler) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	subscribed := make(chan struct{}, 1)
	opts := bus.ConsumeOptions{Prefetch: 16, ShutdownGrace: 5 * time.Second, Subscribed: func() {
		select {
		case subscribed <- struct{}{}:
		default:
		}
	}}
	go func() {
		done <- c.Consume(ctx, queue, opts, h)
	}()
	select {
	case <-subscribed:
	case err := <-done:
		cancel()
		t.Fatalf("Consume ended before the member joined its group: %v", err)
	case <-time.After(time.Minute):
		cancel()
		t.Fatal("the member had no assignment after 1 min")
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil && !errors.Is(err, bus.ErrClosed) {
				t.Errorf("Consume: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// TestRestartedMemberLosesNothing: two services share a queue's consumer
// group while orders flow; one restarts (stops, and a new process joins).
// The group rebalances twice, and every order is consumed: what the
// stopped member had not acked goes to the partitions' new owner.
func TestRestartedMemberLosesNothing(t *testing.T) {
	e := newQueueEnv(t)
	const n = 300
	got := &seen{n: map[string]int{}}
	var byA atomic.Int64 // deliveries to the member that restarts
	stopA := member(t, e.dial(t, "svc-a"), e.q.Name, func(ctx context.Context, d bus.Delivery) error {
		byA.Add(1)
		return got.handler(ctx, d)
	})
	member(t, e.dial(t, "svc-b"), e.q.Name, got.handler)

	pub := e.dial(t, "pub")
	published := make(chan error, 1)
	go func() {
		for i := range n {
			id := fmt.Sprintf("o%d", i)
			if err := pub.Publish(t.Context(), "in.placed", bus.Message{Body: []byte(id), CorrelationID: id}); err != nil {
				published <- err
				return
			}
		}
		published <- nil
	}()
	waitUntil(t, "a third of the orders consumed", func() bool { return got.distinct() >= n/3 })
	stopA()
	if byA.Load() == 0 {
		t.Fatal("the member that restarts was given no partition: nothing rebalanced")
	}
	member(t, e.dial(t, "svc-a-restarted"), e.q.Name, got.handler)
	if err := <-published; err != nil {
		t.Fatalf("Publish: %v", err)
	}
	waitUntil(t, fmt.Sprintf("all %d orders consumed", n), func() bool { return got.distinct() == n })
	dups := 0
	got.mu.Lock()
	for _, c := range got.n {
		dups += c - 1
	}
	got.mu.Unlock()
	t.Logf("%d orders, %d duplicate deliveries across the restart", n, dups)
}

// waitUntil waits for cond, bounded: a physical bound for a loaded
// machine, not a speed claim.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 2m", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
