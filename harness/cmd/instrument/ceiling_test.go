package main

import (
	"strings"
	"testing"

	"github.com/edabench/edabench/harness/brokerprobe"
	"github.com/edabench/edabench/targets/eda"
)

func TestParseBrokers(t *testing.T) {
	got, err := parseBrokers("kafka, rabbitmq,kafka")
	if err != nil || strings.Join(got, ",") != "kafka,rabbitmq" {
		t.Errorf("parseBrokers = %v, %v; want [kafka rabbitmq], in the order given", got, err)
	}
	for _, bad := range []string{"", "pulsar", "rabbitmq,"} {
		if _, err := parseBrokers(bad); err == nil || !strings.Contains(err.Error(), "--brokers") {
			t.Errorf("parseBrokers(%q) = %v: want an error naming --brokers", bad, err)
		}
	}
}

// The probe runs with the twin's settings on each backbone, and says so.
func TestTwinSettings(t *testing.T) {
	for _, tc := range []struct {
		broker, settings string
		prefetch         int
	}{
		{"rabbitmq", "quorum queues, persistent, publisher confirms, manual acks", 256},
		{"kafka", "acks=all, idempotent producer, 3 partitions, linger 0s, commit after ack", 64},
		{"nats", "file-backed work-queue streams, async publish awaiting each PubAck, Nats-Msg-Id dedup, explicit acks", 256},
	} {
		o, err := eda.DefaultOptions(tc.broker)
		if err != nil {
			t.Fatal(err)
		}
		d := describe(tc.broker, o)
		if d.Settings != tc.settings {
			t.Errorf("%s: describe(...).Settings = %q, want %q", tc.broker, d.Settings, tc.settings)
		}
		if d.Prefetch != tc.prefetch {
			t.Errorf("%s: describe(...).Prefetch = %d, want the twin's %d", tc.broker, d.Prefetch, tc.prefetch)
		}
	}
}

// Part 3's table has a row per backbone with its share, the goal per
// backbone, and a backbone that failed shows its error, not a share.
func TestCeilingMarkdown(t *testing.T) {
	rows := []*ceilingReport{
		{Broker: "rabbitmq", Version: "3.10.8", ProbeSettings: "quorum queues", Publishes: 5, Deliveries: 9,
			Probe:   brokerprobe.Result{Queues: 5, Publishers: 64, Prefetch: 64, Backlog: 512, BodyBytes: 90, PublishRate: 4000, ConsumeRate: 3900, MsgsPerSec: 3900, Confirmed: 1},
			KneeRPS: 400, KneeReached: true, KneeBrokenAt: 450, KneeReason: "p99 1.2s above the SLO 1s at 450/s", TwinMsgsPerSec: 3600, Share: 3600.0 / 3900, LoadBefore: "1.00 2.00 3.00", LoadAfter: "2.00 2.00 3.00"},
		{Broker: "kafka", Version: "4.4.0", ProbeSettings: "acks=all", Publishes: 5, Deliveries: 9,
			Probe:   brokerprobe.Result{Queues: 5, Publishers: 64, Prefetch: 64, BodyBytes: 90, PublishRate: 9000, ConsumeRate: 9100, MsgsPerSec: 9000, Confirmed: 1},
			KneeRPS: 300, TwinMsgsPerSec: 2700, Share: 0.3},
		{Broker: "slow", ProbeSettings: "x", Probe: brokerprobe.Result{Confirmed: 1, MsgsPerSec: 500}, KneeReached: true, KneeBrokenAt: 50,
			KneeReason: "p99 3.4s above the SLO 1s at 50/s"},
		{Broker: "other", Err: "the node did not start"},
	}
	md := ceilingMarkdown(rows)
	for _, want := range []string{
		"| rabbitmq 3.10.8 | quorum queues | 5 | 64 | 64 | 512 | 90 | 4000 | 3900 | 3900 | 400 | 3600 | **92%** | 1.00 2.00 3.00 / 2.00 2.00 3.00 |",
		"| kafka 4.4.0 | acks=all | 5 | 64 | 64 | unbounded | 90 | 9000 | 9100 | 9000 | 300 (floor) | 2700 | **30%** |",
		"| other | error: the node did not start |",
		"- Goal on rabbitmq, at least 70%: met (the ramp broke at 450/s: p99 1.2s above the SLO 1s at 450/s).",
		"| slow | x | 0 | 0 | 0 | unbounded | 0 | 0 | 0 | 500 | < 50 | 0 | **0%** |",
		"- Goal on kafka, at least 70%: **not decided** (the ramp held its last step, 300/s: the share is a floor; a ramp reaching higher would decide it).",
		"- other: the node did not start",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
}
