package broker

import (
	"context"

	"github.com/edabench/edabench/harness/brokernode"
)

// KindName is the name this node goes by in brokernode's registry and in
// `--broker`.
const KindName = "rabbitmq"

// Kind is the private RabbitMQ node as a brokernode.Kind, for the registry
// (harness/brokernodes).
func Kind() brokernode.Kind {
	k := brokernode.NewKind(KindName,
		func(ctx context.Context) (*Node, error) { return Start(ctx, DefaultConfig()) },
		func() (*Node, error) { return Open(DefaultConfig()) },
		func(clientURL, adminURL string) (brokernode.DepthReader, error) {
			return AdminFor(clientURL, adminURL), nil
		})
	k.StartByHand = "`make broker-up`"
	k.StartCluster = func(ctx context.Context, nodes int) (brokernode.Node, error) {
		cfgs, err := DefaultClusterConfigs(nodes)
		if err != nil {
			return nil, err
		}
		c, err := StartCluster(ctx, cfgs)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	k.OpenCluster = func(nodes int) (brokernode.Node, error) {
		cfgs, err := DefaultClusterConfigs(nodes)
		if err != nil {
			return nil, err
		}
		c, err := OpenCluster(cfgs)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	return k
}

// The node is a brokernode.Node; the build fails here if it stops being one.
var _ brokernode.Node = (*Node)(nil)
