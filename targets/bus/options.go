package bus

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Defaults used when an Option leaves a field at its zero value.
const (
	DefaultURL            = "amqp://guest:guest@127.0.0.1:5672/"
	DefaultExchange       = "edabench.orders"
	DefaultHeartbeat      = 10 * time.Second
	DefaultDialTimeout    = 5 * time.Second
	DefaultConnectTimeout = 30 * time.Second
	DefaultBackoffMin     = 100 * time.Millisecond
	DefaultBackoffMax     = 5 * time.Second
	DefaultMaxNacks       = 3
	DefaultMaxAttempts    = 5
	DefaultPrefetch       = 32
	DefaultShutdownGrace  = 30 * time.Second
)

// QueueType selects the RabbitMQ queue implementation (the x-queue-type argument).
type QueueType string

// Queue types. Quorum is the default: replicated, and its delivery limit is
// enforced by the broker.
const (
	Quorum  QueueType = "quorum"
	Classic QueueType = "classic"
)

// Queue describes one service queue. Declaring it also declares its
// dead-letter queue "<Name>.dlq", bound to the dead-letter exchange with the
// queue name as routing key.
//
// Queue arguments are immutable in RabbitMQ: re-declaring an existing queue
// with different Type or MaxAttempts fails with PRECONDITION_FAILED (406);
// delete the queue (or pick a new name) to change them.
type Queue struct {
	Name     string    // required
	Type     QueueType // Quorum (default) or Classic
	Bindings []string  // topic routing keys bound on the exchange, e.g. "order.created", "payment.*"
	// MaxAttempts bounds handler attempts per message (first delivery
	// included); after the last failed attempt the message is dead-lettered.
	// 0 means DefaultMaxAttempts. Quorum queues also get x-delivery-limit =
	// MaxAttempts-1 so the broker enforces the bound even if the consumer
	// process crashes on the message.
	MaxAttempts int
}

// DLQName is the name of the dead-letter queue of queue q.
func DLQName(q string) string { return q + ".dlq" }

func (q Queue) withDefaults() Queue {
	if q.Type == "" {
		q.Type = Quorum
	}
	if q.MaxAttempts == 0 {
		q.MaxAttempts = DefaultMaxAttempts
	}
	q.Bindings = append([]string(nil), q.Bindings...)
	return q
}

// Options configures a Conn. Build it with Option functions passed to Dial;
// every zero field takes its Default* value.
type Options struct {
	URL            string        // AMQP URL, e.g. amqp://guest:guest@127.0.0.1:5672/
	ConnectionName string        // shown in the management UI (client property connection_name); suffixed "/publish" and "/consume"
	Exchange       string        // durable topic exchange the services publish to
	DLX            string        // dead-letter exchange; default "<Exchange>.dlx"
	Queues         []Queue       // declared on every (re)connect
	Heartbeat      time.Duration // AMQP heartbeat (a heartbeat in the URL takes precedence)
	DialTimeout    time.Duration // TCP connect + AMQP handshake bound for one attempt
	// ConnectTimeout bounds how long Dial keeps retrying before it gives up;
	// negative means retry until Dial's ctx ends. After Dial returned, the
	// Conn reconnects forever.
	ConnectTimeout time.Duration
	BackoffMin     time.Duration // first reconnect delay
	BackoffMax     time.Duration // cap of the exponential reconnect delay (jittered)
	Mandatory      bool          // publish with the mandatory flag: unroutable messages fail with ErrUnroutable
	MaxNacks       int           // republishes after broker nacks before Publish fails with ErrNacked
	Logger         *slog.Logger  // default slog.Default()
	Observer       Observer      // optional metrics hooks
}

// Option mutates Options.
type Option func(*Options)

// WithOptions replaces all options at once (later Options still apply).
func WithOptions(all Options) Option { return func(o *Options) { *o = all } }

// WithURL sets the AMQP URL.
func WithURL(url string) Option { return func(o *Options) { o.URL = url } }

// WithConnectionName sets the client-provided connection name.
func WithConnectionName(name string) Option { return func(o *Options) { o.ConnectionName = name } }

// WithExchange sets the topic exchange name.
func WithExchange(name string) Option { return func(o *Options) { o.Exchange = name } }

// WithDeadLetterExchange sets the dead-letter exchange name.
func WithDeadLetterExchange(name string) Option { return func(o *Options) { o.DLX = name } }

// WithQueue adds a queue (with its DLQ and bindings) to the declared topology.
func WithQueue(q Queue) Option { return func(o *Options) { o.Queues = append(o.Queues, q) } }

// WithHeartbeat sets the AMQP heartbeat interval.
func WithHeartbeat(d time.Duration) Option { return func(o *Options) { o.Heartbeat = d } }

// WithDialTimeout bounds one connection attempt.
func WithDialTimeout(d time.Duration) Option { return func(o *Options) { o.DialTimeout = d } }

// WithConnectTimeout bounds the retries of the initial Dial (negative: until ctx ends).
func WithConnectTimeout(d time.Duration) Option { return func(o *Options) { o.ConnectTimeout = d } }

// WithBackoff sets the reconnect backoff bounds (capped exponential with jitter).
func WithBackoff(min, max time.Duration) Option {
	return func(o *Options) { o.BackoffMin, o.BackoffMax = min, max }
}

// WithMandatory publishes with the mandatory flag so unroutable messages are
// returned and Publish fails with ErrUnroutable instead of silently dropping.
func WithMandatory(on bool) Option { return func(o *Options) { o.Mandatory = on } }

// WithMaxNacks sets how many times a nacked message is republished.
func WithMaxNacks(n int) Option { return func(o *Options) { o.MaxNacks = n } }

// WithLogger injects the logger.
func WithLogger(l *slog.Logger) Option { return func(o *Options) { o.Logger = l } }

// WithObserver installs metrics hooks.
func WithObserver(ob Observer) Option { return func(o *Options) { o.Observer = ob } }

func defaultConnectionName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s@%s/%d", filepath.Base(os.Args[0]), host, os.Getpid())
}

func (o *Options) applyDefaults() error {
	if o.URL == "" {
		o.URL = DefaultURL
	}
	if o.ConnectionName == "" {
		o.ConnectionName = defaultConnectionName()
	}
	if o.Exchange == "" {
		o.Exchange = DefaultExchange
	}
	if o.DLX == "" {
		o.DLX = o.Exchange + ".dlx"
	}
	if o.Heartbeat == 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = DefaultBackoffMin
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = DefaultBackoffMax
	}
	if o.BackoffMax < o.BackoffMin {
		o.BackoffMax = o.BackoffMin
	}
	if o.MaxNacks == 0 {
		o.MaxNacks = DefaultMaxNacks
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
	o.Queues = append([]Queue(nil), o.Queues...) // never write into the caller's slice
	seen := map[string]bool{}
	for i, q := range o.Queues {
		if q.Name == "" {
			return fmt.Errorf("bus: queue #%d has no name", i)
		}
		if seen[q.Name] {
			return fmt.Errorf("bus: queue %q declared twice", q.Name)
		}
		seen[q.Name] = true
		q = q.withDefaults()
		if q.Type != Quorum && q.Type != Classic {
			return fmt.Errorf("bus: queue %q: unknown type %q (want %q or %q)", q.Name, q.Type, Quorum, Classic)
		}
		if q.MaxAttempts < 0 {
			return fmt.Errorf("bus: queue %q: MaxAttempts %d must be >= 1", q.Name, q.MaxAttempts)
		}
		o.Queues[i] = q
	}
	return nil
}

// redactURL hides the password of an AMQP URL for logs and errors.
func redactURL(raw string) string {
	at := strings.LastIndex(raw, "@")
	scheme := strings.Index(raw, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return raw
	}
	userinfo := raw[scheme+3 : at]
	if i := strings.Index(userinfo, ":"); i >= 0 {
		return raw[:scheme+3] + userinfo[:i] + ":xxxxx" + raw[at:]
	}
	return raw
}

// hostPort extracts host:port for error messages.
func hostPort(raw string) string {
	s := raw
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.LastIndex(s, "@"); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.IndexAny(s, "/?"); i >= 0 {
		s = s[:i]
	}
	if _, _, err := net.SplitHostPort(s); err != nil && s != "" {
		return s + ":5672"
	}
	return s
}
