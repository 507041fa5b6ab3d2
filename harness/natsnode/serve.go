package natsnode

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// serveProbePrefix names the probe's own streams (and, lower-cased, their
// subjects); one is created and deleted per probe, so a probe killed
// half-way leaves at most one.
const serveProbePrefix = "EDABENCH_SERVE_PROBE_"

// ProbeServe proves the node takes a message the way the twin's layer
// needs it: through a fresh connection it creates a file-stored stream of
// its own, publishes one message to it, waits for JetStream's PubAck (the
// message stored) and deletes the stream. /healthz (the readiness check)
// can answer while JetStream still recovers its streams from the store;
// this cannot.
func (n *Node) ProbeServe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := serveProbePrefix + strings.ToUpper(hex.EncodeToString(b[:]))
	subject := strings.ToLower(name)
	nc, err := natsgo.Connect(n.ClientURL(), natsgo.Name("edabench-serve-probe"), natsgo.Timeout(pingTimeout),
		natsgo.MaxReconnects(0))
	if err != nil {
		return fmt.Errorf("nats %s: serve probe: connect: %w", n.Name(), err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("nats %s: serve probe: %w", n.Name(), err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{subject},
		Storage: jetstream.FileStorage, Replicas: 1}); err != nil {
		return fmt.Errorf("nats %s: serve probe: create stream %s: %w", n.Name(), name, err)
	}
	// Deleted on a fresh context: a probe that timed out must not leave
	// its stream behind.
	defer func() {
		dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), pingTimeout)
		defer dcancel()
		_ = js.DeleteStream(dctx, name)
	}()
	if _, err := js.Publish(ctx, subject, []byte("serve probe")); err != nil {
		return fmt.Errorf("nats %s: serve probe: publish to %s: %w", n.Name(), subject, err)
	}
	return nil
}
