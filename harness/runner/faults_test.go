package runner

import (
	"context"
	"fmt"
	"testing"

	"github.com/edabench/edabench/harness/broker/brokertest"
	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/kafkanode/kafkatest"
	"github.com/edabench/edabench/harness/natsnode/natstest"
	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/internal/twinkind"
)

// TestFaultsUnderLoad injects each fault type into the twins under a
// steady load and checks the audit: the EDA twin loses nothing and applies
// nothing twice; the RR twin accounts for every request and leaves no
// orphaned effect, thanks to compensation; the hybrid does both. It runs on
// each broker, on a node of its own, since one fault restarts it.
func TestFaultsUnderLoad(t *testing.T) {
	bin, err := buildTarget(t)
	if err != nil {
		t.Fatal(err)
	}
	// Each case runs rr and eda over RabbitMQ; the hybrid joins a subset,
	// since every twin adds about 25 s to a case and the test already takes
	// minutes on CI: a consumer killed (the isolation claim 11 is about),
	// the broker restarted (its hand-off across a broker outage), and a cut
	// of each kind of hop it has: the broker's for a consumer, the gRPC one
	// into payment (its synchronous path, where it behaves as RR).
	// Over Kafka (RR uses no broker, so it is not run again) the hybrid has
	// a consumer killed and its broker restarted (targets/integration does
	// both to the EDA twin over Kafka), and the EDA twin a cut of its
	// broker link (the proxy the driver is pinned to). A pause shorter than
	// the consumer group's session is no rebalance, and a longer one costs
	// more than CI's budget: scenarios/failure-pause covers it by hand.
	// Over NATS the hybrid has a consumer killed and its broker restarted,
	// and the EDA twin every network fault on its consumer's broker link
	// (one TCP connection, dialed through the proxy alone).
	both, all, hybrid, eda := []string{"rr", "eda"}, []string{"rr", "eda", "hybrid"}, []string{"hybrid"}, []string{"eda"}
	tests := []struct {
		name, fault string
		rejects     bool // the fault makes the workflow reject orders
		twins       []string
		kafka       []string // the twins run over Kafka, none: not run there
		nats        []string // the twins run over NATS, none: not run there
	}{
		{"kill", "{type: kill, target: inventory, at: 3s, duration: 4s}", false, all, hybrid, hybrid},
		{"pause", "{type: pause, target: shipping, at: 3s, duration: 3s}", false, both, nil, nil},
		{"broker-restart", "{type: broker-restart, at: 3s, duration: 2s}", false, all, hybrid, hybrid},
		{"slow-step", "{type: slow-step, target: shipping, at: 3s, duration: 4s, mean: 40ms}", false, both, nil, nil},
		{"error-step", "{type: error-step, target: shipping, at: 3s, duration: 4s, error_prob: 0.3}", true, both, nil, nil},
		{"latency", "{type: latency, target: inventory, at: 3s, duration: 4s, latency: 30ms, jitter: 10ms}", false, both, nil, eda},
		{"cut-reset", "{type: cut, target: inventory, at: 3s, duration: 4s, mode: reset}", false, all, eda, eda},
		{"cut-reset-payment", "{type: cut, target: payment, at: 3s, duration: 4s, mode: reset}", false, []string{"hybrid"}, nil, nil},
		{"cut-timeout", "{type: cut, target: inventory, at: 3s, duration: 4s, mode: timeout}", false, both, nil, eda},
		{"bandwidth", "{type: bandwidth, target: inventory, at: 3s, duration: 4s, rate_kbps: 8}", false, both, nil, eda},
		{"cpu-starve", "{type: cpu-starve, target: inventory, at: 3s, duration: 4s, cores: 0.05}", false, both, nil, nil},
	}
	for _, broker := range []struct {
		name string
		node func(testing.TB) brokernode.Node
	}{
		{"rabbitmq", func(t testing.TB) brokernode.Node { return brokertest.Dedicated(t) }},
		{"kafka", func(t testing.TB) brokernode.Node { return kafkatest.Dedicated(t) }},
		{"nats", func(t testing.TB) brokernode.Node { return natstest.Dedicated(t) }},
	} {
		t.Run(broker.name, func(t *testing.T) {
			node := broker.node(t)
			for _, tt := range tests {
				twins := tt.twins
				switch broker.name {
				case "kafka":
					twins = tt.kafka
				case "nats":
					twins = tt.nats
				}
				if len(twins) == 0 {
					continue
				}
				t.Run(tt.name, func(t *testing.T) {
					faultCase(t, bin, node, broker.name, tt.name, tt.fault, tt.rejects, twins)
				})
			}
			if _, err := node.QueueDepths(context.Background()); err != nil {
				t.Fatalf("the broker is not back after the runs: %v", err)
			}
		})
	}
}

// faultCase runs twins under one fault over broker and checks the audit.
func faultCase(t *testing.T, bin string, node brokernode.Node, broker, name, fault string, rejects bool, twins []string) {
	sc := mustScenario(t, fmt.Sprintf(`
name: %s
arrival: uniform
stages:
  - {name: steady, duration: 12s, rate: 80}
faults:
  - %s
timeout: 2s
max_in_flight: 2048
drain: 60s
cost: dist=fixed,mean=1ms
`, name, fault))
	sum, dir, err := Run(context.Background(), WithTwins(twins...), WithScenario(sc), WithBinary(bin),
		WithNode(node), WithBroker(broker), WithOutDir(t.TempDir()), WithMetricsAddr("off"))
	if err != nil {
		t.Fatalf("run: %v (results in %s)", err, dir)
	}
	checkSchema(t, dir)
	for _, twin := range twins {
		r := sum.Twins[twin]
		a := r.Audit
		if a == nil || len(a.Unaudited) > 0 {
			t.Fatalf("%s: audit %+v", twin, a)
		}
		if len(r.Faults) != 1 || r.Faults[0].EndS <= r.Faults[0].StartS {
			t.Fatalf("%s: fault windows %+v", twin, r.Faults)
		}
		if w := r.Faults[0]; w.Error != "" && !(!twinkind.Of(twin).UsesBroker() && name == "broker-restart") {
			t.Fatalf("%s: fault %s: %s", twin, w.Fault, w.Error)
		}
		if c := r.Counts; c.Sent != c.OK+c.Rejected+c.Errors+c.Timeouts+c.Dropped {
			t.Fatalf("%s: %+v: sent is not ok + rejected + errors + timeouts + dropped", twin, c)
		}
		// Deadlines hold: no reply came later than the request's
		// deadline after it went out (a later one is a timeout).
		if limit := float64(sc.Timeout.Milliseconds()) * 1.01; r.AckUncorrected.Max > limit {
			t.Fatalf("%s: a reply took %.0f ms from its send, past the %v deadline", twin, r.AckUncorrected.Max, sc.Timeout)
		}
		if a.DuplicatesApplied != 0 || a.OrphanedEffects != 0 || a.Lost != 0 {
			t.Fatalf("%s: audit %+v: want nothing lost, applied twice or orphaned", twin, *a)
		}
		if !rejects && a.Rejected != 0 {
			t.Fatalf("%s: %d orders rejected by a fault that breaks no step", twin, a.Rejected)
		}
		// A process stopped or frozen fails no handler: nothing may have
		// exhausted its retries (a rebalance hands records over, it does
		// not fail them).
		if (name == "kill" || name == "pause") && a.DeadLettered != 0 {
			t.Fatalf("%s: %d orders dead-lettered by a %s", twin, a.DeadLettered, name)
		}
		logFault(t, twin, r)
	}
	// A fault on a consumer's side must not reach the EDA or the
	// hybrid gateway's callers: that is the isolation both promise.
	// Over Kafka only the fault's window counts: a dedicated node is
	// cold (its JIT still compiling the produce path), and its first
	// seconds have timed out a hybrid's hand-offs before any fault began
	// (seen once: 113 timeouts, 111 of them of requests sent in the first
	// 2 s; the kill came at 3 s).
	consumerSide := name != "error-step" && name != "broker-restart" && name != "cut-reset-payment"
	for _, twin := range []string{"eda", "hybrid"} {
		r := sum.Twins[twin]
		if r == nil || !consumerSide {
			continue
		}
		errs, timeouts := r.Errors, r.Timeouts
		if broker == "kafka" {
			errs, timeouts = r.Faults[0].Errors, r.Faults[0].Timeouts
		}
		if errs+timeouts > 0 {
			t.Errorf("%s: %d errors and %d timeouts while a consumer-side fault was active: the gateway should keep accepting",
				twin, errs, timeouts)
		}
	}
}

func logFault(t *testing.T, twin string, r *results.TwinResult) {
	w, a := r.Faults[0], r.Audit
	t.Logf("%-6s %-28s sent %5d ok %5d errors %4d timeouts %3d | accepted %5d completed %5d rejected %4d lost %d indeterminate %d (completed %d) dup delivered %d applied %d orphaned %d dead-lettered %d | window errors %d backlog %d recovery %.0f ms drain %.0f ms",
		twin, w.Fault, r.Sent, r.OK, r.Errors, r.Timeouts, a.Accepted, a.Completed, a.Rejected, a.Lost, a.Indeterminate,
		a.IndeterminateCompleted, a.DuplicatesDelivered, a.DuplicatesApplied, a.OrphanedEffects, a.DeadLettered, w.Errors, w.Backlog, w.RecoveryMs, w.DrainMs)
}
