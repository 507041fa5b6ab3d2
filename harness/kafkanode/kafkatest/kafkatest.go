// Package kafkatest gives integration tests a real private Kafka node, as
// harness/broker/brokertest does for RabbitMQ.
//
// Shared starts or reuses the default node (kafkanode.DefaultConfig) and
// leaves it running for the next test binary; Dedicated starts one of the
// test's own, on free ports and in a fresh data dir, for tests that stop or
// restart it. Under -short both skip, saying what they need; otherwise a
// missing JDK or missing jars fail the test naming `make kafka`: tests
// install and fetch nothing (make test does it first).
package kafkatest

import (
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/edabench/edabench/harness/brokernode/nodetest"
	"github.com/edabench/edabench/harness/kafkanode"
)

// Require skips the test under -short and fails it when Java or the
// Kafka jars are missing, naming the make target that brings them.
func Require(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the private Kafka node; the -short tier runs none: run without -short (make test)")
	}
	if err := kafkanode.DefaultConfig().Installed(); err != nil {
		t.Fatalf("the private Kafka node cannot start: %v\n(make test runs make kafka first)", err)
	}
}

// Shared starts or reuses the default node; it is left running.
func Shared(t testing.TB) *kafkanode.Node {
	t.Helper()
	Require(t)
	return nodetest.Shared(t, "kafkatest.Shared", func(ctx context.Context) (*kafkanode.Node, error) {
		return kafkanode.Start(ctx, kafkanode.DefaultConfig())
	})
}

// Dedicated starts a node of the test's own and stops it in t.Cleanup;
// its data dir is removed after a clean stop and kept (named in the
// failure) otherwise, since its logs explain the failure.
func Dedicated(t testing.TB) *kafkanode.Node {
	t.Helper()
	Require(t)
	return nodetest.Dedicated(t, "kafkatest.Dedicated", "edabench-kafka-", kafkanode.ErrPortInUse,
		func(ctx context.Context, dir string) (*kafkanode.Node, error) {
			cfg, err := FreeConfig(dir)
			if err != nil {
				return nil, fmt.Errorf("pick free ports: %w", err)
			}
			return kafkanode.Start(ctx, cfg)
		})
}

// DedicatedCluster starts a private Kafka cluster of nodes members of its
// own (free ports, a fresh data dir) and stops it in t.Cleanup, removing
// its data dir after a clean stop: for the node faults.
func DedicatedCluster(t testing.TB, nodes int) *kafkanode.Cluster {
	t.Helper()
	Require(t)
	return nodetest.Dedicated(t, "kafkatest.DedicatedCluster", "edabench-kafka-cluster-", kafkanode.ErrPortInUse,
		func(ctx context.Context, dir string) (*kafkanode.Cluster, error) {
			ports, err := freePorts(2 * nodes)
			if err != nil {
				return nil, fmt.Errorf("pick free ports: %w", err)
			}
			cfgs, err := kafkanode.ClusterConfigs(nodes, dir, kafkanode.DefaultConfig(), func(i int) (int, int) {
				return ports[2*i], ports[2*i+1]
			})
			if err != nil {
				return nil, err
			}
			c, err := kafkanode.StartCluster(ctx, cfgs)
			if err != nil {
				if half, oerr := kafkanode.OpenCluster(cfgs); oerr == nil {
					_ = half.Stop(context.WithoutCancel(ctx))
				}
				return nil, err
			}
			return c, nil
		})
}

// freePorts holds every listener open until all are picked, so the
// kernel cannot hand out the same port twice.
func freePorts(k int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, k)
	for range k {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// FreeConfig is the default Config moved to dir and to two ports that
// were free a moment ago.
func FreeConfig(dir string) (kafkanode.Config, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	// Hold both listeners until both are picked, so the kernel cannot hand
	// out the same port twice.
	for range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return kafkanode.Config{}, err
		}
		ls = append(ls, l)
	}
	cfg := kafkanode.DefaultConfig()
	cfg.DataDir = dir
	cfg.Port = ls[0].Addr().(*net.TCPAddr).Port
	cfg.ControllerPort = ls[1].Addr().(*net.TCPAddr).Port
	return cfg, nil
}
