package kafka

import (
	"fmt"
	"strings"
	"time"

	"github.com/edabench/edabench/targets/bus"
)

// Name is the driver's name in the registry and the metrics' broker label.
const Name = "kafka"

// Defaults of Options' zero fields.
const (
	DefaultURL        = "127.0.0.1:9102" // the private node (harness/kafkanode)
	DefaultPartitions = 3
	DefaultPrefetch   = 32
	// DefaultLinger is 0: a publish is a request-response step of a twin's
	// handler, so waiting to fill a batch adds latency to every order.
	DefaultLinger     = 0
	DefaultBatchBytes = 1 << 20 // franz-go's default, Kafka's message.max.bytes
)

// Options are Kafka's own settings, passed through bus.WithDriverOptions;
// every zero field takes its default. They stay comparable, as the
// configs holding them are.
type Options struct {
	// Partitions of every queue topic (and its dead-letter topic) when
	// Declare creates it. A topic that exists keeps its count: Kafka can
	// only grow it, and growing it remaps keys, so the driver never does.
	Partitions int32
	// Linger is how long the producer waits to fill a batch per partition.
	Linger time.Duration
	// BatchBytes bounds one produced batch.
	BatchBytes int32
	// Prefetch bounds the records in flight per subscription when Consume
	// sets none; default DefaultPrefetch.
	Prefetch int
	// Metrics, if set, counts every client's produce and fetch batches and
	// times its requests (NewClientMetrics): one per service, so a process
	// running several services labels each its own.
	Metrics *ClientMetrics
	// ViaSeed dials every broker the metadata names through the one seed
	// address of the URL. A Kafka client reaches the brokers at their
	// advertised listeners, not at the seed, so a proxy placed as the seed
	// (the harness's network faults on a service's broker link) would carry
	// only the first metadata request. On a single-broker node the seed
	// and the broker are the same node, so pinning is exact; on a cluster
	// it would send every broker's requests to one, hence opt-in and
	// refused with several seeds (a cluster needs a proxy per broker and
	// its advertised listeners mapped to them: docs/architecture.md).
	ViaSeed bool
}

// Broker is Name.
func (Options) Broker() string { return Name }

// Validate names a wrong setting and what it accepts.
func (o Options) Validate() error {
	switch {
	case o.Partitions < 0 || o.Partitions > 1000:
		return fmt.Errorf("partitions %d: want 1 to 1000 (0: %d)", o.Partitions, DefaultPartitions)
	case o.Linger < 0 || o.Linger > time.Minute:
		return fmt.Errorf("linger %s: want 0 to 1m", o.Linger)
	case o.BatchBytes < 0 || (o.BatchBytes > 0 && o.BatchBytes < 1024):
		return fmt.Errorf("batch size %d bytes: want at least 1024 (0: %d)", o.BatchBytes, DefaultBatchBytes)
	case o.Prefetch < 0 || o.Prefetch > 65535:
		return fmt.Errorf("prefetch %d: want 1 to 65535 (0: %d)", o.Prefetch, DefaultPrefetch)
	}
	return nil
}

// viaSeed is the one address every connection dials with ViaSeed, or ""
// without it.
func (o Options) viaSeed(url string) (string, error) {
	if !o.ViaSeed {
		return "", nil
	}
	s := seeds(url)
	if len(s) != 1 {
		return "", fmt.Errorf("via seed: the URL %q names %d seed brokers; pinning dials one address for every broker, "+
			"which only a single-broker node answers for: give one HOST:PORT, or drop ViaSeed (--kafka-via-seed)", url, len(s))
	}
	return s[0], nil
}

func (o Options) withDefaults() Options {
	if o.Partitions == 0 {
		o.Partitions = DefaultPartitions
	}
	if o.BatchBytes == 0 {
		o.BatchBytes = DefaultBatchBytes
	}
	if o.Prefetch == 0 {
		o.Prefetch = DefaultPrefetch
	}
	return o
}

// options reads the driver's options from cfg, defaults filled in.
func options(cfg bus.DriverConfig) (Options, error) {
	o, err := bus.OptionsAs[Options]("kafka", cfg)
	return o.withDefaults(), err
}

// seeds are the bootstrap addresses of a URL: host:port[,host:port...],
// with an optional kafka:// scheme; empty means DefaultURL.
func seeds(url string) []string {
	url = strings.TrimPrefix(strings.TrimSpace(url), "kafka://")
	url = strings.TrimSuffix(url, "/")
	if url == "" {
		return []string{DefaultURL}
	}
	var out []string
	for _, s := range strings.Split(url, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// CheckURL says whether url is a Kafka client URL the driver dials: one or
// more HOST:PORT seeds, comma-separated, optionally after kafka://. An
// AMQP URL (RabbitMQ's) is named as such, the commonest mix-up.
func CheckURL(url string) error {
	raw := strings.TrimSpace(url)
	if scheme, _, ok := strings.Cut(raw, "://"); ok && scheme != "kafka" {
		if scheme == "amqp" || scheme == "amqps" {
			return fmt.Errorf("%q is a RabbitMQ (AMQP) URL: Kafka's is the seed broker's HOST:PORT, e.g. %s", redactUserinfo(raw), DefaultURL)
		}
		return fmt.Errorf("%q: a Kafka client URL is HOST:PORT[,HOST:PORT...] (optionally after kafka://), e.g. %s", redactUserinfo(raw), DefaultURL)
	}
	ss := seeds(raw)
	for _, s := range ss {
		host, port, ok := strings.Cut(s, ":")
		if !ok || host == "" || port == "" || strings.ContainsAny(port, ":/@") || !allDigits(port) {
			return fmt.Errorf("%q: seed %q is not HOST:PORT; a Kafka client URL is HOST:PORT[,HOST:PORT...], e.g. %s", redactUserinfo(raw), s, DefaultURL)
		}
	}
	return nil
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// redactUserinfo hides a password in a URL quoted back in a message.
func redactUserinfo(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		user, _, _ := strings.Cut(rest[:at], ":")
		return scheme + "://" + user + ":xxxxx@" + rest[at+1:]
	}
	return raw
}
