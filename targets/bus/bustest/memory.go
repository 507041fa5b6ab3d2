package bustest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edabench/edabench/targets/bus"
)

// Memory is a broker in memory with a driver over it: topic exchanges,
// durable queues that count deliveries, dead-letter queues, and connections
// a test can kill. It keeps no promise a real broker keeps across a
// process, so it is for testing the layer (the contract in the -short
// tier), never for a twin.
type Memory struct {
	mu     sync.Mutex
	queues map[string]*memQueue
	binds  map[string]map[string][]string // exchange -> queue -> binding keys
	conns  map[*memDriver]bool
}

// NewMemory returns an empty broker.
func NewMemory() *Memory {
	return &Memory{queues: map[string]*memQueue{}, binds: map[string]map[string][]string{}, conns: map[*memDriver]bool{}}
}

// Kind is the driver over m, named "memory".
func (m *Memory) Kind() bus.Kind {
	return bus.Kind{
		Name: "memory",
		Open: func(ctx context.Context, cfg bus.DriverConfig) (bus.Driver, error) {
			d := &memDriver{m: m, name: cfg.ConnectionName, obs: cfg.Observer}
			m.mu.Lock()
			m.conns[d] = true
			m.mu.Unlock()
			return d, nil
		},
		Delete: func(_ context.Context, _ bus.DriverConfig, t bus.Topology) error {
			m.mu.Lock()
			defer m.mu.Unlock()
			for _, q := range t.Queues {
				delete(m.queues, q.Name)
				delete(m.queues, bus.DLQName(q.Name))
				for _, b := range m.binds {
					delete(b, q.Name)
				}
			}
			if t.Exchange != "" {
				delete(m.binds, t.Exchange)
			}
			return nil
		},
	}
}

// Broker is a bustest.Broker over m.
func (m *Memory) Broker(t *testing.T) Broker {
	return Broker{Kind: m.Kind(), URL: "memory://", Prefix: fmt.Sprintf("mem%d", time.Now().UnixNano()),
		Kill:    func(_ *testing.T, name string) { m.Kill(name) },
		Restart: func(*testing.T) { m.Kill("") }}
}

// Kill drops every connection whose name starts with name: what they had
// not settled goes back to its queue, counted, and they reconnect on next
// use. Kill("") is a restart: its queues are its durable state.
func (m *Memory) Kill(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for d := range m.conns {
		if strings.HasPrefix(d.name, name) && !d.dead {
			d.dead = true
			for s := range d.subs {
				s.endLocked(errors.New("memory: connection killed"))
			}
			d.subs = nil
		}
	}
}

type memMsg struct {
	out       bus.Outgoing
	exchange  string
	count     int
	redeliver bool
}

type memQueue struct {
	name  string
	ready []*memMsg
	wake  chan struct{} // closed and replaced when a message is ready
}

func (q *memQueue) push(msg *memMsg) {
	q.ready = append(q.ready, msg)
	close(q.wake)
	q.wake = make(chan struct{})
}

type memDriver struct {
	m      *Memory
	name   string
	obs    bus.Observer
	topo   bus.Topology
	dead   bool // guarded by m.mu
	closed bool
	subs   map[*memSub]bool
}

func (d *memDriver) Declare(_ context.Context, t bus.Topology) error {
	d.m.mu.Lock()
	defer d.m.mu.Unlock()
	d.topo = t
	d.declareLocked()
	return nil
}

func (d *memDriver) declareLocked() {
	t := d.topo
	if t.Exchange == "" {
		return
	}
	if d.m.binds[t.Exchange] == nil {
		d.m.binds[t.Exchange] = map[string][]string{}
	}
	for _, q := range t.Queues {
		for _, n := range []string{q.Name, bus.DLQName(q.Name)} {
			if d.m.queues[n] == nil {
				d.m.queues[n] = &memQueue{name: n, wake: make(chan struct{})}
			}
		}
		d.m.binds[t.Exchange][q.Name] = q.Bindings
	}
}

// live revives a killed connection, as a real driver's redial would.
func (d *memDriver) live() error {
	if d.closed {
		return bus.ErrClosed
	}
	if d.dead {
		d.dead = false
		d.declareLocked()
		d.obs.Observe(bus.Event{Kind: bus.EventReconnected, Role: bus.RolePublish})
	}
	return nil
}

func (d *memDriver) Publish(ctx context.Context, out bus.Outgoing) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.m.mu.Lock()
	defer d.m.mu.Unlock()
	switch {
	case d.closed:
		return bus.ErrClosed
	case d.dead:
		return fmt.Errorf("%w: memory: connection %s was killed", bus.ErrConnectionLost, d.name)
	}
	routed := 0
	for qname, keys := range d.m.binds[d.topo.Exchange] {
		q := d.m.queues[qname]
		if q == nil || !matchesAny(keys, out.RoutingKey) {
			continue
		}
		q.push(&memMsg{out: out, exchange: d.topo.Exchange})
		routed++
	}
	if routed == 0 && out.Mandatory {
		return fmt.Errorf("%w: routing key %q", bus.ErrUnroutable, out.RoutingKey)
	}
	return nil
}

func (d *memDriver) Subscribe(ctx context.Context, queue string, prefetch int) (bus.Subscription, error) {
	d.m.mu.Lock()
	defer d.m.mu.Unlock()
	if err := d.live(); err != nil {
		return nil, err
	}
	q := d.m.queues[queue]
	if q == nil {
		return nil, fmt.Errorf("%w: memory: no queue %q", bus.ErrRefused, queue)
	}
	if prefetch <= 0 {
		prefetch = d.Prefetch()
	}
	s := &memSub{d: d, q: q, prefetch: prefetch, out: make(chan bus.Inbound), done: make(chan struct{}),
		freed: make(chan struct{}, 1), unacked: map[*memMsg]bool{}}
	if d.subs == nil {
		d.subs = map[*memSub]bool{}
	}
	d.subs[s] = true
	go s.pump()
	return s, nil
}

func (d *memDriver) Reconnect(context.Context) error {
	d.m.mu.Lock()
	defer d.m.mu.Unlock()
	return d.live()
}

func (d *memDriver) Prefetch() int { return 16 }

func (d *memDriver) Close() error {
	d.m.mu.Lock()
	defer d.m.mu.Unlock()
	d.closed = true
	for s := range d.subs {
		s.endLocked(bus.ErrClosed)
	}
	d.subs = nil
	delete(d.m.conns, d)
	return nil
}

// memSub hands a queue's messages to one consumer, prefetch at a time.
type memSub struct {
	d        *memDriver
	q        *memQueue
	prefetch int
	out      chan bus.Inbound
	done     chan struct{} // closed when the subscription ends
	freed    chan struct{} // a settle freed a prefetch slot
	ended    bool
	err      error
	unacked  map[*memMsg]bool
}

// endLocked returns what was not settled to the queue, counted.
func (s *memSub) endLocked(err error) {
	if s.ended {
		return
	}
	s.ended, s.err = true, err
	for msg := range s.unacked {
		msg.count++
		msg.redeliver = true
		s.q.push(msg)
	}
	s.unacked = nil
	close(s.done)
}

func (s *memSub) pump() {
	defer close(s.out)
	for {
		s.d.m.mu.Lock()
		if s.ended {
			s.d.m.mu.Unlock()
			return
		}
		wake := s.q.wake
		var msg *memMsg
		if len(s.q.ready) > 0 && len(s.unacked) < s.prefetch {
			msg, s.q.ready = s.q.ready[0], s.q.ready[1:]
			s.unacked[msg] = true
		}
		s.d.m.mu.Unlock()
		if msg == nil {
			select {
			case <-wake:
			case <-s.done:
			case <-s.freed:
			}
			continue
		}
		select {
		case s.out <- s.inbound(msg):
		case <-s.done:
			return
		}
	}
}

func (s *memSub) inbound(msg *memMsg) bus.Inbound {
	o := msg.out
	in := bus.Inbound{Queue: s.q.name, RoutingKey: o.RoutingKey, Exchange: msg.exchange, Body: o.Body, MessageID: o.MessageID,
		CorrelationID: o.CorrelationID, Type: o.Type, ContentType: o.ContentType, Headers: o.Headers,
		PublishedAt: time.Unix(0, o.PublishedNS), Redelivered: msg.redeliver, DeliveryCount: msg.count}
	in.Ack = func() error { return s.settle(msg, nil) }
	in.Retry = func(context.Context) (bool, error) {
		return false, s.settle(msg, func() { msg.count++; msg.redeliver = true; s.q.push(msg) })
	}
	in.DeadLetter = func() error {
		return s.settle(msg, func() {
			if dlq := s.d.m.queues[bus.DLQName(s.q.name)]; dlq != nil {
				dlq.push(&memMsg{out: msg.out, exchange: msg.exchange})
			}
		})
	}
	return in
}

// settle takes msg out of the unacked set and then does what the
// primitive does; on an ended subscription it fails, as an ack on a
// closed channel does, and the message is already back in its queue.
func (s *memSub) settle(msg *memMsg, then func()) error {
	s.d.m.mu.Lock()
	defer s.d.m.mu.Unlock()
	if s.ended || !s.unacked[msg] {
		return errors.New("memory: the delivery's connection is gone")
	}
	delete(s.unacked, msg)
	select {
	case s.freed <- struct{}{}:
	default:
	}
	if then != nil {
		then()
	}
	return nil
}

func (s *memSub) Deliveries() <-chan bus.Inbound { return s.out }

func (s *memSub) Err() error {
	s.d.m.mu.Lock()
	defer s.d.m.mu.Unlock()
	return s.err
}

func (s *memSub) Cancel(context.Context) error { return s.Close() }

func (s *memSub) Close() error {
	s.d.m.mu.Lock()
	defer s.d.m.mu.Unlock()
	s.endLocked(nil)
	delete(s.d.subs, s)
	return nil
}

func matchesAny(patterns []string, key string) bool { return bus.MatchesBinding(patterns, key) }
