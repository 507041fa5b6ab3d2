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
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/kafkanode"
)

const (
	startTimeout = 3 * time.Minute
	stopTimeout  = 2 * time.Minute
	// Free ports are picked by the kernel and released, so another process
	// may take one before the node binds it: retry a few times.
	portAttempts = 3
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
	ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
	defer cancel()
	n, err := kafkanode.Start(ctx, kafkanode.DefaultConfig())
	if err != nil {
		t.Fatalf("kafkatest.Shared: %v", err)
	}
	return n
}

// Dedicated starts a node of the test's own and stops it in t.Cleanup;
// its data dir is removed after a clean stop and kept (named in the
// failure) otherwise, since its logs explain the failure.
func Dedicated(t testing.TB) *kafkanode.Node {
	t.Helper()
	Require(t)
	dir, err := os.MkdirTemp("", "edabench-kafka-")
	if err != nil {
		t.Fatalf("kafkatest.Dedicated: %v", err)
	}
	var n *kafkanode.Node
	for attempt := 1; ; attempt++ {
		cfg, err := FreeConfig(dir)
		if err != nil {
			t.Fatalf("kafkatest.Dedicated: pick free ports: %v", err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
		n, err = kafkanode.Start(ctx, cfg)
		cancel()
		if err == nil {
			break
		}
		if errors.Is(err, kafkanode.ErrPortInUse) && attempt < portAttempts {
			t.Logf("kafkatest.Dedicated: retrying with other ports: %v", err)
			continue
		}
		t.Fatalf("kafkatest.Dedicated: %v\n(data dir kept for inspection: %s)", err, dir)
	}
	t.Cleanup(func() {
		// t.Context() is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		if err := n.Stop(ctx); err != nil {
			t.Errorf("kafkatest.Dedicated: stop %s: %v (data dir kept: %s)", n.Name(), err, dir)
			return
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Logf("kafkatest.Dedicated: remove %s: %v", dir, err)
		}
	})
	return n
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
