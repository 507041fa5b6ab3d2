package rabbitmq_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/broker/brokertest"
	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/bustest"
	"github.com/edabench/edabench/targets/bus/rabbitmq"
)

// TestContract runs the driver contract against the private node, once
// per queue type: both must keep the layer's promises.
func TestContract(t *testing.T) {
	for _, qt := range []rabbitmq.QueueType{rabbitmq.Quorum, rabbitmq.Classic} {
		t.Run(string(qt), func(t *testing.T) {
			bustest.Run(t, func(t *testing.T) bustest.Broker {
				node := brokertest.Shared(t)
				return bustest.Broker{
					Kind:    rabbitmq.Kind(),
					URL:     node.AMQPURL(),
					Options: rabbitmq.Options{QueueType: qt},
					Prefix:  brokertest.Prefix(t, node, "bustest"),
					Kill: func(t *testing.T, name string) {
						killClient(t, node.MgmtURL(), name)
					},
				}
			})
		})
	}
}

// TestContractOnARestartedBroker runs the contract on a node of its own,
// which the case that needs it restarts.
func TestContractOnARestartedBroker(t *testing.T) {
	node := brokertest.Dedicated(t)
	bustest.Run(t, func(t *testing.T) bustest.Broker {
		prefix := brokertest.Prefix(t, node, "bustest")
		return bustest.Broker{
			Kind:    rabbitmq.Kind(),
			URL:     node.AMQPURL(),
			Options: rabbitmq.Options{QueueType: rabbitmq.Quorum},
			Prefix:  prefix,
			Kill: func(t *testing.T, name string) {
				killClient(t, node.MgmtURL(), name)
			},
			Restart: func(t *testing.T) {
				ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
				defer cancel()
				if err := node.Restart(ctx); err != nil {
					t.Fatalf("restart the broker: %v", err)
				}
				awaitQuorumPublish(t, node.AMQPURL(), prefix+".ready", node.LogPath())
			},
		}
	})
}

// awaitQuorumPublish waits until a fresh quorum queue takes a confirmed
// publish: the node answers AMQP before its quorum queues are all ready
// (once, on a loaded machine, every publish after a restart was nacked
// for over 90 s), and the cases after a restart must meet a broker that
// is up, not one still recovering. The node's log tail is the evidence
// when it never gets there.
func awaitQuorumPublish(t *testing.T, url, q, logPath string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		conn, err := bus.Dial(t.Context(), rabbitmq.Kind(), bus.WithURL(url), bus.WithExchange(q), bus.WithConnectionName(q),
			bus.WithQueue(bus.Queue{Name: q, Bindings: []string{"ready"}}), bus.WithDriverOptions(rabbitmq.Options{QueueType: rabbitmq.Quorum}))
		if err == nil {
			err = conn.Publish(t.Context(), "ready", bus.Message{Body: []byte("ready")})
			conn.Close()
		}
		if err == nil {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 30*time.Second)
			defer cancel()
			if derr := rabbitmq.DeleteQueues(ctx, url, q, q, bus.DLQName(q)); derr != nil {
				t.Logf("delete %s: %v", q, derr)
			}
			return
		}
		if time.Now().After(deadline) {
			tail, _ := os.ReadFile(logPath)
			if len(tail) > 6000 {
				tail = tail[len(tail)-6000:]
			}
			t.Fatalf("the restarted broker took no confirmed publish on a quorum queue in 2 min (last: %v); its log (%s) ends:\n%s", err, logPath, tail)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
