package rabbitmq_test

import (
	"testing"

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
						closeConnectionsByName(t, node.MgmtURL(), name, 1)
					},
				}
			})
		})
	}
}
