package kafka_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/kafkanode"
	"github.com/edabench/edabench/harness/kafkanode/kafkatest"
	"github.com/edabench/edabench/targets/bus/bustest"
	"github.com/edabench/edabench/targets/bus/kafka"
)

// links are the TCP connections the driver dialed, by the connection name
// of the client that dialed them: Kill closes a service's links, as a
// network fault would, while the broker keeps running.
type links struct {
	mu     sync.Mutex
	byName map[string][]net.Conn
}

func (l *links) dial(ctx context.Context, name, network, host string) (net.Conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	c, err := d.DialContext(ctx, network, host)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.byName[name] = append(l.byName[name], c)
	l.mu.Unlock()
	return c, nil
}

// kill closes every link of a client named with prefix name.
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

// broker is the contract's view of node: a fresh claimed prefix per case,
// and the faults the suite asks for.
func broker(t *testing.T, node *kafkanode.Node, restart bool) bustest.Broker {
	prefix := fmt.Sprintf("bustest-%d", time.Now().UnixNano())
	release := node.Claim(t.Context(), brokernode.Topology{Prefixes: []string{prefix}})
	t.Cleanup(func() { release(context.Background()) })
	l := &links{byName: map[string][]net.Conn{}}
	b := bustest.Broker{
		Kind:    kafka.KindDialing(l.dial),
		URL:     node.ClientURL(),
		Options: kafka.Options{Partitions: 3},
		Prefix:  prefix,
		Kill:    l.kill,
	}
	if restart {
		b.Restart = func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
			defer cancel()
			if err := node.Restart(ctx); err != nil {
				t.Fatalf("restart the Kafka node: %v", err)
			}
		}
	}
	return b
}

// TestContract runs the driver contract against the shared private node.
func TestContract(t *testing.T) {
	node := kafkatest.Shared(t)
	bustest.Run(t, func(t *testing.T) bustest.Broker { return broker(t, node, false) })
}

// TestContractOnARestartedBroker runs the contract on a node of its own,
// which the case that needs it restarts.
func TestContractOnARestartedBroker(t *testing.T) {
	node := kafkatest.Dedicated(t)
	bustest.Run(t, func(t *testing.T) bustest.Broker { return broker(t, node, true) })
}
