package nats

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/edabench/edabench/targets/bus"
)

// twinPrefetch is the twins' bound of deliveries in flight per consumer:
// the handlers a subscription runs and the messages its pull requests may
// have outstanding (PullMaxMessages), so both grow with it. 256 as on
// RabbitMQ, for the same reason (TwinDefaults).
const twinPrefetch = 256

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

// TwinDefaults are the NATS settings of the twins: prefetch 256, the
// driver's duplicate window and pending bounds, and AckWait
// 10 s rather than JetStream's 30 s. AckWait is what a killed or cut
// consumer's deliveries wait before they come again (RabbitMQ requeues
// them when the channel closes): at 30 s a crash's backlog outlasted the
// load (failure-crash over NATS, 2026-12-05: recovery "never" within the
// run, consumer lag 30.1 s; at 10 s it recovered in 4.6 s, e2e max
// 10.5 s, nothing lost), while a twin's handler takes milliseconds and a
// delivery waits at most two prefetch windows before it.
//
// Prefetch 256 rather than 64: at 64 the twin was capped by its pull
// window, not by CPU (2026-12-05, loaded 2-core machine, load average
// 12-24; docs/performance.md, "The consumer path on NATS"). In a chain
// run at 1,200-1,600 orders/s the gateway's 64 projector handlers were
// all idle while its queue's backlog grew by 2,000/s, each step's
// consumer sat near 128 unacked (64 handed out and 64 pulled), and the
// services used 4-23% of a core, nats-server 10-27%: a subscription
// moves at most one pull window per round trip. In 5 interleaved knee
// pairs (64 first, then alternating) the completion knee at 256 was
// ahead in 4 of 5, median ratio 2.00 [0.55, 2.59] (A 400, B 734
// orders/s, medians; with 2 more pairs 5 of 7, 2.00 [0.19, 5.19]). The
// driver alone (BenchmarkRelay) moves 10,000-66,000 msg/s at either, with
// no call between them: the window binds only where the round trip
// waits for a loaded scheduler, as in the twin. A killed service now
// leaves up to 512 deliveries per queue (256 handed out, 256 pulled) to
// come again after AckWait.
func TwinDefaults() Options {
	return Options{Prefetch: twinPrefetch, AckWait: 10 * time.Second}
}
