// Package brokertest gives integration tests a real private RabbitMQ node.
//
// Shared is the cheap default: one node per machine (broker.DefaultConfig),
// started by whichever test binary gets there first and left running for the
// next one. Use Dedicated only for tests that stop, restart or otherwise
// disturb the broker, since each costs a full boot (~7 s).
//
// Under -short (the pure-logic tier) both skip the test, saying what it
// needs. Otherwise a missing RabbitMQ fails the test naming the make target
// that installs it: tests never run apt-get (`make test` installs first).
package brokertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/broker"
	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/brokernode/nodetest"
)

// stopTimeout bounds the deletes after a test (Prefix).
const stopTimeout = 2 * time.Minute

// Shared starts or reuses the default private node (safe across parallel test
// binaries); it is left running for the next package.
func Shared(t testing.TB) *broker.Node {
	t.Helper()
	Require(t)
	return nodetest.Shared(t, "brokertest.Shared", func(ctx context.Context) (*broker.Node, error) {
		return broker.Start(ctx, broker.DefaultConfig())
	})
}

// Dedicated starts a node of its own on free ports (for tests that restart or
// stop the broker) and stops it in t.Cleanup.
func Dedicated(t testing.TB) *broker.Node {
	t.Helper()
	Require(t)
	// One name across port retries: only the ports were taken.
	name := "edabench-t" + randomHex(4) + "@localhost"
	return nodetest.Dedicated(t, "brokertest.Dedicated", "edabench-broker-", broker.ErrPortInUse,
		func(ctx context.Context, dir string) (*broker.Node, error) {
			cfg, err := freeConfig(name, dir)
			if err != nil {
				return nil, fmt.Errorf("pick free ports: %w", err)
			}
			return broker.Start(ctx, cfg)
		})
}

// DedicatedCluster starts a private cluster of nodes members of its own
// (free ports, one epmd, a fresh data dir) and stops it in t.Cleanup,
// removing its data dir after a clean stop: for the node faults.
func DedicatedCluster(t testing.TB, nodes int) *broker.Cluster {
	t.Helper()
	Require(t)
	return nodetest.Dedicated(t, "brokertest.DedicatedCluster", "edabench-cluster-", broker.ErrPortInUse,
		func(ctx context.Context, dir string) (*broker.Cluster, error) {
			ports, err := freePorts(4*nodes + 1)
			if err != nil {
				return nil, fmt.Errorf("pick free ports: %w", err)
			}
			cfgs, err := broker.ClusterConfigs(nodes, dir, ports[4*nodes], func(i int) [4]int {
				return [4]int{ports[4*i], ports[4*i+1], ports[4*i+2], ports[4*i+3]}
			})
			if err != nil {
				return nil, err
			}
			c, err := broker.StartCluster(ctx, cfgs)
			if err != nil {
				// Members that did start must not outlive the attempt.
				if half, oerr := broker.OpenCluster(cfgs); oerr == nil {
					_ = half.Stop(context.WithoutCancel(ctx))
				}
				return nil, err
			}
			return c, nil
		})
}

// Require skips the test under -short, which runs no broker, and fails it
// when RabbitMQ is not installed, naming the make target that installs it.
func Require(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the private RabbitMQ node; the -short tier runs none: run without -short (make test)")
	}
	if !broker.Installed() {
		t.Fatal("RabbitMQ (Debian package rabbitmq-server) is not installed: run `make deps`, " +
			"which installs it and starts the private node (make test does this first)")
	}
}

// FreeConfig returns a Config for a node of the caller's own: a fresh name,
// ports that were free a moment ago and a new data dir that is removed in
// t.Cleanup. Register the node's Stop with t.Cleanup after calling this, so
// that (cleanups running last-in first-out) the node stops before its
// directory goes. Most tests want Dedicated instead.
func FreeConfig(t testing.TB) broker.Config {
	t.Helper()
	dir, err := os.MkdirTemp("", "edabench-broker-")
	if err != nil {
		t.Fatalf("brokertest.FreeConfig: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cfg, err := freeConfig("edabench-t"+randomHex(4)+"@localhost", dir)
	if err != nil {
		t.Fatalf("brokertest.FreeConfig: pick free ports: %v", err)
	}
	return cfg
}

func freeConfig(name, dir string) (broker.Config, error) {
	ports, err := freePorts(5)
	if err != nil {
		return broker.Config{}, err
	}
	return broker.Config{
		Name:     name,
		AMQPPort: ports[0],
		MgmtPort: ports[1],
		PromPort: ports[2],
		DistPort: ports[3],
		EPMDPort: ports[4],
		DataDir:  dir,
	}, nil
}

// freePorts holds every listener open until all are picked so the kernel
// cannot hand out the same port twice.
func freePorts(k int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for len(ports) < k {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		p := l.Addr().(*net.TCPAddr).Port
		// rabbitmqctl's own distribution listener uses 35672-35682; a node
		// there would race every CLI call on the machine.
		if p >= 35672 && p <= 35682 {
			continue
		}
		ports = append(ports, p)
	}
	return ports, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return hex.EncodeToString(b)
}

// Prefix returns a fresh queue prefix (base followed by random hex) that
// the test owns on node: it is recorded before the test declares anything
// under it, so a killed test binary's queues go at the next node start,
// and in t.Cleanup, after the test's own cleanups (register this first),
// everything under it is deleted and the test fails if any of it remains.
func Prefix(t testing.TB, node brokernode.Node, base string) string {
	t.Helper()
	prefix := base + randomHex(4)
	release := node.Claim(t.Context(), brokernode.Topology{Prefixes: []string{prefix}})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		release(ctx)
		qs, err := node.QueueDepths(ctx)
		if err != nil {
			t.Errorf("brokertest.Prefix: list the queues left under %s: %v", prefix, err)
			return
		}
		var left []string
		for name := range qs {
			if name == prefix || strings.HasPrefix(name, prefix+".") {
				left = append(left, name)
			}
		}
		if len(left) > 0 {
			sort.Strings(left)
			t.Errorf("brokertest.Prefix: queues left on the node under %s after the test: %v", prefix, left)
		}
	})
	return prefix
}
