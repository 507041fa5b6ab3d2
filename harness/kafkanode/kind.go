package kafkanode

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/edabench/edabench/harness/brokernode"
)

// KindName is the node's name in brokernode's registry and in `--broker`.
const KindName = "kafka"

// Kind is the private Kafka node as a brokernode.Kind, for the registry
// (harness/brokernodes).
func Kind() brokernode.Kind {
	k := brokernode.NewKind(KindName,
		func(ctx context.Context) (*Node, error) { return Start(ctx, DefaultConfig()) },
		func() (*Node, error) { return Open(DefaultConfig()) },
		depthsAt)
	k.StartByHand = "`make kafka` then `go run ./harness/cmd/brokerctl up --broker " + KindName + "`"
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

// depthsAt reads the topic depths of a node known only by its client URL
// (host:port, or the first of a comma-separated seed list on 127.0.0.1):
// Kafka has no admin URL, its admin API is the client port.
func depthsAt(clientURL, _ string) (brokernode.DepthReader, error) {
	port, err := clientPort(clientURL)
	if err != nil {
		return nil, err
	}
	cfg := DefaultConfig()
	cfg.Port = port
	return &Node{cfg: cfg}, nil
}

// clientPort parses "127.0.0.1:PORT" (optionally "kafka://127.0.0.1:PORT",
// or a seed list whose first entry is that).
func clientPort(clientURL string) (int, error) {
	first, _, _ := strings.Cut(strings.TrimPrefix(clientURL, "kafka://"), ",")
	host, p, ok := strings.Cut(strings.TrimSpace(first), ":")
	port, err := strconv.Atoi(p)
	if !ok || err != nil || port < 1 || port > 65535 || (host != "127.0.0.1" && host != "localhost") {
		return 0, fmt.Errorf("kafka client URL %q: want 127.0.0.1:PORT (the private node listens on loopback only)", clientURL)
	}
	return port, nil
}

// The node is a brokernode.Node; the build fails here if it stops being one.
var _ brokernode.Node = (*Node)(nil)
