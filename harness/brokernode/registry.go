package brokernode

import (
	"context"
	"fmt"
	"strings"

	"github.com/edabench/edabench/harness/broker"
)

// Lookup returns the kind called name.
func (r Registry) Lookup(name string) (Kind, error) {
	for _, k := range r.kinds {
		if k.Name == name {
			return k, nil
		}
	}
	return Kind{}, fmt.Errorf("broker %q: not a broker node edabench can run; use one of %s", name, strings.Join(r.Names(), ", "))
}

// Names lists the registered brokers.
func (r Registry) Names() []string {
	out := make([]string, 0, len(r.kinds))
	for _, k := range r.kinds {
		out = append(out, k.Name)
	}
	return out
}

// rabbitMQ is the private RabbitMQ node of harness/broker.
func rabbitMQ() Kind {
	return Kind{
		Name: "rabbitmq",
		Start: func(ctx context.Context) (Node, error) {
			n, err := broker.Start(ctx, broker.DefaultConfig())
			if err != nil {
				return nil, err
			}
			return n, nil
		},
		Open: func() (Node, error) {
			n, err := broker.Open(broker.DefaultConfig())
			if err != nil {
				return nil, err
			}
			return n, nil
		},
	}
}

// RabbitMQ adapts a node started with a non-default configuration.
func RabbitMQ(n *broker.Node) Node { return n }
