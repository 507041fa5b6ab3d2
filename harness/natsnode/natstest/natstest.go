// Package natstest gives integration tests a real private NATS node, as
// kafkatest does for Kafka.
//
// Shared starts or reuses the default node (natsnode.DefaultConfig) and
// leaves it running for the next test binary; Dedicated starts one of the
// test's own, on free ports and in a fresh data dir, for tests that stop or
// restart it. Under -short both skip, saying what they need; otherwise a
// missing nats-server fails the test naming `make nats`.
package natstest

import (
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/edabench/edabench/harness/brokernode/nodetest"
	"github.com/edabench/edabench/harness/natsnode"
)

// Require skips the test under -short and fails it when nats-server is
// not built, naming the make target that builds it.
func Require(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the private NATS node; the -short tier runs none: run without -short (make test)")
	}
	if err := natsnode.DefaultConfig().Installed(); err != nil {
		t.Fatalf("the private NATS node cannot start: %v\n(make test runs make nats first)", err)
	}
}

// Shared starts or reuses the default node; it is left running.
func Shared(t testing.TB) *natsnode.Node {
	t.Helper()
	Require(t)
	return nodetest.Shared(t, "natstest.Shared", func(ctx context.Context) (*natsnode.Node, error) {
		return natsnode.Start(ctx, natsnode.DefaultConfig())
	})
}

// Dedicated starts a node of the test's own and stops it in t.Cleanup.
func Dedicated(t testing.TB) *natsnode.Node {
	t.Helper()
	Require(t)
	return nodetest.Dedicated(t, "natstest.Dedicated", "edabench-nats-", natsnode.ErrPortInUse,
		func(ctx context.Context, dir string) (*natsnode.Node, error) {
			cfg, err := FreeConfig(dir)
			if err != nil {
				return nil, fmt.Errorf("pick free ports: %w", err)
			}
			return natsnode.Start(ctx, cfg)
		})
}

// FreeConfig is the default Config moved to dir and to two ports that
// were free a moment ago.
func FreeConfig(dir string) (natsnode.Config, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return natsnode.Config{}, err
		}
		ls = append(ls, l)
	}
	cfg := natsnode.DefaultConfig()
	cfg.DataDir = dir
	cfg.Port = ls[0].Addr().(*net.TCPAddr).Port
	cfg.MonitorPort = ls[1].Addr().(*net.TCPAddr).Port
	return cfg, nil
}
