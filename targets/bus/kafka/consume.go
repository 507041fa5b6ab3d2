package kafka

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/edabench/edabench/targets/bus"
)

const (
	// commitInterval is how often the acked prefix of each partition is
	// committed; what an interval leaves uncommitted at a crash is
	// delivered again (at-least-once), never lost.
	commitInterval = time.Second
	// sessionTimeout and heartbeat decide how soon the group hands a dead
	// member's partitions to the others. 6 s is the broker's default floor
	// (group.min.session.timeout.ms): after a broker restart the members
	// that could not leave hold their partitions this long, and the new
	// ones wait for them (measured: order ends resumed 9.4 s after the
	// node was back with 10 s, 6.2 s with 6 s; docs/architecture.md).
	sessionTimeout = 6 * time.Second
	heartbeat      = time.Second
	// closeTimeout bounds the last commit and the leave of a closing member.
	closeTimeout = 10 * time.Second
	// settleTimeout bounds a dead-letter produce (DeadLetter has no ctx).
	settleTimeout = 30 * time.Second
	// joinTimeout bounds Subscribe's wait for the group's first
	// assignment: past it the member keeps joining in the background and
	// Subscribe returns, logging why, rather than failing a service whose
	// broker is merely slow.
	joinTimeout = 30 * time.Second
	// fetchMaxWait is how long the broker may hold an empty fetch: the
	// Java consumer's default (fetch.max.wait.ms), not franz-go's 5 s. A
	// record produced while a new member's first fetch is held was seen
	// to wait out the whole hold (5.0 s, about one try in two on the
	// private node; later fetches are answered at once), which is why
	// Subscribe also waits for that first fetch to come back.
	fetchMaxWait = 500 * time.Millisecond
)

// topicPartition names one partition.
type topicPartition struct {
	topic     string
	partition int32
}

// partition tracks the records of one assigned partition that were handed
// out and not yet acked, in offset order: Kafka commits a position, not a
// record, so only the prefix of acked records can be committed.
type partition struct {
	pending []*kgo.Record
	acked   map[int64]bool
	// next is the offset after the acked prefix (what the next commit
	// takes), hwm the partition's log end as of the last fetch: their
	// difference is the group's lag on it (MetricConsumerLag).
	next, hwm int64
	started   bool
}

func newPartition() *partition { return &partition{acked: map[int64]bool{}} }

func (p *partition) add(r *kgo.Record) {
	if !p.started {
		p.next, p.started = r.Offset, true
	}
	p.pending = append(p.pending, r)
}

// lag is the records of the partition past the acked prefix.
func (p *partition) lag() int64 {
	if !p.started || p.hwm < p.next {
		return 0
	}
	return p.hwm - p.next
}

// ack records that offset was acked and returns the last record of the
// acked prefix if the prefix grew (the one to mark for commit), else nil.
func (p *partition) ack(offset int64) *kgo.Record {
	p.acked[offset] = true
	var last *kgo.Record
	for len(p.pending) > 0 && p.acked[p.pending[0].Offset] {
		last = p.pending[0]
		delete(p.acked, last.Offset)
		p.pending = p.pending[1:]
	}
	return last
}

// subscription is one member of the queue's consumer group (group ID =
// queue name), on a client of its own, so ending it (a lost connection)
// gives its uncommitted records to whoever owns their partitions next.
type subscription struct {
	d        *driver
	queue    string
	prefetch int
	cl       *kgo.Client
	out      chan bus.Inbound
	ctx      context.Context // the flow: ends on Cancel, Close or a loss
	stop     context.CancelFunc
	pumped   chan struct{} // closed when the pump returned
	room     chan struct{} // a record settled
	joined   *bus.Once     // the group's first assignment came
	fetched  *bus.Once     // the member's first fetch response came back

	mu        sync.Mutex
	err       error
	ended     bool // acks are refused: the records go to the next owner
	inflight  int
	parts     map[topicPartition]*partition
	closeOnce sync.Once
}

// Subscribe joins the consumer group of queue and starts the flow.
func (d *driver) Subscribe(ctx context.Context, queue string, prefetch int) (bus.Subscription, error) {
	if d.ctx.Err() != nil {
		return nil, fmt.Errorf("kafka: subscribe to %s: %w", queue, bus.ErrClosed)
	}
	if prefetch <= 0 {
		prefetch = d.opts.Prefetch
	}
	if err := d.topicExists(ctx, queue); err != nil {
		return nil, err
	}
	// Deliveries holds a whole poll (at most prefetch records), so handing
	// a poll out never waits for a worker while rebalances are blocked.
	s := &subscription{d: d, queue: queue, prefetch: prefetch, out: make(chan bus.Inbound, prefetch),
		pumped: make(chan struct{}), room: make(chan struct{}, 1), joined: bus.NewOnce(),
		fetched: bus.NewOnce(), parts: map[topicPartition]*partition{}}
	s.ctx, s.stop = context.WithCancel(d.ctx)
	cl, err := kgo.NewClient(d.clientOpts(bus.RoleConsume, func() {}, s.lost,
		kgo.ConsumerGroup(queue), kgo.ConsumeTopics(queue),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),             // a new group reads what was published before it
		kgo.AutoCommitMarks(), kgo.AutoCommitInterval(commitInterval), // only what the layer acked
		kgo.BlockRebalanceOnPoll(), kgo.OnPartitionsAssigned(s.assigned),
		kgo.OnPartitionsRevoked(s.revoked), kgo.OnPartitionsLost(s.lostPartitions),
		kgo.SessionTimeout(sessionTimeout), kgo.HeartbeatInterval(heartbeat), kgo.FetchMaxWait(fetchMaxWait),
		kgo.WithHooks(firstFetch{s.fetched}))...)
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("kafka: consumer client of %s at %s: %w", queue, d.addr(), err)
	}
	s.cl = cl
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		s.stop()
		cl.Close()
		return nil, fmt.Errorf("kafka: subscribe to %s: %w", queue, bus.ErrClosed)
	}
	d.subs[s] = true
	d.mu.Unlock()
	go s.pump()
	s.awaitJoin(ctx)
	switch {
	case d.consLost.CompareAndSwap(true, false):
		d.obs.Observe(bus.Event{Kind: bus.EventReconnected, Role: bus.RoleConsume})
	case d.consumed.CompareAndSwap(false, true):
		d.obs.Observe(bus.Event{Kind: bus.EventConnected, Role: bus.RoleConsume})
	}
	return s, nil
}

// awaitJoin holds Subscribe until the member's first group session has
// its assignment and its first fetch came back: a service announces
// itself ready after subscribing. Measured on the private node: a member
// still joining left the load's first second of orders waiting (nothing
// completed in a smoke run's first second, then that second's orders at
// 1.4 s end to end), and a record produced while a new member's first
// fetch was held waited out the hold. A slow start is logged, not fatal:
// the member keeps starting and nothing published is lost, as a new group
// reads from the start.
func (s *subscription) awaitJoin(ctx context.Context) {
	t := time.NewTimer(joinTimeout)
	defer t.Stop()
	for _, step := range []struct {
		what string
		done <-chan struct{}
	}{{"assigned", s.joined.Done()}, {"fetching", s.fetched.Done()}} {
		select {
		case <-step.done:
		case <-s.ctx.Done():
			return
		case <-ctx.Done():
			return
		case <-t.C:
			s.d.log.Warn("kafka: consumer not "+step.what+" yet; continuing while it starts", "group", s.queue, "waited", joinTimeout)
			return
		}
	}
}

// firstFetch raises its signal at the client's first fetch response.
type firstFetch struct{ fetched *bus.Once }

// fetchKey is the Kafka protocol's API key of Fetch.
const fetchKey = 1

func (f firstFetch) OnBrokerE2E(_ kgo.BrokerMetadata, key int16, e2e kgo.BrokerE2E) {
	if key == fetchKey && e2e.Err() == nil {
		f.fetched.Do()
	}
}

// assigned marks the first assignment, which franz-go reports even when it
// gives this member no partition (more members than partitions).
func (s *subscription) assigned(context.Context, *kgo.Client, map[string][]int32) {
	s.joined.Do()
}

// topicExists refuses a queue nobody declared; a topic created a moment
// ago may take a few metadata rounds to show, hence the retries.
func (d *driver) topicExists(ctx context.Context, queue string) error {
	var last error
	for n := 1; n <= 5; n++ {
		td, err := d.adm.ListTopics(ctx, queue)
		if err != nil {
			return fmt.Errorf("%w: kafka: look up topic %s at %s: %w", bus.ErrConnectionLost, queue, d.addr(), err)
		}
		if t, ok := td[queue]; ok && t.Err == nil {
			return nil
		} else if ok {
			last = t.Err
		}
		if !bus.Sleep(ctx, time.Duration(n)*100*time.Millisecond) {
			return ctx.Err()
		}
	}
	return fmt.Errorf("%w: kafka: no topic %q at %s (%v): declare the queue (bus.WithQueue) before consuming it",
		bus.ErrRefused, queue, d.addr(), last)
}

func (s *subscription) Deliveries() <-chan bus.Inbound { return s.out }

func (s *subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Cancel stops the flow; records in flight may still be acked until Close.
func (s *subscription) Cancel(ctx context.Context) error {
	s.stop()
	select {
	case <-s.pumped:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close commits what was acked and leaves the group, whose next owner of
// each partition starts after the last commit.
func (s *subscription) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.ended = true
		s.mu.Unlock()
		s.stop()
		<-s.pumped
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		if err := s.cl.CommitMarkedOffsets(ctx); err != nil {
			s.d.log.Warn("kafka: last commit failed; the next member gets those records again", "queue", s.queue, "err", err)
		}
		s.cl.AllowRebalance()
		_ = s.cl.LeaveGroupContext(ctx)
		s.cl.CloseAllowingRebalance()
		s.d.mu.Lock()
		delete(s.d.subs, s)
		s.d.mu.Unlock()
	})
	return nil
}

// end stops the subscription for err: acks from now on are refused, so
// what is in flight goes to the next owner instead of being committed.
func (s *subscription) end(err error) {
	s.mu.Lock()
	if s.err == nil && !s.ended {
		s.err = err
	}
	s.ended = true
	s.mu.Unlock()
	s.stop()
}

// lost is a failed connection of the member's client.
func (s *subscription) lost(err error) {
	s.mu.Lock()
	ended := s.ended
	s.mu.Unlock()
	if ended || s.ctx.Err() != nil {
		return // reported once: every connection of the client fails at once
	}
	s.d.consLost.Store(true)
	s.d.obs.Observe(bus.Event{Kind: bus.EventDisconnected, Role: bus.RoleConsume, Err: err})
	s.end(fmt.Errorf("%w: kafka: a connection of %q consuming %s failed: %w", bus.ErrConnectionLost, s.d.cfg.ConnectionName, s.queue, err))
}
