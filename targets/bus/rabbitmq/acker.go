package rabbitmq

import (
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"
)

// acker coalesces one channel's acks into basic.ack frames with
// multiple=true. The layer calls ack only after the handler's publishes
// were confirmed, so each delivery's ack still follows its own confirm;
// coalescing only decides which frame carries it. A multiple ack covers
// a tag only once every lower tag is settled (acked here, or nacked,
// requeued or republished on its own first): a tag still being handled is
// never acked by a neighbour's frame. Acks past such a gap are sent one by
// one at the next flush rather than held, so one slow handler does not
// keep its neighbours' prefetch slots.
//
// Why: on a quorum queue every basic.ack frame is a Raft command the
// queue writes to its log before it frees the prefetch slot; a projector
// or step that acks a burst of confirmed deliveries in one frame frees
// them in one command (docs/performance.md, "Consumer path").
type acker struct {
	ch   *amqp.Channel
	each bool // Options.AckEach: one frame per delivery, as before

	mu       sync.Mutex
	next     uint64          // lowest tag not yet known settled (tags start at 1)
	done     map[uint64]bool // settled tags >= next; true: the ack is still to send
	closed   bool            // the last flush ran: acks go out one by one
	kick     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	exit     chan struct{}
}

func newAcker(ch *amqp.Channel, each bool) *acker {
	a := &acker{ch: ch, each: each, next: 1, done: map[uint64]bool{},
		kick: make(chan struct{}, 1), stop: make(chan struct{}), exit: make(chan struct{})}
	if each {
		close(a.exit)
		return a
	}
	go a.run()
	return a
}

// ack queues tag's ack for the next flush (at once unless one is running).
func (a *acker) ack(tag uint64) error {
	if a.each {
		return a.ch.Ack(tag, false)
	}
	if a.ch.IsClosed() {
		return amqp.ErrClosed
	}
	a.mu.Lock()
	if a.closed {
		// A handler outlived the subscription's close: its own frame.
		a.mu.Unlock()
		return a.ch.Ack(tag, false)
	}
	a.done[tag] = true
	a.mu.Unlock()
	select {
	case a.kick <- struct{}{}:
	default:
	}
	return nil
}

// settled records that tag was settled by a frame of its own (nack,
// requeue, or the ack after a retry copy), already sent.
func (a *acker) settled(tag uint64) {
	if a.each {
		return
	}
	a.mu.Lock()
	a.done[tag] = false
	a.mu.Unlock()
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

func (a *acker) run() {
	defer close(a.exit)
	for {
		select {
		case <-a.kick:
			a.flush()
		case <-a.stop:
			a.flush()
			a.mu.Lock()
			a.closed = true
			a.mu.Unlock()
			return
		}
	}
}

// close sends what is queued and stops the flusher; the channel may close
// after it.
func (a *acker) close() {
	if a.each {
		return
	}
	a.stopOnce.Do(func() { close(a.stop) })
	<-a.exit
}

// flush sends one multiple ack for the settled prefix and single acks for
// what is queued past its gap. The lock is held while frames are written,
// so a later flush never sends a frame covering a tag before this one's.
func (a *acker) flush() {
	a.mu.Lock()
	defer a.mu.Unlock()
	var top uint64
	for {
		pending, ok := a.done[a.next]
		if !ok {
			break
		}
		if pending {
			top = a.next
		}
		delete(a.done, a.next)
		a.next++
	}
	if top > 0 {
		if err := a.ch.Ack(top, true); err != nil {
			return // the channel is gone: the broker requeues what it held
		}
	}
	for tag, pending := range a.done {
		if !pending {
			continue
		}
		if err := a.ch.Ack(tag, false); err != nil {
			return
		}
		a.done[tag] = false
	}
}
