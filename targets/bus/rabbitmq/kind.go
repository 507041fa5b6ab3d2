package rabbitmq

import (
	"errors"
	"fmt"
	"time"

	"github.com/edabench/edabench/targets/bus"
)

// NodeURL is the client URL of the private node harness/broker starts
// (`make broker-up`), what the twins dial when given none.
const NodeURL = "amqp://guest:guest@127.0.0.1:5682/"

// The driver's own flags of the twin's command.
const (
	FlagQueueType = "queue-type"
	FlagHeartbeat = "heartbeat"
)

// twinPrefetch is the twins' bound of unacked deliveries per consumer. A
// consumer moves at most prefetch deliveries per round trip (deliver,
// handle, confirm the next event, ack, and the quorum queue's Raft command
// that frees the slot), so where that round trip is long the prefetch is
// the ceiling: at 64 every step of the twin sat at 64 unacked and
// utilisation 1.0 while the broker idled and the queues grew
// (docs/performance.md, "The consumer path on RabbitMQ"). Kafka and NATS
// keep 64: their consumers were not held by it.
const twinPrefetch = 256

func kind() bus.Kind {
	return bus.Kind{
		Name: Name, Title: "RabbitMQ", Open: Open, Delete: Delete,
		DefaultURL: NodeURL, URLIs: "the broker's AMQP URL",
		CheckURL: checkURL, Addrs: addrs, Handshake: handshake,
		TwinOptions: twinOptions,
		Flags: []bus.Flag{
			{Name: FlagQueueType, Usage: "EDA over RabbitMQ: quorum or classic", Default: string(Quorum)},
			{Name: FlagHeartbeat, Usage: "EDA over RabbitMQ: AMQP heartbeat", Default: DefaultHeartbeat.String()},
		},
		Describe: func(o bus.DriverOptions) bus.Description {
			v, _ := o.(Options)
			v = v.withDefaults()
			return bus.Description{Prefetch: v.Prefetch,
				Settings: fmt.Sprintf("%s queues, persistent, publisher confirms, manual acks", v.QueueType)}
		},
	}
}

// TwinDefaults are the RabbitMQ settings of the twins: quorum queues,
// prefetch 256, a 10 s heartbeat.
func TwinDefaults() Options {
	return Options{QueueType: Quorum, Prefetch: twinPrefetch, Heartbeat: DefaultHeartbeat}
}

func twinOptions(s bus.TwinSettings) (bus.DriverOptions, error) {
	o := TwinDefaults()
	if s.Prefetch != 0 {
		o.Prefetch = s.Prefetch
	}
	if v, ok := s.Flags[FlagQueueType]; ok {
		o.QueueType = QueueType(v)
	}
	if v, ok := s.Flags[FlagHeartbeat]; ok {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("--%s %q: want a duration such as 10s", FlagHeartbeat, v)
		}
		o.Heartbeat = d
	}
	for f := range s.Flags {
		if f != FlagQueueType && f != FlagHeartbeat {
			return nil, fmt.Errorf("--%s is not a RabbitMQ setting", f)
		}
	}
	return o, o.Validate()
}

// checkURL refuses what is not an AMQP URL, naming the commonest mix-up.
func checkURL(raw string) error {
	if _, err := Address(raw); err != nil {
		return fmt.Errorf("%w (a Kafka seed HOST:PORT needs --broker kafka, a nats:// URL --broker nats)", err)
	}
	return nil
}

// addrs are the HOST:PORT of each node of an AMQP URL (a cluster's are
// comma-separated), 5672 where it names no port.
func addrs(raw string) []string {
	var out []string
	for _, u := range URLs(raw) {
		if a, err := Address(u); err == nil {
			out = append(out, a)
		}
	}
	return out
}

// handshake is Handshake with what to do about a refusal.
func handshake(raw string, timeout time.Duration) error {
	err := Handshake(raw, timeout)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrLoginRefused):
		return fmt.Errorf("%w; pass the running twin's --amqp, with its user and password", err)
	case errors.Is(err, ErrVhostRefused):
		return fmt.Errorf("%w; pass the running twin's --amqp, with its vhost", err)
	}
	return fmt.Errorf("no AMQP connection opened (%w): is it a RabbitMQ broker? pass the running twin's --amqp", err)
}
