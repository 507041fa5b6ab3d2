package natsnode_test

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

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/natsnode"
	"github.com/edabench/edabench/harness/natsnode/natstest"
)

// opTimeout bounds each client step; a step that needs longer is a hang.
const opTimeout = time.Minute

// The node's whole life on a dedicated node: start and reuse, a stream and
// a consumer claimed and declared as the driver declares them, a message
// stored and counted in /jsz, still there after a restart (file storage),
// the claim's release deleting them, and every port free after Stop.
func TestNodeLifecycle(t *testing.T) {
	n := natstest.Dedicated(t)
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
	if v := n.Version(t.Context()); "v"+v != natsnode.Version {
		t.Errorf("Version() = %q, want %q", v, natsnode.Version)
	}
	prefix := fmt.Sprintf("edabench-test-%d", pid)
	release := n.Claim(t.Context(), brokernode.Topology{Prefixes: []string{prefix}})
	queue := prefix + ".payment"
	declare(t, n, prefix+".orders", queue)
	wantDepth(t, n, queue, 1)
	// What xk6-eda's gauges use: a node known only by its URLs.
	reader, err := natsnode.Kind().Depths(n.ClientURL(), n.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	if depths, err := reader.QueueDepths(t.Context()); err != nil || depths[queue].Ready != 1 {
		t.Errorf("Kind().Depths(...).QueueDepths()[%s] = %+v, %v; want 1 ready", queue, depths[queue], err)
	}

	if err := n.Restart(t.Context()); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if n.PID() == 0 || n.PID() == pid {
		t.Fatalf("after Restart pid %d, want a new running server (was %d)", n.PID(), pid)
	}
	wantDepth(t, n, queue, 1)

	release(t.Context())
	depths, err := n.QueueDepths(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := depths[queue]; ok {
		t.Errorf("queue %s still has its consumer after its claim's release", queue)
	}

	if err := n.Stop(t.Context()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if n.PID() != 0 {
		t.Errorf("PID() = %d after Stop, want 0", n.PID())
	}
	cfg := n.Config()
	for _, port := range []int{cfg.Port, cfg.MonitorPort} {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			t.Errorf("port %d still taken after Stop: %v", port, err)
			continue
		}
		l.Close()
	}
}

// declare makes exchange's stream and queue's consumer the way the NATS
// driver does (names escaped, the originals as metadata) and stores one
// message for the queue.
func declare(t *testing.T, n *natsnode.Node, exchange, queue string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), opTimeout)
	defer cancel()
	nc, err := natsgo.Connect(n.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	stream := "T_" + strings.NewReplacer(".", "_", "-", "_").Replace(exchange)
	subject := stream + ".q.payment"
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{stream + ".q.>"}, Storage: jetstream.FileStorage,
		Retention: jetstream.WorkQueuePolicy, Metadata: map[string]string{natsnode.MetaExchange: exchange}})
	if err != nil {
		t.Fatalf("create stream %s: %v", stream, err)
	}
	_, err = js.CreateConsumer(ctx, stream, jetstream.ConsumerConfig{Durable: "payment", FilterSubject: subject,
		AckPolicy: jetstream.AckExplicitPolicy, Metadata: map[string]string{natsnode.MetaQueue: queue}})
	if err != nil {
		t.Fatalf("create consumer: %v", err)
	}
	if _, err := js.Publish(ctx, subject, []byte("order-1")); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

func wantDepth(t *testing.T, n *natsnode.Node, queue string, ready int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		depths, err := n.QueueDepths(t.Context())
		if err == nil && depths[queue].Ready == ready {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("QueueDepths()[%s] = %+v, %v; want %d ready", queue, depths[queue], err, ready)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A run killed before its release left a claim and a stream: the next
// Start (here one reusing the running node) deletes the stream and the
// record, and keeps one a live claim covers.
func TestStartSweepsDeadClaims(t *testing.T) {
	n := natstest.Dedicated(t)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	deadEx := fmt.Sprintf("edabench-dead-%d.orders", dead.Process.Pid)
	liveEx := fmt.Sprintf("edabench-live-%d.orders", os.Getpid())
	release := n.Claim(t.Context(), brokernode.Topology{Exchanges: []string{liveEx}})
	defer release(context.Background())
	declare(t, n, deadEx, deadEx+".payment")
	declare(t, n, liveEx, liveEx+".payment")
	rec, err := json.Marshal(map[string]any{"pid": dead.Process.Pid, "start_ticks": 1,
		"topology": brokernode.Topology{Exchanges: []string{deadEx, liveEx}}})
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
	if _, ok := depths[deadEx+".payment"]; ok {
		t.Errorf("the stream of a dead owner's exchange %s survived the next Start", deadEx)
	}
	if _, ok := depths[liveEx+".payment"]; !ok {
		t.Errorf("the stream of %s, which a live claim covers, was deleted with the dead owner's", liveEx)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the dead owner's record %s is still there (stat: %v)", path, err)
	}
}

// A server that does not come up fails Start with the cause, the log's
// path and its last lines, and leaves no process or pid behind. The
// binary here is a script that fails as nats-server does on a bad config.
func TestStartFailureNamesTheLog(t *testing.T) {
	natstest.Require(t)
	cfg, err := natstest.FreeConfig(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Binary = filepath.Join(t.TempDir(), "nats-server")
	script := "#!/bin/sh\necho 'nats-server: config error on purpose' >&2\nexit 1\n"
	if err := os.WriteFile(cfg.Binary, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	n, err := natsnode.Start(t.Context(), cfg)
	if err == nil {
		_ = n.Stop(context.Background())
		t.Fatal("Start with a server that exits at once succeeded")
	}
	for _, want := range []string{"did not come up", filepath.Join(cfg.DataDir, "nats-server.out"), "config error on purpose"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Start error does not contain %q:\n%v", want, err)
		}
	}
	n, err = natsnode.Open(cfg)
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
