package rabbitmq

import (
	"fmt"
	"net"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/edabench/edabench/targets/bus"
)

// Name is the driver's name in the registry and the metrics' broker label.
const Name = bus.RabbitMQ

// Defaults of Options' zero fields.
const (
	DefaultURL       = "amqp://guest:guest@127.0.0.1:5672/"
	DefaultHeartbeat = 10 * time.Second
	DefaultPrefetch  = 32
)

// QueueType selects the RabbitMQ queue implementation (the x-queue-type argument).
type QueueType string

// Queue types. Quorum is the default: replicated, and its delivery limit is
// enforced by the broker.
const (
	Quorum  QueueType = "quorum"
	Classic QueueType = "classic"
)

// Options are RabbitMQ's own settings, passed through bus.WithDriverOptions
// (or eda.Config.Options); every zero field takes its default. They stay
// comparable, as the configs holding them are.
//
// Queue arguments are immutable in RabbitMQ: re-declaring an existing queue
// with another type or delivery limit fails with PRECONDITION_FAILED (406);
// delete the queue (or pick a new name) to change them.
type Options struct {
	// QueueType is the type of every queue of the topology (default
	// Quorum), except an Unreplicated one, which is Classic on a single
	// node (on a cluster, a URL listing several nodes, it is QueueType).
	QueueType QueueType
	// Prefetch is basic.qos per consumer when Consume sets none; default
	// DefaultPrefetch.
	Prefetch  int
	Heartbeat time.Duration // AMQP heartbeat (a heartbeat in the URL takes precedence)

	// cluster is set by Open when the URL lists several nodes: there an
	// Unreplicated queue is replicated too, since its one copy would live
	// on one node and go with it.
	cluster bool
}

// Broker is Name.
func (Options) Broker() string { return Name }

// Validate names a wrong setting and what it accepts.
func (o Options) Validate() error {
	if o.QueueType != "" && o.QueueType != Quorum && o.QueueType != Classic {
		return fmt.Errorf("queue type %q: want quorum or classic", o.QueueType)
	}
	if o.Prefetch < 0 || o.Prefetch > 65535 {
		return fmt.Errorf("prefetch %d: want 1 to 65535", o.Prefetch)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.QueueType == "" {
		o.QueueType = Quorum
	}
	if o.Prefetch == 0 {
		o.Prefetch = DefaultPrefetch
	}
	if o.Heartbeat == 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	return o
}

// typeOf is the queue type q is declared with.
func (o Options) typeOf(q bus.Queue) QueueType {
	if q.Unreplicated && !o.cluster {
		return Classic
	}
	return o.QueueType
}

// options reads the driver's options from cfg, defaults filled in.
func options(cfg bus.DriverConfig) (Options, error) {
	o, err := bus.OptionsAs[Options]("rabbitmq", cfg)
	return o.withDefaults(), err
}

// dlx is the dead-letter exchange of a topic exchange.
func dlx(exchange string) string { return exchange + ".dlx" }

// URLs are the AMQP URLs a driver URL lists: one, or a cluster's members
// separated by commas, which the driver tries in turn.
func URLs(raw string) []string {
	var out []string
	for _, u := range strings.Split(raw, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	if len(out) == 0 {
		return []string{raw}
	}
	return out
}

// redactURL hides the passwords of a driver URL (one AMQP URL or a list)
// for logs and errors.
func redactURL(raw string) string {
	urls := URLs(raw)
	for i, u := range urls {
		urls[i] = redactOne(u)
	}
	return strings.Join(urls, ",")
}

func redactOne(raw string) string {
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

// RedactURL is an AMQP URL with its password hidden, for messages; a URL
// that does not parse is named as such.
func RedactURL(raw string) string {
	u, err := amqp.ParseURI(raw)
	if err != nil {
		return "(malformed URL)"
	}
	u.Password = "xxx"
	return u.String()
}

// Credentials are the user and password of an AMQP URL (RabbitMQ's
// defaults, guest/guest, when it names none): the management API of the
// same broker takes them too.
func Credentials(raw string) (user, pass string) {
	u, err := amqp.ParseURI(raw)
	if err != nil || u.Username == "" {
		return "guest", "guest"
	}
	return u.Username, u.Password
}

// OptionsOf are the RabbitMQ settings o holds, defaults filled in; the
// defaults when o is nil or another driver's.
func OptionsOf(o bus.DriverOptions) Options {
	got, err := options(bus.DriverConfig{Options: o})
	if err != nil {
		return Options{}.withDefaults()
	}
	return got
}
