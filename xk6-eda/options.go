package eda

import (
	"errors"
	"fmt"
	"github.com/edabench/edabench/internal/twinkind"
	"math"
	"net"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/edabench/edabench/internal/loopback"
	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/drivers"
	"github.com/edabench/edabench/targets/eda"
	"github.com/grafana/sobek"
)

// Defaults of the Client options.
const (
	DefaultPrefix            = "edabench"
	DefaultCompletionTimeout = 30 * time.Second
	DefaultRequestTimeout    = 10 * time.Second
	DefaultMgmtURL           = "http://127.0.0.1:15682" // the private node's management API (harness/broker)
	defaultConns             = 4
	// DefaultEndQueue names k6's queue of order ends on Kafka and NATS,
	// under the twin's prefix: the twin declares PREFIX.k6 (--end-queue).
	DefaultEndQueue = "k6"
)

// options are a Client's settings, validated.
type options struct {
	Twin string
	GRPC string
	// Broker is the twin's backbone (a driver of drivers.Builtin:
	// rabbitmq, kafka or nats); BrokerURL its client URL in the driver's
	// form (amqp://..., HOST:PORT or nats://HOST:PORT).
	Broker    string
	BrokerURL string
	// EndQueue (Kafka, NATS) is the queue of order ends the twin declared
	// for k6 (--end-queue): their drivers deliver only to the queues the
	// services declared, so k6 cannot bind one of its own as on RabbitMQ.
	EndQueue          string
	Prefix            string
	CompletionTimeout time.Duration
	RequestTimeout    time.Duration
	HDR               string
	NoTrends          bool // trends: false: no eda_ack_duration or eda_e2e_duration samples
	Mgmt              string
	Metrics           []string
}

// key names the shared client: VUs with the same twin, addresses and prefix
// share one completion subscription.
func (o options) key() string {
	return strings.Join([]string{o.Twin, o.GRPC, o.Broker, o.BrokerURL, o.Prefix, o.EndQueue}, "|")
}

// same reports whether two option sets may share a client.
func (o options) same(p options) bool {
	return o.key() == p.key() && o.CompletionTimeout == p.CompletionTimeout &&
		o.RequestTimeout == p.RequestTimeout && o.HDR == p.HDR && o.NoTrends == p.NoTrends && o.Mgmt == p.Mgmt && slices.Equal(o.Metrics, p.Metrics)
}

var optionKeys = []string{"twin", "grpc", "broker", "brokerUrl", "amqp", "endQueue", "prefix", "completionTimeout", "requestTimeout", "hdr", "trends", "mgmt", "metrics"}

// parseOptions validates the constructor's argument. Every error names the
// option and what it accepts.
func parseOptions(rt *sobek.Runtime, v sobek.Value) (options, error) {
	o := options{Prefix: DefaultPrefix, CompletionTimeout: DefaultCompletionTimeout,
		RequestTimeout: DefaultRequestTimeout, Mgmt: DefaultMgmtURL}
	if v == nil || sobek.IsUndefined(v) || sobek.IsNull(v) {
		return o, errors.New(`eda.Client: options are required, e.g. new eda.Client({ twin: "eda", grpc: "127.0.0.1:7200", amqp: "amqp://guest:guest@127.0.0.1:5682/" })`)
	}
	obj, ok := v.(*sobek.Object)
	if !ok || obj.ClassName() == "Array" || obj.ClassName() == "Function" {
		return o, fmt.Errorf("eda.Client: options must be an object, got %s", v.String())
	}
	for _, k := range obj.Keys() {
		if !slices.Contains(optionKeys, k) {
			return o, fmt.Errorf("eda.Client: unknown option %q (options: %s)", k, strings.Join(optionKeys, ", "))
		}
	}
	r := optionReader{obj}
	var amqpURL string
	for _, e := range []error{
		r.trends(&o.NoTrends),
		r.str("twin", &o.Twin), r.str("grpc", &o.GRPC), r.str("amqp", &amqpURL), r.str("prefix", &o.Prefix),
		r.str("broker", &o.Broker), r.str("brokerUrl", &o.BrokerURL), r.str("endQueue", &o.EndQueue),
		r.str("hdr", &o.HDR), r.str("mgmt", &o.Mgmt),
		r.dur("completionTimeout", &o.CompletionTimeout), r.dur("requestTimeout", &o.RequestTimeout),
		r.metrics(rt, &o.Metrics),
	} {
		if e != nil {
			return o, e
		}
	}
	if err := o.check(r.set("twin")); err != nil {
		return o, err
	}
	if !twinkind.Of(o.Twin).UsesBroker() {
		// The RR twin has no broker: these do not name a different client.
		o.Broker, o.BrokerURL, o.EndQueue, o.Prefix, o.Mgmt, o.Metrics = "", "", "", "", "", nil
		return o, nil
	}
	if o.Prefix == "" || strings.ContainsAny(o.Prefix, " \t\n") {
		return o, fmt.Errorf("eda.Client: option prefix %q: want the twin's queue prefix (default %q)", o.Prefix, DefaultPrefix)
	}
	if err := o.settleBroker(amqpURL, r.set("mgmt")); err != nil {
		return o, fmt.Errorf("eda.Client: %w", err)
	}
	return o, nil
}

// check refuses the options every twin needs when they are missing or
// contradict each other.
func (o *options) check(twinSet bool) error {
	switch {
	case !twinSet || o.Twin == "":
		return fmt.Errorf("eda.Client: option twin is required: one of %s", strings.Join(twinkind.All(), ", "))
	case twinkind.Check(o.Twin) != nil:
		return fmt.Errorf("eda.Client: %w", twinkind.Check(o.Twin))
	}
	if o.NoTrends && o.HDR == "" {
		return errors.New(`eda.Client: option trends: false needs the hdr option, or no latency would be recorded at all (e.g. { hdr: "results/k6", trends: false })`)
	}
	if o.GRPC == "" {
		return errors.New(`eda.Client: option grpc is required: the twin gateway's address, e.g. "127.0.0.1:7200"`)
	}
	if err := allowed(o.GRPC); err != nil {
		return fmt.Errorf("eda.Client: option grpc: %w", err)
	}
	return nil
}

// optionReader reads one typed option of the script's object each, with
// an error naming the option and the type it wants.
type optionReader struct{ obj *sobek.Object }

// get is the option's value, nil when it is absent, undefined or null.
func (r optionReader) get(name string) sobek.Value {
	val := r.obj.Get(name)
	if val == nil || sobek.IsUndefined(val) || sobek.IsNull(val) {
		return nil
	}
	return val
}

// set says whether the script named the option at all (null included).
func (r optionReader) set(name string) bool {
	val := r.obj.Get(name)
	return val != nil && !sobek.IsUndefined(val)
}

func (r optionReader) str(name string, dst *string) error {
	val := r.get(name)
	if val == nil {
		return nil
	}
	s, ok := val.Export().(string)
	if !ok {
		return fmt.Errorf("eda.Client: option %s must be a string, got %s", name, val.String())
	}
	*dst = strings.TrimSpace(s)
	return nil
}

func (r optionReader) dur(name string, dst *time.Duration) error {
	val := r.get(name)
	if val == nil {
		return nil
	}
	switch x := val.Export().(type) {
	case string:
		d, err := time.ParseDuration(x)
		if err != nil {
			return fmt.Errorf("eda.Client: option %s %q: want a duration such as \"30s\" or \"500ms\"", name, x)
		}
		*dst = d
	case int64:
		*dst = time.Duration(x) * time.Millisecond
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("eda.Client: option %s: want a duration, got %v", name, x)
		}
		*dst = time.Duration(x * float64(time.Millisecond))
	default:
		return fmt.Errorf("eda.Client: option %s: want a duration string (\"30s\") or milliseconds, got %s", name, val.String())
	}
	if *dst <= 0 {
		return fmt.Errorf("eda.Client: option %s must be positive, got %s", name, *dst)
	}
	return nil
}

// trends reads trends: true (the default) or false into its negation.
func (r optionReader) trends(noTrends *bool) error {
	val := r.get("trends")
	if val == nil {
		return nil
	}
	b, ok := val.Export().(bool)
	if !ok {
		return fmt.Errorf("eda.Client: option trends must be true or false, got %s", val.String())
	}
	*noTrends = !b
	return nil
}

// metrics reads the services' /metrics URLs, sorted so the same set names
// the same client.
func (r optionReader) metrics(rt *sobek.Runtime, dst *[]string) error {
	m := r.get("metrics")
	if m == nil {
		return nil
	}
	var urls []string
	if err := rt.ExportTo(m, &urls); err != nil {
		return fmt.Errorf("eda.Client: option metrics must be an array of URLs (each service's /metrics), got %s", m.String())
	}
	for _, u := range urls {
		if err := checkHTTP(u); err != nil {
			return fmt.Errorf("eda.Client: option metrics: %w", err)
		}
	}
	sort.Strings(urls)
	*dst = urls
	return nil
}

// settleBroker checks the broker options of a twin over the broker:
// broker, its URL (amqp is RabbitMQ's name for brokerUrl), and the
// options that belong to some brokers only (mgmt: RabbitMQ's management
// API; endQueue: a broker whose driver routes itself), each refused with
// the others.
func (o *options) settleBroker(amqpURL string, mgmtSet bool) error {
	if o.Broker == "" {
		o.Broker = bus.RabbitMQ
	}
	if _, err := drivers.Builtin().Lookup(o.Broker); err != nil {
		return fmt.Errorf("option broker %q: want one of %s", o.Broker, strings.Join(drivers.Builtin().Names(), ", "))
	}
	// The default broker keeps the script API's older options of its own
	// (amqp, its URL; mgmt, its management API), which no other takes.
	if o.Broker == bus.RabbitMQ {
		return o.settleRabbitMQ(amqpURL)
	}
	b, ok := routedBroker(o.Broker)
	if !ok {
		return fmt.Errorf("option broker %q: a driver xk6-eda has no settings for yet", o.Broker)
	}
	switch {
	case amqpURL != "":
		return fmt.Errorf("option amqp is RabbitMQ's broker URL; with broker: %q give %s as brokerUrl: %q (BROKER_URL= in the examples) and drop amqp", o.Broker, b.URLIs, b.DefaultURL)
	case mgmtSet && o.Mgmt != "":
		return fmt.Errorf("option mgmt is RabbitMQ's management API; over %s the queue depths come from brokerUrl: drop mgmt", b.Title)
	}
	o.Mgmt = ""
	if o.BrokerURL == "" {
		o.BrokerURL = b.DefaultURL
	}
	if err := checkRouted(b, o.BrokerURL); err != nil {
		return fmt.Errorf("option brokerUrl: %w", err)
	}
	if o.EndQueue == "" {
		o.EndQueue = o.Prefix + "." + DefaultEndQueue
	}
	return nil
}

// settleRabbitMQ checks the options of a twin over RabbitMQ, where each
// k6 run binds an end queue of its own to the twin's exchange.
func (o *options) settleRabbitMQ(amqpURL string) error {
	if o.EndQueue != "" {
		return errors.New("option endQueue is for broker: \"kafka\" or \"nats\": over RabbitMQ each k6 run binds a queue of its own; drop it")
	}
	switch {
	case amqpURL != "" && o.BrokerURL != "" && amqpURL != o.BrokerURL:
		return fmt.Errorf("options amqp and brokerUrl disagree (amqp is another name for brokerUrl): give one")
	case o.BrokerURL == "":
		o.BrokerURL = amqpURL
	}
	if o.BrokerURL == "" {
		o.BrokerURL = eda.DefaultConfig().URL
	}
	if err := checkAMQP(o.BrokerURL); err != nil {
		return fmt.Errorf("option brokerUrl (amqp): %w", err)
	}
	if o.Mgmt != "" {
		if err := checkHTTP(o.Mgmt); err != nil {
			return fmt.Errorf("option mgmt: %w", err)
		}
		o.Mgmt = strings.TrimRight(o.Mgmt, "/")
	}
	return nil
}

// routedBroker is the driver of broker when it routes itself
// (bus.Kind.RoutesItself: it delivers only to the queues the twin's
// services declared, so k6 reads its order ends from an end queue the
// twin declared, endQueue); false for RabbitMQ and an unknown name.
func routedBroker(broker string) (bus.Kind, bool) {
	k, err := drivers.Builtin().Lookup(broker)
	if err != nil || !k.RoutesItself {
		return bus.Kind{}, false
	}
	return k, true
}

// checkRouted says whether raw is a client URL in k's form whose every
// address is on loopback (or the allowlist).
func checkRouted(k bus.Kind, raw string) error {
	if err := k.CheckURL(raw); err != nil {
		return err
	}
	for _, a := range k.Addrs(raw) {
		if err := allowed(a); err != nil {
			return err
		}
	}
	return nil
}

// firstAddr is the HOST:PORT a client URL of k that checkRouted took
// dials first, for a reachability check.
func firstAddr(k bus.Kind, raw string) string {
	if a := k.Addrs(raw); len(a) > 0 {
		return a[0]
	}
	return raw
}

func checkAMQP(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps") || u.Host == "" {
		return fmt.Errorf("%q is not an AMQP URL (want amqp://USER:PASS@127.0.0.1:PORT/)", raw)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "5672")
	}
	return allowed(host)
}

func checkHTTP(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http URL (want http://127.0.0.1:PORT/...)", raw)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	return allowed(host)
}

// AllowEnv names the environment variable with the targets (HOST[:PORT],
// comma-separated) the extension may call beyond loopback, as the
// harness's --allow does: in a cluster (k6-operator's runners) the twin is
// a Service, not loopback.
const AllowEnv = "EDABENCH_ALLOW"

// allowed checks addr against loopback, or the runner's $EDABENCH_ALLOW.
func allowed(addr string) error {
	allow, err := loopback.ParseAllowlist(os.Getenv(AllowEnv))
	if err != nil {
		return fmt.Errorf("$%s: %w", AllowEnv, err)
	}
	return allow.Check(addr)
}
