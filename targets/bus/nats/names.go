package nats

import (
	"fmt"
	"strings"
)

// JetStream names (streams, consumers) may not hold '.', '*', '>', spaces
// or path separators, and a subject token may not hold '.': esc maps a
// queue or exchange name to one token, one to one (letters, digits and
// '-' stay; every other byte becomes _XX in hex).
func esc(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "_%02X", c)
		}
	}
	return b.String()
}

// Metadata keys on streams and consumers: the names as the topology
// spells them (harness/natsnode reads them from /jsz; keep equal).
const (
	metaQueue    = "edabench.queue"
	metaExchange = "edabench.exchange"
	// metaAdvisories names the queue whose max-deliveries advisories a
	// consumer of the advisory stream reads.
	metaAdvisories = "edabench.advisories"
)

// layout is where a topology lives: one stream per exchange (a twin) for
// the queues' messages, one for their dead letters, each queue a subject
// and a durable consumer filtered on it.
type layout struct{ exchange string }

func (l layout) stream() string    { return "EB_" + esc(l.exchange) }
func (l layout) dlqStream() string { return l.stream() + "_DLQ" }

// advStream keeps the max-deliveries advisories of stream()'s consumers.
func (l layout) advStream() string { return l.stream() + "_ADV" }

// subject of queue q's messages in stream(); dlqSubject of its dead
// letters in dlqStream().
func (l layout) subject(q string) string    { return l.stream() + ".q." + esc(q) }
func (l layout) dlqSubject(q string) string { return l.stream() + ".dlq." + esc(q) }

// consumer is the durable consumer of queue q (or of a dead-letter queue).
func consumer(q string) string { return esc(q) }

// advConsumer is queue q's durable consumer of the advisory stream.
func advConsumer(q string) string { return "adv-" + esc(q) }

// maxDeliveriesSubject is the advisory JetStream publishes when a message
// of stream's consumer reached MaxDeliver without an ack.
func maxDeliveriesSubject(stream, consumer string) string {
	return "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + stream + "." + consumer
}
