package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/edabench/edabench/harness/broker/brokertest"
	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/kafkanode/kafkatest"
	"github.com/edabench/edabench/harness/netcut"
	"github.com/edabench/edabench/harness/nodeproc"
)

// clusterOrders is how many orders each node fault runs under in CI:
// 2,000 at 200 a second, with the fault lasting clusterFault. The issue
// asks for 10,000 (scenarios/failure-node-kill, failure-node-pause and
// failure-partition place 12,000); on a shared 2-core machine a run that
// long, with the backlog a three-node cluster builds there, would cost
// CI's budget several times over. EDABENCH_CLUSTER_FULL=1 runs the
// issue's acceptance: every fault on both backbones, fullOrders each,
// the fault lasting fullFault (past Kafka's 9 s broker session, as the
// scenarios do); EDABENCH_CLUSTER_ORDERS sets the count either way.
const (
	clusterOrders = 2000
	clusterFault  = "8s"
	fullOrders    = 10000
	fullFault     = "20s"
	envFull       = "EDABENCH_CLUSTER_FULL"
	envOrders     = "EDABENCH_CLUSTER_ORDERS"
)

// inCI is which node faults run without EDABENCH_CLUSTER_FULL, per
// backbone: the kill on both, the partition on RabbitMQ (the pause and
// Kafka's partition cost another 1-1.5 min each on top of CI's budget).
var inCI = map[string][]string{"rabbitmq": {"kill-node", "partition-node"}, "kafka": {"kill-node"}}

// clusterRun is what one node fault runs under.
type clusterRun struct {
	orders int
	fault  string // how long the fault lasts
	full   bool
}

func clusterRunFromEnv(t *testing.T) clusterRun {
	r := clusterRun{orders: clusterOrders, fault: clusterFault}
	if os.Getenv(envFull) != "" {
		r = clusterRun{orders: fullOrders, fault: fullFault, full: true}
	}
	if v := os.Getenv(envOrders); v != "" {
		if _, err := fmt.Sscan(v, &r.orders); err != nil || r.orders < 200 {
			t.Fatalf("%s=%q: want a whole number of orders >= 200", envOrders, v)
		}
	}
	return r
}

func TestNodeFaultsOnClusters(t *testing.T) {
	bin, err := buildTarget(t)
	if err != nil {
		t.Fatal(err)
	}
	run := clusterRunFromEnv(t)
	for _, b := range []struct {
		name    string
		cluster func(testing.TB) brokernode.Cluster
	}{
		{"rabbitmq", func(t testing.TB) brokernode.Cluster { return brokertest.DedicatedCluster(t, 3) }},
		{"kafka", func(t testing.TB) brokernode.Cluster { return kafkatest.DedicatedCluster(t, 3) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			// Registered before the cluster, so it runs after its
			// cleanup: no member may outlive the test.
			var pids []int
			var groups []string
			t.Cleanup(func() {
				for _, pid := range pids {
					if nodeproc.Alive(pid) {
						t.Errorf("member pid %d still runs after the test's cleanup", pid)
					}
				}
				root, _ := netcut.Root()
				for _, g := range groups {
					if _, err := os.Stat(filepath.Join(root, g)); !os.IsNotExist(err) {
						t.Errorf("member cgroup %s is left after the test's cleanup (%v)", g, err)
					}
				}
			})
			c := b.cluster(t)
			for _, f := range []string{"kill-node", "pause-node", "partition-node"} {
				t.Run(f, func(t *testing.T) {
					if !run.full && !slices.Contains(inCI[b.name], f) {
						t.Skipf("costs another 1-1.5 min on top of CI's budget: set %s=1 to run it", envFull)
					}
					nodeFaultCase(t, bin, c, b.name, f, run)
				})
			}
			if stale, err := netcut.Tables(context.Background()); err != nil || len(stale) > 0 {
				t.Errorf("network cuts left after the faults: %v (%v)", stale, err)
			}
			for i, m := range c.Members() {
				pids = append(pids, m.PID())
				if g, err := netcut.GroupOf(m.PID()); err != nil || g == "" {
					t.Errorf("node-%d (%s) runs in no cgroup of its own (%q, %v): partition-node could not cut it off", i+1, m.Name(), g, err)
				} else {
					groups = append(groups, g)
				}
				if m.PID() == 0 {
					t.Errorf("node-%d (%s) is not running after the faults were undone", i+1, m.Name())
				}
			}
		})
	}
}

// nodeFaultCase runs the EDA twin over c with fault on the leader for
// run.fault, 3 s into run.orders at 200 a second, and checks the audit and the fault's
// report. A warm-up at 50 a second comes first: a twin's first seconds
// on a fresh cluster (quorum queues electing, a cold JIT) timed every
// order out, before any fault, on the loaded machine.
func nodeFaultCase(t *testing.T, bin string, c brokernode.Cluster, broker, fault string, run clusterRun) {
	sc := mustScenario(t, fmt.Sprintf(`
name: cluster-%s
arrival: uniform
brokers: {nodes: 3}
stages:
  - {name: warm-up, duration: 10s, rate: 50}
  - {name: steady, duration: %ds, rate: 200}
faults:
  - {type: %s, target: leader, at: 13s, duration: %s}
timeout: 3s
max_in_flight: 2048
drain: 3m
cost: dist=fixed,mean=1ms
`, fault, run.orders/200, fault, run.fault))
	sum, dir, err := Run(context.Background(), WithTwins("eda"), WithScenario(sc), WithBinary(bin),
		WithNode(c), WithBroker(broker), WithOutDir(t.TempDir()), WithMetricsAddr("off"))
	if err != nil {
		t.Fatalf("run: %v (results in %s)", err, dir)
	}
	checkSchema(t, dir)
	r := sum.Twins["eda"]
	a := r.Audit
	if a == nil || len(a.Unaudited) > 0 {
		t.Fatalf("audit %+v", a)
	}
	if len(r.Faults) != 1 {
		t.Fatalf("fault windows %+v", r.Faults)
	}
	w := r.Faults[0]
	t.Logf("%s over %s: sent %d accepted %d completed %d lost %d indeterminate %d dup delivered %d applied %d dead-lettered %d | window %.1f-%.1fs errors %d timeouts %d unavailable %d s | %s led %q, new leader after %.0f ms | recovery %.0f ms drain %.0f ms",
		fault, broker, r.Sent, a.Accepted, a.Completed, a.Lost, a.Indeterminate, a.DuplicatesDelivered, a.DuplicatesApplied, a.DeadLettered,
		w.StartS, w.EndS, w.Errors, w.Timeouts, w.UnavailableS, w.Node, w.Queue, w.NewLeaderMs, w.RecoveryMs, w.DrainMs)
	if w.Error != "" {
		t.Fatalf("fault %s: %s", w.Fault, w.Error)
	}
	if c := r.Counts; c.Sent != c.OK+c.Rejected+c.Errors+c.Timeouts+c.Dropped {
		t.Fatalf("%+v: sent is not ok + rejected + errors + timeouts + dropped", c)
	}
	if a.Lost != 0 || a.DuplicatesApplied != 0 {
		t.Fatalf("audit %+v: want no accepted order lost and none applied twice", *a)
	}
	if w.Node == "" || w.Queue == "" {
		t.Fatalf("the fault's window names no member or queue: %+v", w)
	}
	// Killed, a RabbitMQ leader hands over within seconds (1.3-2.2 s
	// measured). Kafka is not held to it: its controller moves a dead or
	// frozen broker's leaderships only once the broker's session expires
	// (9 s), past this 8 s fault, and the leader watch ends when the
	// member is started again. The audit holds on both.
	if broker == "rabbitmq" && fault == "kill-node" && w.NewLeaderMs < 0 {
		t.Fatalf("no member took over %s from %s within the window", w.Queue, w.Node)
	}
}
