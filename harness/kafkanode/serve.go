package kafkanode

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// serveProbePrefix names the probe's own topics; one is created and
// deleted per probe, so a probe killed half-way leaves at most one.
const serveProbePrefix = "edabench.serve-probe."

// ProbeServe proves the node takes a record: it creates a one-partition
// topic, produces one record with acks=all from an idempotent producer (the
// twin's settings) and waits for the broker's acknowledgement, then deletes
// the topic. A metadata answer (the readiness check) comes before the node
// leads partitions again; this does not.
func (n *Node) ProbeServe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	var b [4]byte
	_, _ = rand.Read(b[:])
	topic := serveProbePrefix + hex.EncodeToString(b[:])
	// A short, flat retry backoff: the probe runs while the node boots,
	// and its mark must come within moments of the node taking records,
	// not after a client backoff grown during the boot.
	c, err := n.Client(kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }))
	if err != nil {
		return err
	}
	defer c.Close()
	adm := kadm.NewClient(c)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, topic); err != nil {
		return fmt.Errorf("kafka %s: serve probe: create topic %s: %w", n.Name(), topic, err)
	}
	// Deleted on a fresh context: a probe that timed out must not leave
	// its topic behind.
	defer func() {
		dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), pingTimeout)
		defer dcancel()
		_, _ = adm.DeleteTopic(dctx, topic)
	}()
	if err := c.ProduceSync(ctx, &kgo.Record{Value: []byte("serve probe")}).FirstErr(); err != nil {
		return fmt.Errorf("kafka %s: serve probe: produce to %s: %w", n.Name(), topic, err)
	}
	return nil
}
