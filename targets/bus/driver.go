package bus

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Queue describes one service queue of a topology. Declaring it also
// declares its dead-letter queue DLQName(Name), where the driver puts what
// the layer dead-letters.
type Queue struct {
	Name     string   // required
	Bindings []string // topic routing keys it takes from the exchange, e.g. "order.created", "payment.*"
	// MaxAttempts bounds handler attempts per message (first delivery
	// included); after the last failed attempt the layer dead-letters the
	// message. 0 means DefaultMaxAttempts. A driver whose broker can enforce
	// the bound itself (RabbitMQ quorum queues) declares it there too, so a
	// consumer that crashes on the message does not loop forever.
	MaxAttempts int
	// Unreplicated says one copy of the queue suffices (an observer's
	// queue, not a twin's): a driver may pick a cheaper queue kind for it.
	Unreplicated bool
}

// DLQName is the name of the dead-letter queue of queue q.
func DLQName(q string) string { return q + ".dlq" }

func (q Queue) withDefaults() Queue {
	if q.MaxAttempts == 0 {
		q.MaxAttempts = DefaultMaxAttempts
	}
	q.Bindings = append([]string(nil), q.Bindings...)
	return q
}

// Topology is what a Conn declares, and a driver declares again after every
// reconnect: a topic exchange (a driver without exchanges maps it to its
// own namespace, e.g. a topic prefix) and the queues bound to it.
type Topology struct {
	Exchange string
	Queues   []Queue
}

// Queue returns the declared queue called name.
func (t Topology) Queue(name string) (Queue, bool) {
	for _, q := range t.Queues {
		if q.Name == name {
			return q, true
		}
	}
	return Queue{}, false
}

// Outgoing is one message as the layer hands it to a driver. Its identity
// (MessageID, CorrelationID) and PublishedNS are fixed by the layer before
// the first attempt and never change across republishes, so a consumer
// deduplicates on them and time lag counts from the first publish.
type Outgoing struct {
	RoutingKey    string
	Body          []byte
	MessageID     string
	CorrelationID string // the order ID
	Type          string
	ContentType   string
	Headers       map[string]any
	PublishedNS   int64 // first publish, Unix ns
	Mandatory     bool  // fail with ErrUnroutable when no queue takes it
}

// Inbound is one delivery as a driver hands it to the layer, with the
// primitives the layer settles it with. Exactly one primitive is called per
// delivery, by the layer, never by a handler.
type Inbound struct {
	Queue         string
	RoutingKey    string // of the original publish, kept across redeliveries
	Exchange      string
	Body          []byte
	MessageID     string
	CorrelationID string
	Type          string
	ContentType   string
	Headers       map[string]any
	PublishedAt   time.Time // the first publish, as stamped by the layer
	Redelivered   bool      // an earlier delivery of this copy was not settled
	// DeliveryCount is the number of earlier attempts of this message that
	// the broker or the driver counted; 0 on the first delivery.
	DeliveryCount int

	// Ack removes the message from the queue for good.
	Ack func() error
	// Retry gives the message another attempt with DeliveryCount one
	// higher (a driver whose broker keeps no count carries it itself).
	// copied says how: true when a copy was published straight into the
	// queue (by its name) and confirmed, and the original then acked; false
	// when the original itself went back to the queue. The layer reports
	// the two differently, since only a copy is a publish into the queue
	// and a settle of the original (what per-queue depth counts).
	Retry func(ctx context.Context) (copied bool, err error)
	// DeadLetter moves the message to the queue's dead-letter queue.
	DeadLetter func() error
}

// Subscription is one driver consumer on one connection.
type Subscription interface {
	// Deliveries is closed when the subscription ends: the connection was
	// lost, the broker cancelled it, or Cancel was called.
	Deliveries() <-chan Inbound
	// Err says why Deliveries closed, once it has (nil after Cancel).
	Err() error
	// Cancel stops the flow; deliveries not settled go back to the queue
	// when the subscription closes, which Close does.
	Cancel(ctx context.Context) error
	// Close ends the subscription.
	Close() error
}

// Driver is one broker's client under the layer. It owns connections,
// reconnects and the broker's protocol; the layer (Conn) owns what every
// driver must mean the same thing by: the first-publish timestamp, message
// identity, ack only after the handler's publishes were confirmed, bounded
// redelivery then dead-letter, and republishing what a lost connection left
// unconfirmed. A driver never retries a publish and never settles a
// delivery on its own.
type Driver interface {
	// Declare declares t (idempotently) and remembers it, to declare it
	// again on every reconnect.
	Declare(ctx context.Context, t Topology) error
	// Publish makes one attempt on the current connection and returns nil
	// once the broker has m durably (a publisher confirm or its like).
	// Errors wrap ErrConnectionLost (the connection went before a confirm;
	// the layer republishes after Reconnect), and ErrUnconfirmed with it if
	// m was written; ErrNacked; ErrUnroutable (m.Mandatory); ErrNotPublished
	// (m can never be sent); ErrClosed; or ctx's error.
	Publish(ctx context.Context, m Outgoing) error
	// Subscribe starts a consumer of queue on the current connection, with
	// at most prefetch deliveries unsettled (0: the driver's default).
	// It returns once the broker delivers to the subscription (a group
	// member has its first assignment), bounded by the driver: the layer's
	// ConsumeOptions.Subscribed follows it. Errors wrap ErrRefused when no
	// retry can help.
	Subscribe(ctx context.Context, queue string, prefetch int) (Subscription, error)
	// Reconnect returns once the driver has a live connection again (it
	// redials on its own after a loss) with its topology declared.
	Reconnect(ctx context.Context) error
	// Prefetch is the default bound of unsettled deliveries per consumer.
	Prefetch() int
	// Close closes every connection; it is idempotent.
	Close() error
}

// QueueStats is a point-in-time view of a queue.
type QueueStats struct {
	Messages  int // messages ready for delivery (excludes unsettled ones)
	Consumers int // active consumers
}

// StatsReader is a driver that can read a queue's depth itself.
type StatsReader interface {
	QueueStats(ctx context.Context, queue string) (QueueStats, error)
}

// DriverOptions are one driver's own settings (for RabbitMQ: queue type,
// prefetch, heartbeat), kept out of the broker-neutral configuration.
type DriverOptions interface {
	// Broker names the driver the options are for.
	Broker() string
	// Validate names a wrong setting and what it accepts.
	Validate() error
}

// OptionsAs reads driver broker's own options of type O from cfg and
// validates them: none gives O's zero value, an O or *O is taken, and
// another broker's options are an error (a twin configured for one broker
// and dialled with another's driver).
func OptionsAs[O DriverOptions](broker string, cfg DriverConfig) (O, error) {
	var o O
	// any: a type parameter's pointer is no DriverOptions to the compiler.
	switch v := any(cfg.Options).(type) {
	case nil:
	case O:
		o = v
	case *O:
		o = *v
	case DriverOptions:
		return o, fmt.Errorf("%s: options of broker %q given to the %s driver", broker, v.Broker(), broker)
	}
	if err := o.Validate(); err != nil {
		return o, fmt.Errorf("%s: %w", broker, err)
	}
	return o, nil
}

// DriverConfig is what a driver is opened with.
type DriverConfig struct {
	URL            string
	ConnectionName string        // shown by the broker, where it shows clients
	DialTimeout    time.Duration // one connection attempt
	// ConnectTimeout bounds the retries of the first connection; negative:
	// until Open's ctx ends. Later reconnects never give up.
	ConnectTimeout time.Duration
	BackoffMin     time.Duration
	BackoffMax     time.Duration
	Logger         *slog.Logger
	Observer       Observer      // the connection events (EventConnected...)
	Options        DriverOptions // nil: the driver's defaults
}

// Lookup returns the driver called name.
func (r Registry) Lookup(name string) (Kind, error) {
	for _, k := range r.kinds {
		if k.Name == name {
			return k, nil
		}
	}
	return Kind{}, fmt.Errorf("broker %q: no bus driver of that name; use one of %s", name, strings.Join(r.Names(), ", "))
}

// Names lists the registered drivers.
func (r Registry) Names() []string {
	out := make([]string, 0, len(r.kinds))
	for _, k := range r.kinds {
		out = append(out, k.Name)
	}
	return out
}
