package kafkanode_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/kafkanode"
	"github.com/edabench/edabench/harness/kafkanode/kafkatest"
)

// opTimeout bounds each client step; a step that needs longer is a hang.
const opTimeout = time.Minute

// The node's whole life on a dedicated node: start and reuse, a topic
// claimed and created, one record produced with acks=all and read back,
// the record still there after a restart (durable), the claim's release
// deleting the topic, and every port free after Stop.
func TestNodeLifecycle(t *testing.T) {
	n := kafkatest.Dedicated(t)
	pid := n.PID()
	if pid == 0 {
		t.Fatal("PID() = 0 right after Start")
	}
	if err := n.Start(t.Context()); err != nil {
		t.Fatalf("Start on a running node: %v", err)
	}
	if got := n.PID(); got != pid {
		t.Fatalf("Start on a running node gave pid %d, want the running %d reused", got, pid)
	}
	if v := n.Version(t.Context()); v != kafkanode.Version {
		t.Errorf("Version() = %q, want %q", v, kafkanode.Version)
	}

	prefix := fmt.Sprintf("edabench-test-%d", pid)
	release := n.Claim(t.Context(), brokernode.Topology{Prefixes: []string{prefix}})
	topic := prefix + ".orders"
	createTopic(t, n, topic)
	produce(t, n, topic, "order-1", "placed")
	if got := consumeOne(t, n, topic); got != "order-1=placed" {
		t.Fatalf("read back %q, want order-1=placed", got)
	}
	depths, err := n.QueueDepths(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if d := depths[topic]; d.Messages != 1 {
		t.Errorf("QueueDepths()[%s] = %+v, want 1 record held", topic, d)
	}
	// What xk6-eda's gauges use: a node known only by its URLs.
	reader, err := kafkanode.Kind().Depths(n.ClientURL(), n.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	if depths, err = reader.QueueDepths(t.Context()); err != nil || depths[topic].Messages != 1 {
		t.Errorf("Kind().Depths(%q).QueueDepths()[%s] = %+v, %v; want 1 record held", n.ClientURL(), topic, depths[topic], err)
	}

	if err := n.Restart(t.Context()); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if n.PID() == 0 || n.PID() == pid {
		t.Fatalf("after Restart pid %d, want a new running JVM (was %d)", n.PID(), pid)
	}
	if got := consumeOne(t, n, topic); got != "order-1=placed" {
		t.Fatalf("after the restart read back %q, want order-1=placed", got)
	}

	release(t.Context())
	// Kafka deletes a topic asynchronously: the controller has accepted
	// the delete when DeleteTopics answers, and a metadata request may list
	// the topic a moment longer (CI, 2026-12-05, read it once).
	gone := false
	for end := time.Now().Add(30 * time.Second); !gone && time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		depths, err = n.QueueDepths(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		_, listed := depths[topic]
		gone = !listed
	}
	if !gone {
		t.Errorf("topic %s still exists 30 s after its claim's release", topic)
	}

	if err := n.Stop(t.Context()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if n.PID() != 0 {
		t.Errorf("PID() = %d after Stop, want 0", n.PID())
	}
	cfg := n.Config()
	for _, port := range []int{cfg.Port, cfg.ControllerPort} {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			t.Errorf("port %d still taken after Stop: %v", port, err)
			continue
		}
		l.Close()
	}
}

func client(t *testing.T, n *kafkanode.Node, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	c, err := n.Client(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func createTopic(t *testing.T, n *kafkanode.Node, topic string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), opTimeout)
	defer cancel()
	adm := kadm.NewClient(client(t, n))
	res, err := adm.CreateTopic(ctx, 1, 1, nil, topic)
	if err == nil {
		err = res.Err
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}

// produce sends one record and waits for the broker's acknowledgement from
// every in-sync replica (acks=all, idempotent: the twins' settings).
func produce(t *testing.T, n *kafkanode.Node, topic, key, value string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), opTimeout)
	defer cancel()
	c := client(t, n, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DefaultProduceTopic(topic))
	rec := &kgo.Record{Key: []byte(key), Value: []byte(value)}
	if err := c.ProduceSync(ctx, rec).FirstErr(); err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
}

// consumeOne reads the topic's first record from the start, as key=value.
func consumeOne(t *testing.T, n *kafkanode.Node, topic string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), opTimeout)
	defer cancel()
	c := client(t, n, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	for {
		fs := c.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consume from %s: no record within %s: %v", topic, opTimeout, fs.Errors())
		}
		for _, e := range fs.Errors() {
			t.Logf("fetch %s/%d: %v (retrying)", e.Topic, e.Partition, e.Err)
		}
		if recs := fs.Records(); len(recs) > 0 {
			return string(recs[0].Key) + "=" + string(recs[0].Value)
		}
	}
}

// A run killed before its release left a claim and a topic: the next Start
// (here one reusing the running node) deletes the topic and the record,
// and keeps a topic a live claim covers.
func TestStartSweepsDeadClaims(t *testing.T) {
	n := kafkatest.Dedicated(t)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	deadTopic := fmt.Sprintf("edabench-dead-%d.orders", dead.Process.Pid)
	liveTopic := fmt.Sprintf("edabench-live-%d.orders", os.Getpid())
	release := n.Claim(t.Context(), brokernode.Topology{Queues: []string{liveTopic}})
	defer release(context.Background())
	createTopic(t, n, deadTopic)
	createTopic(t, n, liveTopic)

	// The record a killed owner leaves (the on-disk form Claim writes).
	rec, err := json.Marshal(map[string]any{"pid": dead.Process.Pid, "start_ticks": 1,
		"topology": brokernode.Topology{Queues: []string{deadTopic, liveTopic}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(n.Config().DataDir, "claims", fmt.Sprintf("%d-1-dead.json", dead.Process.Pid))
	if err := os.WriteFile(path, rec, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := n.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	depths, err := n.QueueDepths(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := depths[deadTopic]; ok {
		t.Errorf("topic %s of a dead owner survived the next Start", deadTopic)
	}
	if _, ok := depths[liveTopic]; !ok {
		t.Errorf("topic %s, which a live claim covers, was deleted with the dead owner's", liveTopic)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the dead owner's record %s is still there (stat: %v)", path, err)
	}
}

// A node that does not come up fails Start with the cause, the log's path
// and its last lines, and leaves no process or pid behind.
func TestStartFailureNamesTheLog(t *testing.T) {
	kafkatest.Require(t)
	cfg, err := kafkatest.FreeConfig(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg.HeapMax = "1zz" // the JVM refuses it at once
	n, err := kafkanode.Start(t.Context(), cfg)
	if err == nil {
		_ = n.Stop(context.Background())
		t.Fatal("Start with an invalid heap size succeeded")
	}
	for _, want := range []string{"did not come up", filepath.Join(cfg.DataDir, "server.out"), "Invalid maximum heap size"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Start error does not contain %q:\n%v", want, err)
		}
	}
	n, err = kafkanode.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n.PID() != 0 {
		t.Errorf("a failed start left pid %d running", n.PID())
	}
	if err := n.Stop(t.Context()); err != nil {
		t.Errorf("Stop on a node that is not running: %v, want nil", err)
	}
}
