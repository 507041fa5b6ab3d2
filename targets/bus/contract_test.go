package bus_test

import (
	"testing"

	"github.com/edabench/edabench/targets/bus/bustest"
)

// TestContractOverMemory runs the driver contract over the in-memory
// driver: the layer's rules (timestamps, ack after confirm, bounded
// redelivery, republish after a reconnect) checked without a broker, in
// the -short tier. Each driver's own package runs the same suite against
// its real broker.
func TestContractOverMemory(t *testing.T) {
	bustest.Run(t, func(t *testing.T) bustest.Broker { return bustest.NewMemory().Broker(t) })
}
