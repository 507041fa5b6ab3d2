package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/edabench/edabench/internal/twinkind"

	"github.com/edabench/edabench/harness/attack"
	"github.com/edabench/edabench/harness/brokerprobe"
	"github.com/edabench/edabench/harness/peers"
	"github.com/edabench/edabench/targets/api/orderpb"
	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/kafka"
	natsbus "github.com/edabench/edabench/targets/bus/nats"
	"github.com/edabench/edabench/targets/bus/rabbitmq"
	"github.com/edabench/edabench/targets/eda"
	"github.com/edabench/edabench/targets/workflow"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// ceilingReport is part 3 on one backbone: the broker's ceiling with the
// twin's settings, and the EDA twin's knee over it as a share.
type ceilingReport struct {
	Broker  string             `json:"broker"`
	Version string             `json:"version,omitempty"`
	Probe   brokerprobe.Result `json:"probe"`
	// ProbeSettings says how the probe, like the twin, publishes and
	// consumes on this backbone.
	ProbeSettings string `json:"probe_settings"`
	// KneeRPS is the EDA twin's highest ramp step within the ramp's SLO;
	// KneeReached false means the ramp ended unbroken, so it is a floor.
	KneeRPS     float64 `json:"knee_rps"`
	KneeReached bool    `json:"knee_reached"`
	KneeReason  string  `json:"knee_reason,omitempty"`
	// KneeBrokenAt is the first step that broke the SLO (0: none did).
	KneeBrokenAt float64 `json:"knee_broken_at,omitempty"`
	Publishes    int     `json:"publishes_per_order"`
	Deliveries   int     `json:"deliveries_per_order"`
	// Share is the twin's message rate at its knee over the probe's.
	TwinMsgsPerSec float64 `json:"twin_msgs_per_s"`
	Share          float64 `json:"share"`
	// The machine is shared while the figures are taken: the 1, 5 and 15
	// minute load averages before the probe and after the ramp say how
	// quiet it was.
	LoadBefore string `json:"load_before,omitempty"`
	LoadAfter  string `json:"load_after,omitempty"`
	Err        string `json:"error,omitempty"`
}

// eventBody is an event as the twin's steps publish it, with an order ID
// as long as the harness's, so the probe's messages weigh the same.
func eventBody() ([]byte, error) {
	now := time.Now()
	ev := &orderpb.Event{Type: "PaymentCaptured", Step: string(workflow.Payment), OccurredAt: timestamppb.New(now),
		Order: &orderpb.OrderData{OrderId: attack.OrderID("20260101-120000-eda-ramp", 123456, now, now), Customer: "load",
			AmountCents: 1999, Items: []*orderpb.Item{{Sku: "sku-1", Quantity: 1}}}}
	b, err := proto.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode a sample event: %w", err)
	}
	return b, nil
}

// messagesPerOrder counts, for an order that completes, the events the
// chain publishes and the queue copies the broker delivers (each step's
// success event also goes to the gateway's projector), plus the one the
// harness's completion subscription receives.
func messagesPerOrder(cfg eda.Config) (publishes, deliveries int) {
	var keys []string // the success path's routing keys: every binding but order.failed
	for _, q := range cfg.Queues() {
		for _, k := range q.Bindings {
			if k != eda.KeyOrderFailed && !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	for _, q := range cfg.Queues() {
		for _, k := range q.Bindings {
			if slices.Contains(keys, k) {
				deliveries++
			}
		}
	}
	return len(keys), deliveries + 1
}

// ceiling runs part 3 on each backbone of --brokers in turn, in one run;
// a backbone that fails is reported and the next still runs.
func (s *session) ceiling(ctx context.Context) ([]*ceilingReport, error) {
	var out []*ceilingReport
	var errs []error
	for _, b := range s.cfg.brokers {
		fmt.Printf("  backbone %s\n", b)
		rep, err := s.ceilingOn(ctx, b)
		rep.LoadAfter = loadAverage()
		if err != nil {
			rep.Err = err.Error()
			errs = append(errs, fmt.Errorf("%s: %w", b, err))
		}
		out = append(out, rep)
		if ctx.Err() != nil {
			break
		}
	}
	return out, errors.Join(errs...)
}

// ceilingOn probes broker's node with the twin's settings on it, then
// ramps the EDA twin over it to its knee.
func (s *session) ceilingOn(ctx context.Context, broker string) (*ceilingReport, error) {
	rep := &ceilingReport{Broker: broker, LoadBefore: loadAverage()}
	node, err := s.brokerNode(ctx, broker)
	if err != nil {
		return rep, err
	}
	rep.Version = node.Version(ctx)
	body, err := eventBody()
	if err != nil {
		return rep, err
	}
	opts, err := eda.DefaultOptions(broker)
	if err != nil {
		return rep, err
	}
	cfg := eda.DefaultConfig()
	rep.Publishes, rep.Deliveries = messagesPerOrder(cfg)
	prefetch := twinPrefetch(opts)
	rep.ProbeSettings = probeSettings(opts)
	fmt.Printf("  probe: %v, %d-byte bodies, %s, prefetch %d...\n", s.cfg.probeDur, len(body), rep.ProbeSettings, prefetch)
	rep.Probe, err = brokerprobe.Run(ctx, brokerprobe.Config{Node: node, Driver: broker, Options: opts, Body: body,
		Duration: s.cfg.probeDur, Prefetch: prefetch, Publishers: s.cfg.probePublishers, Queues: len(cfg.Queues())})
	if err != nil {
		return rep, err
	}
	fmt.Printf("  probe: %.0f msgs/s (publish %.0f/s confirmed, consume %.0f/s acked)\n", rep.Probe.MsgsPerSec, rep.Probe.PublishRate, rep.Probe.ConsumeRate)

	// The capacity scenario, not the ramp: sustaining a rate is what a
	// share of the broker's ceiling is about, not a latency SLO.
	fmt.Printf("  EDA twin over %s: capacity ramp (scenarios/capacity.yaml, up to %v)...\n", broker, s.cfg.rampDur)
	args := []string{"run", "--twin", twinkind.EDA, "--broker", broker, "--scenario", "capacity", "--duration", s.cfg.rampDur.String(),
		"--metrics-addr", "off", "--binary", s.cfg.target}
	_, t, _, err := s.runEdabench(ctx, "ramp-eda-"+broker, twinkind.EDA, args, peers.Spec{})
	if err != nil {
		return rep, err
	}
	if t.Knee == nil {
		return rep, fmt.Errorf("the ramp's summary has no knee (see %s)", s.raw)
	}
	rep.KneeRPS, rep.KneeReached, rep.KneeReason, rep.KneeBrokenAt = t.Knee.RPS, t.Knee.Reached, t.Knee.Reason, t.Knee.BrokenAt
	rep.TwinMsgsPerSec = rep.KneeRPS * float64(rep.Deliveries)
	if rep.Probe.MsgsPerSec > 0 {
		rep.Share = rep.TwinMsgsPerSec / rep.Probe.MsgsPerSec
	}
	fmt.Printf("  EDA knee %.0f orders/s x %d deliveries = %.0f msgs/s: %.0f%% of the ceiling\n", rep.KneeRPS, rep.Deliveries, rep.TwinMsgsPerSec, 100*rep.Share)
	return rep, nil
}

// twinPrefetch is the twin's bound of unsettled deliveries per consumer.
func twinPrefetch(o bus.DriverOptions) int {
	switch v := o.(type) {
	case rabbitmq.Options:
		return v.Prefetch
	case kafka.Options:
		return v.Prefetch
	case natsbus.Options:
		return v.Prefetch
	}
	return 0
}

// probeSettings says in a few words how the probe (and the twin) publish
// and consume on the backbone, for the table.
func probeSettings(o bus.DriverOptions) string {
	switch v := o.(type) {
	case rabbitmq.Options:
		return fmt.Sprintf("%s queues, persistent, publisher confirms, manual acks", v.QueueType)
	case kafka.Options:
		return fmt.Sprintf("acks=all, idempotent producer, %d partitions, linger %v, commit after ack", v.Partitions, v.Linger)
	case natsbus.Options:
		return "file-backed work-queue streams, async publish awaiting each PubAck, Nats-Msg-Id dedup, explicit acks"
	}
	return fmt.Sprintf("%+v", o)
}

// loadAverage is /proc/loadavg's 1, 5 and 15 minute figures, "" where
// there is none.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
