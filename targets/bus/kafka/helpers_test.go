package kafka_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/kafkanode/kafkatest"
	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/kafka"
)

// queueEnv is one queue bound to "in.#" under a prefix the test claims on
// the shared node, deleted at the end.
type queueEnv struct {
	url, prefix string
	q           bus.Queue
}

func newQueueEnv(tb testing.TB) *queueEnv {
	tb.Helper()
	node := kafkatest.Shared(tb)
	prefix := fmt.Sprintf("kafkatest-%d", time.Now().UnixNano())
	release := node.Claim(tb.Context(), brokernode.Topology{Prefixes: []string{prefix}})
	e := &queueEnv{url: node.ClientURL(), prefix: prefix, q: bus.Queue{Name: prefix + ".in", Bindings: []string{"in.#"}}}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := kafka.Kind().Delete(ctx, bus.DriverConfig{URL: e.url}, bus.Topology{Queues: []bus.Queue{e.q}}); err != nil {
			tb.Errorf("delete %s: %v", e.q.Name, err)
		}
		release(ctx)
	})
	return e
}

// dial opens a Conn called name over the Kafka driver; Close is the test's.
func (e *queueEnv) dial(tb testing.TB, name string) *bus.Conn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := bus.Dial(context.WithoutCancel(ctx), kafka.Kind(), bus.WithURL(e.url), bus.WithExchange(e.prefix+".orders"),
		bus.WithQueue(e.q), bus.WithConnectionName(e.prefix+"/"+name), bus.WithBackoff(20*time.Millisecond, 500*time.Millisecond))
	if err != nil {
		tb.Fatalf("Dial %s: %v", name, err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// dialKind opens a Conn called name on the env's queue with kind, at url
// and with o; Close is the test's.
func (e *queueEnv) dialKind(tb testing.TB, kind bus.Kind, url string, o kafka.Options, name string) *bus.Conn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := bus.Dial(context.WithoutCancel(ctx), kind, bus.WithURL(url), bus.WithExchange(e.prefix+".orders"),
		bus.WithQueue(e.q), bus.WithConnectionName(e.prefix+"/"+name), bus.WithDriverOptions(o),
		bus.WithBackoff(20*time.Millisecond, 500*time.Millisecond))
	if err != nil {
		tb.Fatalf("Dial %s: %v", name, err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}
