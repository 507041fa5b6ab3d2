package runner

import (
	"context"
	"testing"

	"github.com/edabench/edabench/harness/broker/brokertest"
	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/kafkanode/kafkatest"
	"github.com/edabench/edabench/harness/natsnode/natstest"
)

// TestBrokerRestartAccounting restarts a dedicated node of each backbone
// under the EDA twin's load, as failure-broker-restart does, and checks
// what the summary records of it (results.NodeDown.Check): every mark of
// the node's timeline there and in order, the start asked no earlier than
// the window's end nor before the node was gone, down = window + late +
// start and = stop + away, and the twin's first acceptance after the node
// served recorded; the audit loses nothing. The figures are logged, not
// asserted: the machine is shared, and docs/architecture.md keeps them.
func TestBrokerRestartAccounting(t *testing.T) {
	bin, err := buildTarget(t)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []struct {
		name string
		node func(testing.TB) brokernode.Node
	}{
		{"rabbitmq", func(t testing.TB) brokernode.Node { return brokertest.Dedicated(t) }},
		{"kafka", func(t testing.TB) brokernode.Node { return kafkatest.Dedicated(t) }},
		{"nats", func(t testing.TB) brokernode.Node { return natstest.Dedicated(t) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			node := b.node(t)
			// The load outlasts the window by far: a node that boots
			// slowly on a loaded machine (Kafka took 54 s once) must
			// still serve while orders come, or no acceptance follows.
			sc := mustScenario(t, `
name: restart-accounting
arrival: uniform
stages:
  - {name: steady, duration: 75s, rate: 20}
faults:
  - {type: broker-restart, at: 5s, duration: 3s}
timeout: 3s
max_in_flight: 1024
drain: 60s
cost: dist=fixed,mean=1ms
`)
			sum, dir, err := Run(context.Background(), WithTwins("eda"), WithScenario(sc), WithBinary(bin),
				WithNode(node), WithBroker(b.name), WithOutDir(t.TempDir()), WithMetricsAddr("off"))
			if err != nil {
				t.Fatalf("run: %v (results in %s)", err, dir)
			}
			checkSchema(t, dir)
			r := sum.Twins["eda"]
			if len(r.Faults) != 1 || r.Faults[0].Error != "" {
				t.Fatalf("fault windows %+v", r.Faults)
			}
			d := r.Faults[0].Down
			if d == nil {
				t.Fatal("the broker-restart window recorded no node timeline (faults[].down)")
			}
			if err := d.Check(); err != nil {
				t.Errorf("the node's timeline %+v:\n%v", *d, err)
			}
			if a := r.Audit; a == nil || a.Lost != 0 || a.DuplicatesApplied != 0 {
				t.Errorf("audit %+v: want nothing lost or applied twice", a)
			}
			t.Logf("%s: down %.0f ms = window %.0f + late %.0f + start %.0f (stop %.0f, away %.0f); twin: first accept %.0f ms, first completion %.0f ms after serving",
				b.name, d.DownMs, d.WindowMs, d.LateMs, d.StartMs, d.StopMs, d.AwayMs, d.AcceptAfterMs, d.CompleteAfterMs)
		})
	}
}
