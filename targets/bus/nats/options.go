package nats

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/edabench/edabench/targets/bus"
)

// Name is the driver's name in the registry and the metrics' broker label.
const Name = "nats"

// Defaults of Options' zero fields.
const (
	DefaultURL      = "nats://127.0.0.1:4232" // the private node (harness/natsnode)
	DefaultPrefetch = 32
	// DefaultAckWait is how long JetStream waits for an ack before it
	// delivers a message again: what a killed consumer's messages wait.
	DefaultAckWait = 30 * time.Second
	// DefaultDuplicateWindow is the streams' de-duplication window: a
	// republish of the same message within it is stored once.
	DefaultDuplicateWindow = 2 * time.Minute
	// DefaultMaxPending bounds the asynchronous publishes awaiting their
	// PubAck per driver; a publish past it waits for room.
	DefaultMaxPending = 4000
	// DefaultMaxAckPending bounds the messages a consumer (all of a
	// queue's subscriptions together) has out unacked.
	DefaultMaxAckPending = 4096
	// DefaultPingInterval is how often the client pings the server; past
	// maxPingsOut pings unanswered it takes the connection for dead and
	// redials. nats.go's own 2 min would leave a silent link (a network
	// partition, the proxies' cut in timeout mode) unnoticed for 4 to 6
	// minutes, every publish waiting for its PubAck meanwhile; 5 s notices
	// it in 10 to 15 s, as RabbitMQ's 10 s heartbeat does.
	DefaultPingInterval = 5 * time.Second
)

// maxPingsOut is how many pings may go unanswered before the connection
// is taken for dead.
const maxPingsOut = 2

// Options are NATS's own settings, passed through bus.WithDriverOptions;
// every zero field takes its default. They stay comparable.
type Options struct {
	AckWait         time.Duration
	DuplicateWindow time.Duration
	MaxPending      int
	MaxAckPending   int
	PingInterval    time.Duration
	// Prefetch bounds the deliveries in flight per subscription when
	// Consume sets none.
	Prefetch int
}

// Broker is Name.
func (Options) Broker() string { return Name }

// Validate names a wrong setting and what it accepts.
func (o Options) Validate() error {
	switch {
	case o.AckWait < 0 || (o.AckWait > 0 && o.AckWait < 100*time.Millisecond) || o.AckWait > time.Hour:
		return fmt.Errorf("ack wait %s: want 100ms to 1h (0: %s)", o.AckWait, DefaultAckWait)
	case o.DuplicateWindow < 0 || (o.DuplicateWindow > 0 && o.DuplicateWindow < time.Second) || o.DuplicateWindow > 24*time.Hour:
		return fmt.Errorf("duplicate window %s: want 1s to 24h (0: %s)", o.DuplicateWindow, DefaultDuplicateWindow)
	case o.MaxPending < 0 || o.MaxPending > 1<<20:
		return fmt.Errorf("max pending publishes %d: want 1 to %d (0: %d)", o.MaxPending, 1<<20, DefaultMaxPending)
	case o.MaxAckPending < 0 || o.MaxAckPending > 1<<20:
		return fmt.Errorf("max ack pending %d: want 1 to %d (0: %d)", o.MaxAckPending, 1<<20, DefaultMaxAckPending)
	case o.PingInterval < 0 || (o.PingInterval > 0 && o.PingInterval < 100*time.Millisecond) || o.PingInterval > 10*time.Minute:
		return fmt.Errorf("ping interval %s: want 100ms to 10m (0: %s)", o.PingInterval, DefaultPingInterval)
	case o.Prefetch < 0 || o.Prefetch > 65535:
		return fmt.Errorf("prefetch %d: want 1 to 65535 (0: %d)", o.Prefetch, DefaultPrefetch)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.AckWait == 0 {
		o.AckWait = DefaultAckWait
	}
	if o.DuplicateWindow == 0 {
		o.DuplicateWindow = DefaultDuplicateWindow
	}
	if o.MaxPending == 0 {
		o.MaxPending = DefaultMaxPending
	}
	if o.MaxAckPending == 0 {
		o.MaxAckPending = DefaultMaxAckPending
	}
	if o.Prefetch == 0 {
		o.Prefetch = DefaultPrefetch
	}
	if o.PingInterval == 0 {
		o.PingInterval = DefaultPingInterval
	}
	return o
}

func options(cfg bus.DriverConfig) (Options, error) {
	o, err := bus.OptionsAs[Options](Name, cfg)
	return o.withDefaults(), err
}

// serverURL is the URL to dial: DefaultURL when empty.
func serverURL(raw string) string {
	if raw = strings.TrimSpace(raw); raw == "" {
		return DefaultURL
	}
	return raw
}

// CheckURL says whether raw is a NATS client URL the driver dials:
// nats://HOST:PORT. An AMQP URL or a bare Kafka HOST:PORT is named as such.
func CheckURL(raw string) error {
	u, err := url.Parse(strings.TrimSpace(raw))
	switch {
	case err == nil && u.Scheme == "nats" && u.Host != "" && u.Port() != "":
		return nil
	case err == nil && (u.Scheme == "amqp" || u.Scheme == "amqps"):
		return fmt.Errorf("%q is a RabbitMQ (AMQP) URL: NATS's is nats://HOST:PORT, e.g. %s", u.Redacted(), DefaultURL)
	default:
		return fmt.Errorf("%q: a NATS client URL is nats://HOST:PORT, e.g. %s", raw, DefaultURL)
	}
}
