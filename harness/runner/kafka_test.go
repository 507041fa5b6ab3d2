package runner

import (
	"context"
	"testing"

	"github.com/edabench/edabench/harness/kafkanode/kafkatest"
)

// TestEDAOverKafka runs the EDA twin over the real private Kafka node
// (--broker kafka) at a light rate: every accepted order must complete,
// none applied twice or left half done, the run must say which broker it
// ran on, and the time lag must be sampled. Short on purpose: CI has 2 cores.
func TestEDAOverKafka(t *testing.T) {
	node := kafkatest.Shared(t) // skips under -short; fails naming make kafka
	bin, err := buildTarget(t)
	if err != nil {
		t.Fatal(err)
	}
	sc := mustScenario(t, `
name: eda-over-kafka
arrival: uniform
stages:
  - {name: steady, duration: 4s, rate: 40}
timeout: 5s
max_in_flight: 512
drain: 20s
cost: dist=fixed,mean=1ms
broker: kafka
`)
	sum, dir, err := Run(context.Background(), WithTwins("eda"), WithScenario(sc), WithBinary(bin),
		WithNode(node), WithOutDir(t.TempDir()), WithMetricsAddr("off"))
	if err != nil {
		t.Fatalf("run: %v (results in %s)", err, dir)
	}
	checkSchema(t, dir)
	if b := sum.Environment.Broker; b == nil || b.Name != "kafka" || b.Version == "" || sum.Environment.RabbitMQ != "" {
		t.Fatalf("environment %+v: want broker kafka with its version, and no rabbitmq key", sum.Environment)
	}
	r := sum.Twins["eda"]
	a := r.Audit
	if a == nil || len(a.Unaudited) > 0 {
		t.Fatalf("audit %+v", a)
	}
	if a.Accepted == 0 || a.Completed != a.Accepted || a.Lost != 0 || a.DuplicatesApplied != 0 || a.OrphanedEffects != 0 || a.DeadLettered != 0 {
		t.Fatalf("audit %+v: want every accepted order completed, nothing lost, applied twice, orphaned or dead-lettered", *a)
	}
	// The time lag from the first-publish header (x-published-ns), as the
	// services report it and the lag sampler reads it, as on RabbitMQ.
	if r.Lag.MaxLagMs <= 0 {
		t.Errorf("max lag %v ms: want the services' time lag from the first-publish header sampled on Kafka", r.Lag.MaxLagMs)
	}
	t.Logf("eda over kafka %s: sent %d accepted %d completed %d, max depth %d, max lag %.1f ms", sum.Environment.Broker.Version,
		r.Sent, a.Accepted, a.Completed, r.Lag.MaxQueueDepth, r.Lag.MaxLagMs)
}
