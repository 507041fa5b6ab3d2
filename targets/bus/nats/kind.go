package nats

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/edabench/edabench/targets/bus"
)

// twinPrefetch is the twins' bound of deliveries in flight per consumer,
// the same on every backbone so that the twins compare.
const twinPrefetch = 64

// withBackbone fills in what the twins, the harness and the k6 extension
// need to know of the NATS backbone.
func withBackbone(k bus.Kind) bus.Kind {
	k.Title = "NATS"
	k.DefaultURL = DefaultURL
	k.URLIs = "the NATS server's client URL"
	k.CheckURL = CheckURL
	k.Addrs = func(raw string) []string {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil {
			return []string{raw}
		}
		return []string{u.Host}
	}
	k.TwinOptions = func(s bus.TwinSettings) (bus.DriverOptions, error) {
		o := TwinDefaults()
		if s.Prefetch != 0 {
			o.Prefetch = s.Prefetch
		}
		for f := range s.Flags {
			return nil, fmt.Errorf("--%s is not a NATS setting", f)
		}
		return o, o.Validate()
	}
	k.Describe = func(o bus.DriverOptions) bus.Description {
		v, _ := o.(Options)
		return bus.Description{Prefetch: v.withDefaults().Prefetch,
			Settings: "file-backed work-queue streams, async publish awaiting each PubAck, Nats-Msg-Id dedup, explicit acks"}
	}
	k.RoutesItself = true
	return k
}

// TwinDefaults are the NATS settings of the twins: prefetch 64 as on
// Kafka, the driver's duplicate window and pending bounds, and AckWait
// 10 s rather than JetStream's 30 s. AckWait is what a killed or cut
// consumer's deliveries wait before they come again (RabbitMQ requeues
// them when the channel closes): at 30 s a crash's backlog outlasted the
// load (failure-crash over NATS, 2026-12-05: recovery "never" within the
// run, consumer lag 30.1 s; at 10 s it recovered in 4.6 s, e2e max
// 10.5 s, nothing lost), while a twin's handler takes milliseconds and a
// delivery waits at most two prefetch windows before it.
func TwinDefaults() Options {
	return Options{Prefetch: twinPrefetch, AckWait: 10 * time.Second}
}
