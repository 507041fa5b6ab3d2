package natsnode

import (
	"context"
	"fmt"
	"net"
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

// depthsAt reads the consumer backlogs of a node known by its URLs: at
// the admin URL (monitoring) when given, else at the monitoring port of
// the default node (DefaultConfig, with its environment overrides) when
// the client URL names its client port.
func depthsAt(clientURL, adminURL string) (brokernode.DepthReader, error) {
	if adminURL != "" {
		return monitorDepths(adminURL), nil
	}
	mon, err := monitorFor(clientURL, DefaultConfig())
	if err != nil {
		return nil, err
	}
	return monitorDepths(mon), nil
}

// monitorFor is the monitoring URL of the node cfg whose client URL is
// clientURL. A client URL says nothing of the monitoring port, so one
// naming another client port than cfg's is another node, whose monitoring
// URL must be given: reading cfg's would report another server's queues.
func monitorFor(clientURL string, cfg Config) (string, error) {
	u, err := url.Parse(clientURL)
	if err != nil || (u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost") {
		return "", fmt.Errorf("nats client URL %q: want nats://127.0.0.1:PORT (the private node listens on loopback only)", clientURL)
	}
	if u.Port() != strconv.Itoa(cfg.Port) {
		return "", fmt.Errorf("nats client URL %q: port %q is not the private node's client port %d, so its monitoring port is unknown: "+
			"give that server's monitoring URL as the admin URL (http://127.0.0.1:PORT, its http: setting), or set %s and %s to its ports",
			clientURL, u.Port(), cfg.Port, EnvPort, EnvMonitorPort)
	}
	return "http://" + net.JoinHostPort(u.Hostname(), strconv.Itoa(cfg.MonitorPort)), nil
}

// monitorDepths reads depths from a monitoring URL.
type monitorDepths string

func (m monitorDepths) QueueDepths(ctx context.Context) (map[string]brokernode.QueueStat, error) {
	return depthsFrom(ctx, string(m))
}

// The node is a brokernode.Node; the build fails here if it stops being one.
var _ brokernode.Node = (*Node)(nil)
