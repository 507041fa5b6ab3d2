package nats_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/natsnode"
	"github.com/edabench/edabench/harness/natsnode/natstest"
	"github.com/edabench/edabench/targets/bus/bustest"
	natsbus "github.com/edabench/edabench/targets/bus/nats"
)

// links are the TCP connections the driver dialed, by the connection name
// of the client that dialed them: Kill closes a service's links, as a
// network fault would, while the server keeps running.
type links struct {
	mu     sync.Mutex
	byName map[string][]net.Conn
}

func (l *links) dial(ctx context.Context, name, network, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.byName[name] = append(l.byName[name], c)
	l.mu.Unlock()
	return c, nil
}

func (l *links) kill(t *testing.T, name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for k, cs := range l.byName {
		if !strings.HasPrefix(k, name) {
			continue
		}
		for _, c := range cs {
			_ = c.Close()
			n++
		}
		delete(l.byName, k)
	}
	if n == 0 {
		t.Fatalf("kill %q: the driver dialed no connection under that name", name)
	}
	t.Logf("killed %d connections of %s", n, name)
}

// contractOptions shorten AckWait so that the deliveries a killed
// connection had out come back within the suite's waits.
var contractOptions = natsbus.Options{AckWait: 3 * time.Second}

func broker(t *testing.T, node *natsnode.Node, restart bool) bustest.Broker {
	prefix := fmt.Sprintf("bustest-%d", time.Now().UnixNano())
	release := node.Claim(t.Context(), brokernode.Topology{Prefixes: []string{prefix}})
	t.Cleanup(func() { release(context.Background()) })
	l := &links{byName: map[string][]net.Conn{}}
	b := bustest.Broker{
		Kind:    natsbus.KindDialing(l.dial),
		URL:     node.ClientURL(),
		Options: contractOptions,
		Prefix:  prefix,
		Kill:    l.kill,
	}
	if restart {
		b.Restart = func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
			defer cancel()
			if err := node.Restart(ctx); err != nil {
				t.Fatalf("restart the NATS node: %v", err)
			}
		}
	}
	return b
}

// TestContract runs the driver contract against the shared private node.
func TestContract(t *testing.T) {
	node := natstest.Shared(t)
	bustest.Run(t, func(t *testing.T) bustest.Broker { return broker(t, node, false) })
}

// TestContractOnARestartedBroker runs the contract on a node of its own,
// which the case that needs it restarts.
func TestContractOnARestartedBroker(t *testing.T) {
	node := natstest.Dedicated(t)
	bustest.Run(t, func(t *testing.T) bustest.Broker { return broker(t, node, true) })
}
