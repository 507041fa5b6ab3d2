// Package brokernodes lists the broker node implementations edabench can
// run. It is the one package importing every implementation, so that
// brokernode itself imports none: adding a broker is its package and one
// line here.
package brokernodes

import (
	"github.com/edabench/edabench/harness/broker"
	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/kafkanode"
	"github.com/edabench/edabench/harness/natsnode"
)

// Builtin lists every broker node implementation; the first is the default
// (brokernode.Default).
func Builtin() brokernode.Registry {
	return brokernode.NewRegistry(
		broker.Kind(),
		kafkanode.Kind(),
		natsnode.Kind(),
	)
}
