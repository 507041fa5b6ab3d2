// Package drivers lists the broker drivers edabench can run its twins
// over. Adding a broker is one package under targets/bus and one line here.
package drivers

import (
	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/kafka"
	"github.com/edabench/edabench/targets/bus/nats"
	"github.com/edabench/edabench/targets/bus/rabbitmq"
)

// Builtin returns the registry of every driver, a new value each call (no
// package state to mutate).
func Builtin() bus.Registry {
	return bus.NewRegistry(
		rabbitmq.Kind(),
		kafka.Kind(),
		nats.Kind(),
	)
}
