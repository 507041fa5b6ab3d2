package brokerprobe

import (
	"context"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/broker/brokertest"
	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/claims"
	"github.com/edabench/edabench/harness/kafkanode/kafkatest"
	"github.com/edabench/edabench/harness/natsnode/natstest"
	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/kafka"
	natsbus "github.com/edabench/edabench/targets/bus/nats"
	"github.com/edabench/edabench/targets/bus/rabbitmq"
)

func TestConfigDefaults(t *testing.T) {
	node := fakeNode{}
	tests := []struct {
		name    string
		c       Config
		wantErr string
		want    Config
	}{
		{"no node", Config{Duration: time.Second}, "Config.Node is nil", Config{}},
		{"no duration", Config{Node: node}, "Duration must be positive", Config{}},
		{"defaults: RabbitMQ with the twin's settings", Config{Node: node, Duration: 5 * time.Second},
			"", Config{Node: node, Duration: 5 * time.Second, Queues: 5, Publishers: 64, Prefetch: 64, Warmup: time.Second,
				Driver: bus.RabbitMQ, Options: rabbitmq.TwinDefaults(), MaxPublishes: DefaultMaxPublishes, Backlog: 512}},
		{"Kafka with the twin's settings", Config{Node: node, Duration: 5 * time.Second, Driver: kafka.Name},
			"", Config{Node: node, Duration: 5 * time.Second, Queues: 5, Publishers: 64, Prefetch: 64, Warmup: time.Second,
				Driver: kafka.Name, Options: kafka.TwinDefaults(), MaxPublishes: DefaultMaxPublishes, Backlog: 512}},
		{"warm-up capped, backlog 8 x the larger of publishers and prefetch", Config{Node: node, Duration: time.Minute, Queues: 2, Publishers: 3, Prefetch: 4, MaxPublishes: 9},
			"", Config{Node: node, Duration: time.Minute, Queues: 2, Publishers: 3, Prefetch: 4, Warmup: 2 * time.Second,
				Driver: bus.RabbitMQ, Options: rabbitmq.TwinDefaults(), MaxPublishes: 9, Backlog: 32}},
		{"backlog given", Config{Node: node, Duration: time.Minute, Queues: 2, Publishers: 3, Prefetch: 4, MaxPublishes: 9, Backlog: 7},
			"", Config{Node: node, Duration: time.Minute, Queues: 2, Publishers: 3, Prefetch: 4, Warmup: 2 * time.Second,
				Driver: bus.RabbitMQ, Options: rabbitmq.TwinDefaults(), MaxPublishes: 9, Backlog: 7}},
		{"another broker's options", Config{Node: node, Duration: time.Second, Driver: kafka.Name, Options: rabbitmq.TwinDefaults()},
			`options for broker "rabbitmq" given for the kafka driver`, Config{}},
		{"bad options", Config{Node: node, Duration: time.Second, Driver: kafka.Name, Options: kafka.Options{Partitions: -1}},
			"partitions -1", Config{}},
		{"a driver the twin has no settings for", Config{Node: node, Duration: time.Second, Driver: "pulsar"},
			`broker "pulsar"`, Config{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.c.withDefaults()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("withDefaults() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// A probe runs over each broker's driver with the twin's settings,
// carries messages, claims its prefix on the node before declaring and
// leaves neither queues (topics) nor, on RabbitMQ, its claim behind.
func TestProbeLeavesNothing(t *testing.T) {
	for _, tc := range []struct {
		driver string
		node   func(t *testing.T) brokernode.Node
	}{
		{bus.RabbitMQ, func(t *testing.T) brokernode.Node { return brokertest.Shared(t) }},
		{kafka.Name, func(t *testing.T) brokernode.Node { return kafkatest.Shared(t) }},
		{natsbus.Name, func(t *testing.T) brokernode.Node { return natstest.Shared(t) }},
	} {
		t.Run(tc.driver, func(t *testing.T) {
			node := tc.node(t)
			ctx := t.Context()
			before, err := node.QueueDepths(ctx)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Run(ctx, Config{Node: node, Driver: tc.driver, Queues: 2, Publishers: 2, Duration: time.Second, Body: []byte("probe")})
			if err != nil {
				t.Fatal(err)
			}
			if r.Confirmed == 0 || r.Acked == 0 || r.Broker != tc.driver || r.Settings == "" || r.Capped {
				t.Errorf("result %+v: want messages carried over the %s driver, its settings named, no cap", r, tc.driver)
			}
			leftovers(t, ctx, node, before)
		})
	}
}

// TestProbeMaxPublishes: the publishes are bounded in count as well as
// time; spending them in the warm-up is an error that says so.
func TestProbeMaxPublishes(t *testing.T) {
	node := brokertest.Shared(t)
	_, err := Run(t.Context(), Config{Node: node, Queues: 1, Publishers: 2, Duration: time.Minute, Warmup: 10 * time.Second,
		MaxPublishes: 20, Body: []byte("probe")})
	if err == nil || !strings.Contains(err.Error(), "spent in the warm-up") {
		t.Fatalf("Run with 20 publishes and a 10s warm-up = %v, want an error saying they were spent in the warm-up", err)
	}
}

// TestProbeCappedWindow: publishes spent inside the window end it early;
// the rates cover the part that ran, and the result says it was capped.
func TestProbeCappedWindow(t *testing.T) {
	node := brokertest.Shared(t)
	const maxPub = 2000
	r, err := Run(t.Context(), Config{Node: node, Queues: 1, Publishers: 2, Duration: 5 * time.Minute, Warmup: 50 * time.Millisecond,
		MaxPublishes: maxPub, Body: []byte("probe")})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Capped || r.Confirmed == 0 || r.Confirmed > maxPub || r.Seconds >= (5*time.Minute).Seconds() {
		t.Errorf("result %+v: want a window cut short by the cap, with at most %d confirmed publishes", r, maxPub)
	}
}

// leftovers fails the test on a probe queue the node did not have before,
// and on a claim of this process left on a RabbitMQ node.
func leftovers(t *testing.T, ctx context.Context, node brokernode.Node, before map[string]brokernode.QueueStat) {
	t.Helper()
	after, err := node.QueueDepths(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name := range after {
		if _, old := before[name]; !old && strings.HasPrefix(name, "probe") {
			t.Errorf("queue %s left on the node after the probe", name)
		}
	}
	// The RabbitMQ node lists its claims; the Kafka node keeps them to
	// itself (its topics, checked above, are what a claim protects).
	rn, ok := node.(interface {
		Records() ([]claims.Record, error)
	})
	if !ok {
		return
	}
	recs, err := rn.Records()
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		if rec.PID == os.Getpid() {
			t.Errorf("claim %+v left after the probe", rec)
		}
	}
}

// fakeNode is a brokernode.Node for the checks that never reach a broker.
type fakeNode struct{ brokernode.Node }
