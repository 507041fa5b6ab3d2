package broker_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/broker"
	"github.com/edabench/edabench/harness/broker/brokertest"
	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/rabbitmq"
)

// envClaimChild makes the test binary a run that claims and declares a
// topology under the prefix it names, then waits to be killed.
const envClaimChild = "EDABENCH_TEST_CLAIM_CHILD"

// childLife bounds how long a child nobody kills lives.
const childLife = 2 * time.Minute

func TestMain(m *testing.M) {
	if prefix := os.Getenv(envClaimChild); prefix != "" {
		os.Exit(claimAndWait(prefix))
	}
	os.Exit(m.Run())
}

func claimAndWait(prefix string) int {
	ctx, cancel := context.WithTimeout(context.Background(), childLife)
	defer cancel()
	n, err := broker.Open(broker.DefaultConfig())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	n.Claim(ctx, broker.Topology{Prefixes: []string{prefix}}) // never released: the run is killed
	if err := declare(ctx, n, prefix); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("declared")
	<-ctx.Done()
	return 1
}

// declare declares a quorum queue (and with it its dead-letter queue and
// both exchanges) under prefix, as a twin's service does.
func declare(ctx context.Context, n *broker.Node, prefix string) error {
	c, err := bus.Dial(ctx, rabbitmq.Kind(), bus.WithURL(n.AMQPURL()), bus.WithExchange(prefix+".orders"),
		bus.WithQueue(bus.Queue{Name: prefix + ".payment", Bindings: []string{"order.placed"}}),
		bus.WithDriverOptions(rabbitmq.Options{QueueType: rabbitmq.Quorum}))
	if err != nil {
		return fmt.Errorf("declare under %s: %w", prefix, err)
	}
	return c.Close()
}

func under(names []string, prefix string) []string {
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix+".") {
			out = append(out, n)
		}
	}
	return out
}

func queuesUnder(t *testing.T, n *broker.Node, prefix string) []string {
	t.Helper()
	qs, err := n.QueueDepths(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for k := range qs {
		names = append(names, k)
	}
	slices.Sort(names)
	return under(names, prefix)
}

// startChild runs a claiming child and returns once it has declared.
func startChild(t *testing.T, prefix string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envClaimChild+"="+prefix)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(out)
		s.Scan()
		line <- s.Text()
	}()
	select {
	case l := <-line:
		if l != "declared" {
			t.Fatalf("child said %q, want \"declared\"", l)
		}
	case <-time.After(time.Minute):
		t.Fatal("the child did not declare its topology within a minute")
	}
	return cmd
}

// A run killed with SIGKILL cleans nothing up; the next start of the node
// (here a reuse, as every test's brokertest.Shared does) deletes its
// queues and exchanges, and keeps those of a run that is still alive.
func TestKilledRunsTopologyGoesAtNextStart(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the private RabbitMQ node; run without -short")
	}
	node := brokertest.Shared(t)
	live := brokertest.Prefix(t, node, "claimlive")
	if err := declare(t.Context(), node, live); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	gone := "claimkill" + hex.EncodeToString(b)
	child := startChild(t, gone)
	if got := queuesUnder(t, node, gone); len(got) != 2 {
		t.Fatalf("the child declared %v, want its queue and dead-letter queue", got)
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()

	l, err := node.Leftovers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(l.Dead, func(r broker.Record) bool { return r.PID == child.Process.Pid }) ||
		len(under(l.DeadQueues, gone)) != 2 {
		t.Fatalf("after the kill, leftovers list dead owners %+v and their queues %v; want pid %d with 2 queues under %s",
			l.Dead, l.DeadQueues, child.Process.Pid, gone)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if _, err := broker.Start(ctx, node.Config()); err != nil {
		t.Fatal(err)
	}
	if got := queuesUnder(t, node, gone); len(got) != 0 {
		t.Errorf("after the next start the killed run's queues remain: %v", got)
	}
	if got := queuesUnder(t, node, live); len(got) != 2 {
		t.Errorf("the next start deleted a live run's queues: %v left of 2", got)
	}
	l, err = node.Leftovers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(l.Dead, func(r broker.Record) bool { return r.PID == child.Process.Pid }) {
		t.Errorf("the killed run's record outlived the deletion of its topology")
	}
	if x := under(l.UnclaimedExchanges, gone); len(x) != 0 {
		t.Errorf("the killed run's exchanges remain: %v", x)
	}
}

// Release deletes what the claim covers and the record; nothing of the
// claimed prefix stays on the node.
func TestClaimReleaseLeavesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the private RabbitMQ node; run without -short")
	}
	node := brokertest.Shared(t)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	prefix := "claimrel" + hex.EncodeToString(b)
	release := node.Claim(t.Context(), broker.Topology{Prefixes: []string{prefix}})
	if err := declare(t.Context(), node, prefix); err != nil {
		t.Fatal(err)
	}
	l, err := node.Leftovers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(under(l.Unclaimed, prefix)) != 0 || len(under(l.DeadQueues, prefix)) != 0 {
		t.Fatalf("a live claim's queues listed as leftovers: unclaimed %v, dead %v", l.Unclaimed, l.DeadQueues)
	}
	release(t.Context())
	if got := queuesUnder(t, node, prefix); len(got) != 0 {
		t.Errorf("after release, queues remain: %v", got)
	}
	l, err = node.Leftovers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if x := under(l.UnclaimedExchanges, prefix); len(x) != 0 {
		t.Errorf("after release, exchanges remain: %v", x)
	}
	for _, r := range append(l.Live, l.Dead...) {
		if slices.Contains(r.Topology.Prefixes, prefix) {
			t.Errorf("after release, its record remains: %+v", r)
		}
	}
}
