package bus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

// Defaults used when an Option leaves a field at its zero value.
const (
	DefaultExchange       = "edabench.orders"
	DefaultDialTimeout    = 5 * time.Second
	DefaultConnectTimeout = 30 * time.Second
	DefaultBackoffMin     = 100 * time.Millisecond
	// DefaultBackoffMax caps the reconnect delay (jittered to half..all of
	// it). A client retries a down broker at most this far apart, so it
	// comes back within it of the broker serving again: at 5 s, the EDA
	// twin's first acceptance after a broker-restart came 2.5 s after the
	// node served (2026-12-05, RabbitMQ, load ~20); a refused connection a
	// second per link meanwhile costs nothing.
	DefaultBackoffMax = 1 * time.Second
	// DefaultMaxNacks outlasts a leader election: a quorum queue whose
	// leader's node was killed nacks every publish until another member
	// leads it (1.5-2.2 s measured on a loaded 2-core machine); after 3
	// nacks (0.35 s of backoff) the handlers failed, their deliveries ran
	// out of attempts and 509 orders were dead-lettered within 7 s of the
	// kill. 30 republishes back off for about 27 s in all (50 ms doubling
	// to 1 s); a caller's deadline still ends them sooner.
	DefaultMaxNacks      = 30
	DefaultMaxAttempts   = 5
	DefaultShutdownGrace = 30 * time.Second
)

// Options configures a Conn. Build it with Option functions passed to Dial;
// every zero field takes its Default* value.
type Options struct {
	URL            string        // the broker's URL, in the driver's own scheme
	ConnectionName string        // shown by the broker where it lists clients
	Exchange       string        // the topic exchange the services publish to
	Queues         []Queue       // declared at Dial and by the driver on every reconnect
	DialTimeout    time.Duration // one connection attempt
	// ConnectTimeout bounds how long Dial keeps retrying before it gives up;
	// negative means retry until Dial's ctx ends. After Dial returned, the
	// driver reconnects forever.
	ConnectTimeout time.Duration
	BackoffMin     time.Duration // first reconnect delay
	BackoffMax     time.Duration // cap of the exponential reconnect delay (jittered)
	Mandatory      bool          // unroutable messages fail with ErrUnroutable instead of being dropped
	MaxNacks       int           // republishes after broker nacks before Publish fails with ErrNacked
	Logger         *slog.Logger  // default slog.Default()
	Observer       Observer      // optional metrics hooks
	Driver         DriverOptions // the driver's own settings; nil: its defaults
}

// Option mutates Options.
type Option func(*Options)

// WithOptions replaces all options at once (later Options still apply).
func WithOptions(all Options) Option { return func(o *Options) { *o = all } }

// WithURL sets the broker URL.
func WithURL(url string) Option { return func(o *Options) { o.URL = url } }

// WithConnectionName sets the client-provided connection name.
func WithConnectionName(name string) Option { return func(o *Options) { o.ConnectionName = name } }

// WithExchange sets the topic exchange name.
func WithExchange(name string) Option { return func(o *Options) { o.Exchange = name } }

// WithQueue adds a queue (with its DLQ and bindings) to the declared topology.
func WithQueue(q Queue) Option { return func(o *Options) { o.Queues = append(o.Queues, q) } }

// WithDialTimeout bounds one connection attempt.
func WithDialTimeout(d time.Duration) Option { return func(o *Options) { o.DialTimeout = d } }

// WithConnectTimeout bounds the retries of the initial Dial (negative: until ctx ends).
func WithConnectTimeout(d time.Duration) Option { return func(o *Options) { o.ConnectTimeout = d } }

// WithBackoff sets the reconnect backoff bounds (capped exponential with jitter).
func WithBackoff(min, max time.Duration) Option {
	return func(o *Options) { o.BackoffMin, o.BackoffMax = min, max }
}

// WithMandatory makes unroutable messages fail Publish with ErrUnroutable
// instead of being silently dropped.
func WithMandatory(on bool) Option { return func(o *Options) { o.Mandatory = on } }

// WithMaxNacks sets how many times a nacked message is republished.
func WithMaxNacks(n int) Option { return func(o *Options) { o.MaxNacks = n } }

// WithLogger injects the logger.
func WithLogger(l *slog.Logger) Option { return func(o *Options) { o.Logger = l } }

// WithObserver installs metrics hooks.
func WithObserver(ob Observer) Option { return func(o *Options) { o.Observer = ob } }

// WithDriverOptions passes the driver its own settings.
func WithDriverOptions(d DriverOptions) Option { return func(o *Options) { o.Driver = d } }

func defaultConnectionName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s@%s/%d", filepath.Base(os.Args[0]), host, os.Getpid())
}

func (o *Options) applyDefaults() error {
	if o.ConnectionName == "" {
		o.ConnectionName = defaultConnectionName()
	}
	if o.Exchange == "" {
		o.Exchange = DefaultExchange
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
	if o.Driver != nil {
		if err := o.Driver.Validate(); err != nil {
			return fmt.Errorf("bus: %s options: %w", o.Driver.Broker(), err)
		}
	}
	return o.checkQueues()
}

func (o *Options) checkQueues() error {
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
		if q.MaxAttempts < 0 {
			return fmt.Errorf("bus: queue %q: MaxAttempts %d must be >= 1", q.Name, q.MaxAttempts)
		}
		o.Queues[i] = q.withDefaults()
	}
	return nil
}

func (o *Options) driverConfig() DriverConfig {
	return DriverConfig{URL: o.URL, ConnectionName: o.ConnectionName, DialTimeout: o.DialTimeout,
		ConnectTimeout: o.ConnectTimeout, BackoffMin: o.BackoffMin, BackoffMax: o.BackoffMax,
		Logger: o.Logger, Observer: o.Observer, Options: o.Driver}
}

// NewMessageID returns a random UUIDv4 string.
func NewMessageID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand, Go >= 1.24)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// Backoff is capped exponential with "equal jitter": a uniform delay in
// [d/2, d]. Drivers use it for their redials too.
func Backoff(min, max time.Duration, failures int) time.Duration {
	d := min
	for i := 1; i < failures && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	if d <= 1 {
		return d
	}
	return d/2 + mrand.N(d/2+1)
}

// Sleep waits d or until ctx ends; it reports whether d passed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
