package bus

import "time"

// RabbitMQ is the broker this package drives, by the name metrics and
// reports give it (their broker label): the one place it is spelled.
const RabbitMQ = "rabbitmq"

// EventKind names what happened; use it as a metric label.
type EventKind string

// Event kinds reported to an Observer.
const (
	// Connection lifecycle (Role is "publish" or "consume").
	EventConnected    EventKind = "connected"    // first connection of a role is up and topology declared
	EventReconnected  EventKind = "reconnected"  // a later connection is up and topology re-declared
	EventDisconnected EventKind = "disconnected" // a connection (or its publish channel) was lost; Err says why
	EventDialFailed   EventKind = "dial_failed"  // one connection attempt failed; Err says why
	EventBlocked      EventKind = "blocked"      // broker resource alarm: publishing is paused
	EventUnblocked    EventKind = "unblocked"    // alarm cleared

	// Publishing (RoutingKey set).
	EventPublished   EventKind = "published"   // basic.publish written (first attempt)
	EventRepublished EventKind = "republished" // written again after a nack or an indeterminate outcome
	EventConfirmed   EventKind = "confirmed"   // broker confirmed; Duration is Publish call start to confirm (none for a RetryCopy)
	EventNacked      EventKind = "nacked"      // broker nacked one attempt
	EventReturned    EventKind = "returned"    // mandatory message was unroutable
	EventUnconfirmed EventKind = "unconfirmed" // Publish gave up (ctx/Close) without a confirm

	// Consuming (Queue set).
	EventDelivered    EventKind = "delivered"     // a delivery reached a handler; Redelivered/Attempt set
	EventAcked        EventKind = "acked"         // handler succeeded and the ack was sent; Duration is handler time
	EventRetried      EventKind = "retried"       // handler failed; message requeued or republished for another attempt
	EventDeadLettered EventKind = "dead_lettered" // handler failed permanently or attempts exhausted: rejected to the DLX
	EventAckFailed    EventKind = "ack_failed"    // ack/nack could not be sent (channel gone); the broker will redeliver
	// EventRetryAcked: the original of a message republished for another
	// attempt (a classic queue's retry) was acked, so it left its queue
	// while its copy (a confirmed publish to the queue's name) took its
	// place; a queue's settles count it.
	EventRetryAcked EventKind = "retry_acked"
)

// Event is one observation. Fields not relevant to Kind are zero.
type Event struct {
	Kind        EventKind
	Role        string // connection role: "publish" or "consume"
	RoutingKey  string
	Queue       string
	Attempt     int // 1-based delivery attempt (consuming)
	Redelivered bool
	Duration    time.Duration
	Err         error
	// RetryCopy marks an EventConfirmed that is a retry's copy, which the
	// layer republished into the queue by its name (a classic queue's
	// retry), not a Publish call: it is a publish into the queue, so a
	// per-queue count takes it, but no Publish call was timed, so Duration
	// is not a confirm latency and a latency histogram must skip it.
	RetryCopy bool
}

// Observer receives events synchronously from hot paths: implementations must
// be fast, non-blocking and safe for concurrent use (incrementing Prometheus
// counters is the intended use).
type Observer interface {
	Observe(Event)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(Event)

// Observe calls f(e).
func (f ObserverFunc) Observe(e Event) { f(e) }

type nopObserver struct{}

func (nopObserver) Observe(Event) {}
