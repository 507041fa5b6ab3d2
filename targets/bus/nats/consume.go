package nats

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/edabench/edabench/targets/bus"
)

const (
	// readyTimeout bounds Subscribe's wait for the server to hold the
	// subscription's first pull request: past it Subscribe returns,
	// logging why, rather than failing a service whose broker is slow.
	readyTimeout = 30 * time.Second
	// settleTimeout bounds a dead letter's publish (DeadLetter has no ctx).
	settleTimeout = 30 * time.Second
	// pullExpiry bounds each pull request the iterator keeps at the
	// server; the iterator's heartbeat check is half of it. A twin at
	// its knee (2026-12-05, the EDA twin over NATS held at 1,900-2,200
	// orders/s) saw a consumer stop for good in 4 of 8 runs: the server
	// held no pull request of it (num_waiting 0) and nothing unacked,
	// with thousands pending, while its pump waited in the iterator's
	// Next; the iterator counted messages as still requested, so it
	// asked for none until its heartbeat check gave up on them, 2 × 15 s
	// at nats.go's default 30 s expiry, longer than the run's drain.
	// At 5 s the check frees a stalled iterator within 5 s; a consumer
	// with nothing to do renews its request every 5 s.
	pullExpiry = 5 * time.Second
)

// errEnded refuses a settle on a subscription whose connection dropped:
// the delivery comes again after AckWait, to whoever pulls then.
var errEnded = errors.New("nats: the subscription ended (connection lost); the message comes again after AckWait")

// subscription is one pull iterator on the queue's durable consumer,
// handing at most prefetch deliveries out unsettled.
type subscription struct {
	d          *driver
	queue      string
	dlqSubject string
	cons       jetstream.Consumer
	mc         jetstream.MessagesContext
	lost       <-chan struct{} // the connection it pulls on dropped
	out        chan bus.Inbound
	room       chan struct{} // one token per delivery out unsettled
	ctx        context.Context
	stop       context.CancelFunc
	pumped     chan struct{}
	first      chan struct{} // closed at the first delivery
	firstOnce  sync.Once

	mu        sync.Mutex
	err       error
	ended     bool
	closeOnce sync.Once
}

// Subscribe starts pulling from queue's durable consumer and returns once
// the server holds the subscription's pull request (or it delivered).
func (d *driver) Subscribe(ctx context.Context, queue string, prefetch int) (bus.Subscription, error) {
	if prefetch <= 0 {
		prefetch = d.opts.Prefetch
	}
	stream, name, dlqSubject, ok := d.where(queue)
	if !ok {
		return nil, fmt.Errorf("%w: nats: no queue %q is declared on this connection: declare it (bus.WithQueue) before consuming it", bus.ErrRefused, queue)
	}
	lost, err := d.live()
	if err != nil {
		return nil, err
	}
	cons, err := d.js.Consumer(ctx, stream, name)
	if err != nil {
		return nil, apiErr(fmt.Sprintf("consumer %s of stream %s (queue %s)", name, stream, queue), err)
	}
	mc, err := cons.Messages(jetstream.PullMaxMessages(prefetch), jetstream.PullExpiry(pullExpiry))
	if err != nil {
		return nil, apiErr("pull from queue "+queue, err)
	}
	s := &subscription{d: d, queue: queue, dlqSubject: dlqSubject, cons: cons, mc: mc, lost: lost,
		out: make(chan bus.Inbound), room: make(chan struct{}, prefetch),
		pumped: make(chan struct{}), first: make(chan struct{})}
	s.ctx, s.stop = context.WithCancel(d.ctx)
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		s.stop()
		mc.Stop()
		return nil, fmt.Errorf("nats: subscribe to %s: %w", queue, bus.ErrClosed)
	}
	d.subs[s] = true
	d.mu.Unlock()
	go s.watch()
	go s.pump()
	if stream != layoutOf(d).dlqStream() {
		d.watchMaxDeliveries(ctx, queue)
	}
	s.awaitReady(ctx)
	d.mu.Lock()
	reconnected, first := d.consLost, !d.consumed
	d.consLost, d.consumed = false, true
	d.mu.Unlock()
	switch {
	case reconnected:
		d.obs.Observe(bus.Event{Kind: bus.EventReconnected, Role: bus.RoleConsume})
	case first:
		d.obs.Observe(bus.Event{Kind: bus.EventConnected, Role: bus.RoleConsume})
	}
	return s, nil
}

func layoutOf(d *driver) layout {
	d.mu.Lock()
	defer d.mu.Unlock()
	return layout{exchange: d.topo.Exchange}
}

// awaitReady holds Subscribe until the server holds a pull request of the
// consumer (num_waiting in its info) or the subscription got a message: a
// service announces itself ready after subscribing, and a pull request
// still in flight would leave the first orders waiting. The iterator
// sends its request when the pump first asks for a message.
func (s *subscription) awaitReady(ctx context.Context) {
	deadline := time.NewTimer(readyTimeout)
	defer deadline.Stop()
	for {
		ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
		info, err := s.cons.Info(ictx)
		cancel()
		if err == nil && info.NumWaiting > 0 {
			return
		}
		select {
		case <-s.first:
			return
		case <-s.ctx.Done():
			return
		case <-ctx.Done():
			return
		case <-deadline.C:
			s.d.log.Warn("nats: no pull request of the consumer held by the server yet; continuing while it starts", "queue", s.queue, "waited", readyTimeout)
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// watch ends the subscription when the connection it pulls on drops:
// what it had out is redelivered after AckWait, and acks from now on are
// refused, as on the other brokers when a channel dies.
func (s *subscription) watch() {
	select {
	case <-s.lost:
		s.d.mu.Lock()
		s.d.consLost = true
		s.d.mu.Unlock()
		s.d.obs.Observe(bus.Event{Kind: bus.EventDisconnected, Role: bus.RoleConsume})
		s.end(fmt.Errorf("%w: nats: the connection of %q consuming %s dropped", bus.ErrConnectionLost, s.d.cfg.ConnectionName, s.queue))
	case <-s.ctx.Done():
	}
}

// pump hands messages out while there is room, until the flow stops.
func (s *subscription) pump() {
	defer close(s.pumped)
	defer close(s.out)
	defer s.mc.Stop()
	for {
		select {
		case s.room <- struct{}{}:
		case <-s.ctx.Done():
			return
		}
		msg, err := s.mc.Next(jetstream.NextContext(s.ctx))
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				s.end(fmt.Errorf("%w: nats: pulling from %s: %w", bus.ErrConnectionLost, s.queue, err))
				return
			}
			<-s.room
			if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
				s.end(fmt.Errorf("%w: nats: the consumer of %s is gone: %w", bus.ErrConnectionLost, s.queue, err))
				return
			}
			s.d.log.Debug("nats: pull", "queue", s.queue, "err", err)
			continue
		}
		s.firstOnce.Do(func() { close(s.first) })
		select {
		case s.out <- s.inbound(msg):
		case <-s.ctx.Done():
			// Never handed out, so the layer never saw it: back to the
			// queue now (Subscription.Cancel's promise), not after AckWait.
			_ = msg.Nak()
			return
		}
	}
}

// inbound is msg for the layer, with its settle primitives.
func (s *subscription) inbound(msg jetstream.Msg) bus.Inbound {
	h := decode(msg.Headers())
	count := 0
	if md, err := msg.Metadata(); err == nil && md.NumDelivered > 0 {
		count = int(md.NumDelivered) - 1
	}
	if count < h.deliveryCount {
		count = h.deliveryCount // a dead letter keeps its attempts
	}
	var once sync.Once
	settle := func(f func() error) error {
		s.mu.Lock()
		ended := s.ended && s.err != nil
		s.mu.Unlock()
		select {
		case <-s.lost:
			ended = true
		default:
		}
		var err error
		if ended {
			err = errEnded
		} else {
			err = f()
		}
		once.Do(func() { <-s.room })
		return err
	}
	return bus.Inbound{
		Queue: s.queue, RoutingKey: h.routingKey, Exchange: h.exchange, Body: msg.Data(),
		MessageID: h.messageID, CorrelationID: h.correlationID, Type: h.typ, ContentType: h.contentType,
		Headers: h.user, PublishedAt: h.publishedAt, Redelivered: count > 0, DeliveryCount: count,
		Ack: func() error { return settle(msg.Ack) },
		Retry: func(context.Context) (bool, error) {
			return false, settle(msg.Nak)
		},
		DeadLetter: func() error {
			return settle(func() error { return s.deadLetter(msg, count+1) })
		},
	}
}

// deadLetter stores a copy on the queue's dead-letter subject, then
// terminates the original (which leaves the work-queue stream).
func (s *subscription) deadLetter(msg jetstream.Msg, attempts int) error {
	ctx, cancel := context.WithTimeout(s.d.ctx, settleTimeout)
	defer cancel()
	if err := s.d.store(ctx, deadLetterMsg(s.dlqSubject, msg.Headers(), msg.Data(), attempts)); err != nil {
		return err
	}
	return msg.TermWithReason("dead-lettered by edabench")
}

// deadLetterMsg is a dead letter of a message with headers h and body:
// the same stamps (identity, first-publish time), the attempts made, and
// a Nats-Msg-Id of its own, so a dead letter written twice (by the layer
// and by the max-deliveries advisory) is stored once.
func deadLetterMsg(subject string, h natsgo.Header, body []byte, attempts int) *natsgo.Msg {
	msg := natsgo.NewMsg(subject)
	msg.Data = body
	for k, vs := range h {
		if k == hDeliveryCount || k == jetstream.MsgIDHeader || len(k) > 4 && k[:5] == "Nats-" {
			continue
		}
		msg.Header[k] = append([]string(nil), vs...)
	}
	msg.Header.Set(hDeliveryCount, fmt.Sprint(attempts))
	msg.Header.Set(jetstream.MsgIDHeader, "dlq:"+h.Get(jetstream.MsgIDHeader))
	return msg
}

func (s *subscription) Deliveries() <-chan bus.Inbound { return s.out }

func (s *subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Cancel stops the flow; what was handed out may still be settled.
func (s *subscription) Cancel(ctx context.Context) error {
	s.stop()
	select {
	case <-s.pumped:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close ends the subscription.
func (s *subscription) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.ended = true
		s.mu.Unlock()
		s.stop()
		<-s.pumped
		s.d.mu.Lock()
		delete(s.d.subs, s)
		s.d.mu.Unlock()
	})
	return nil
}

// end stops the subscription for err; settles from now on are refused.
func (s *subscription) end(err error) {
	s.mu.Lock()
	if s.err == nil && !s.ended {
		s.err = err
	}
	s.ended = true
	s.mu.Unlock()
	s.stop()
}
