package natsnode

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/edabench/edabench/harness/brokernode"
)

// KindName is the node's name in brokernode's registry and in `--broker`.
const KindName = "nats"

// Kind is the private NATS node as a brokernode.Kind, for the registry
// (harness/brokernodes).
func Kind() brokernode.Kind {
	k := brokernode.NewKind(KindName,
		func(ctx context.Context) (*Node, error) { return Start(ctx, DefaultConfig()) },
		func() (*Node, error) { return Open(DefaultConfig()) },
		depthsAt)
	k.StartByHand = "`make nats` then `go run ./harness/cmd/brokerctl up --broker " + KindName + "`"
	return k
}

// depthsAt reads the consumer backlogs of a node known by its URLs: the
// admin URL (monitoring) when given, else the default node's monitoring
// port.
func depthsAt(clientURL, adminURL string) (brokernode.DepthReader, error) {
	if adminURL == "" {
		u, err := url.Parse(clientURL)
		if err != nil || (u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost") {
			return nil, fmt.Errorf("nats client URL %q: want nats://127.0.0.1:PORT (the private node listens on loopback only)", clientURL)
		}
		adminURL = "http://127.0.0.1:" + strconv.Itoa(DefaultConfig().MonitorPort)
	}
	return monitorDepths(adminURL), nil
}

// monitorDepths reads depths from a monitoring URL.
type monitorDepths string

func (m monitorDepths) QueueDepths(ctx context.Context) (map[string]brokernode.QueueStat, error) {
	return depthsFrom(ctx, string(m))
}

// The node is a brokernode.Node; the build fails here if it stops being one.
var _ brokernode.Node = (*Node)(nil)
