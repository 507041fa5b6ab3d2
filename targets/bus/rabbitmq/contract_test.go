package rabbitmq_test

import (
	"context"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/broker/brokertest"
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
		return bustest.Broker{
			Kind:    rabbitmq.Kind(),
			URL:     node.AMQPURL(),
			Options: rabbitmq.Options{QueueType: rabbitmq.Quorum},
			Prefix:  brokertest.Prefix(t, node, "bustest"),
			Kill: func(t *testing.T, name string) {
				killClient(t, node.MgmtURL(), name)
			},
			Restart: func(t *testing.T) {
				ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
				defer cancel()
				if err := node.Restart(ctx); err != nil {
					t.Fatalf("restart the broker: %v", err)
				}
			},
		}
	})
}
