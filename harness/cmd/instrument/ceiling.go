package main

import (
	"context"
	"fmt"
	"github.com/edabench/edabench/internal/twinkind"
	"slices"
	"time"

	"github.com/edabench/edabench/harness/attack"
	"github.com/edabench/edabench/harness/brokerprobe"
	"github.com/edabench/edabench/harness/peers"
	"github.com/edabench/edabench/targets/api/orderpb"
	"github.com/edabench/edabench/targets/bus/rabbitmq"
	"github.com/edabench/edabench/targets/eda"
	"github.com/edabench/edabench/targets/workflow"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

type ceilingReport struct {
	Probe brokerprobe.Result `json:"probe"`
	// KneeRPS is the EDA twin's highest ramp step within the ramp's SLO;
	// KneeReached false means the ramp ended unbroken, so it is a floor.
	KneeRPS     float64 `json:"knee_rps"`
	KneeReached bool    `json:"knee_reached"`
	KneeReason  string  `json:"knee_reason,omitempty"`
	Publishes   int     `json:"publishes_per_order"`
	Deliveries  int     `json:"deliveries_per_order"`
	// Share is the twin's message rate at its knee over the probe's.
	TwinMsgsPerSec float64 `json:"twin_msgs_per_s"`
	Share          float64 `json:"share"`
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

func (s *session) ceiling(ctx context.Context) (*ceilingReport, error) {
	node, err := s.broker(ctx)
	if err != nil {
		return nil, err
	}
	body, err := eventBody()
	if err != nil {
		return nil, err
	}
	cfg := eda.DefaultConfig()
	rep := &ceilingReport{}
	rep.Publishes, rep.Deliveries = messagesPerOrder(cfg)
	prefetch := rabbitmq.OptionsOf(cfg.Options).Prefetch
	fmt.Printf("  probe: %v, %d-byte bodies, quorum queues, confirms, manual acks, prefetch %d...\n", s.cfg.probeDur, len(body), prefetch)
	rep.Probe, err = brokerprobe.Run(ctx, brokerprobe.Config{Node: node, Body: body, Duration: s.cfg.probeDur,
		Prefetch: prefetch, Publishers: s.cfg.probePublishers, Queues: len(cfg.Queues())})
	if err != nil {
		return rep, err
	}
	fmt.Printf("  probe: %.0f msgs/s (publish %.0f/s confirmed, consume %.0f/s acked)\n", rep.Probe.MsgsPerSec, rep.Probe.PublishRate, rep.Probe.ConsumeRate)

	// The capacity scenario, not the ramp: sustaining a rate is what a
	// share of the broker's ceiling is about, not a latency SLO.
	fmt.Printf("  EDA twin: capacity ramp (scenarios/capacity.yaml, up to %v)...\n", s.cfg.rampDur)
	args := []string{"run", "--twin", twinkind.EDA, "--scenario", "capacity", "--duration", s.cfg.rampDur.String(),
		"--metrics-addr", "off", "--binary", s.cfg.target}
	_, t, _, err := s.runEdabench(ctx, "ramp-eda", twinkind.EDA, args, peers.Spec{})
	if err != nil {
		return rep, err
	}
	if t.Knee == nil {
		return rep, fmt.Errorf("the ramp's summary has no knee (see %s)", s.raw)
	}
	rep.KneeRPS, rep.KneeReached, rep.KneeReason = t.Knee.RPS, t.Knee.Reached, t.Knee.Reason
	rep.TwinMsgsPerSec = rep.KneeRPS * float64(rep.Deliveries)
	if rep.Probe.MsgsPerSec > 0 {
		rep.Share = rep.TwinMsgsPerSec / rep.Probe.MsgsPerSec
	}
	fmt.Printf("  EDA knee %.0f orders/s x %d deliveries = %.0f msgs/s: %.0f%% of the ceiling\n", rep.KneeRPS, rep.Deliveries, rep.TwinMsgsPerSec, 100*rep.Share)
	return rep, nil
}
