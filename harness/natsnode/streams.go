package natsnode

import (
	"context"
	"errors"
	"fmt"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/claims"
)

// adminTimeout bounds one round of JetStream admin requests.
const adminTimeout = 30 * time.Second

// admin runs f with a JetStream client on the node.
func (n *Node) admin(ctx context.Context, f func(context.Context, jetstream.JetStream) error) error {
	ctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	nc, err := natsgo.Connect(n.ClientURL(), natsgo.Name("edabench-natsnode"), natsgo.Timeout(pingTimeout),
		natsgo.MaxReconnects(0))
	if err != nil {
		return fmt.Errorf("nats %s: connect: %w", n.Name(), err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("nats %s: %w", n.Name(), err)
	}
	return f(ctx, js)
}

// covers reports whether t claims name: PREFIX or PREFIX.* for each
// prefix, and the exact names in Queues and Exchanges.
func covers(t brokernode.Topology, name string, exact []string) bool {
	if name == "" {
		return false
	}
	if claims.UnderPrefix(name, t.Prefixes) {
		return true
	}
	for _, q := range exact {
		if name == q {
			return true
		}
	}
	return false
}

func coveredByAny(ts []brokernode.Topology, name string, exact func(brokernode.Topology) []string) bool {
	for _, t := range ts {
		if covers(t, name, exact(t)) {
			return true
		}
	}
	return false
}

func queues(t brokernode.Topology) []string    { return t.Queues }
func exchanges(t brokernode.Topology) []string { return t.Exchanges }

// DeleteTopology deletes every stream and consumer t covers and no live
// claim does.
func (n *Node) DeleteTopology(ctx context.Context, t brokernode.Topology) error {
	live, _ := n.records()
	return n.deleteCovered(ctx, t, claims.LiveTopologies(live, ""))
}

// deleteCovered deletes the streams whose exchange t covers, and the
// consumers whose queue t covers in the other streams, except what keep
// covers. A stream goes whole (its dead-letter stream too, which carries
// the same exchange); a consumer goes with the messages of its subject,
// which no other consumer would ever take.
func (n *Node) deleteCovered(ctx context.Context, t brokernode.Topology, keep []brokernode.Topology) error {
	if t.Empty() {
		return nil
	}
	return n.admin(ctx, func(ctx context.Context, js jetstream.JetStream) error {
		var errs []error
		streams := js.ListStreams(ctx)
		var infos []*jetstream.StreamInfo
		for si := range streams.Info() {
			infos = append(infos, si)
		}
		if err := streams.Err(); err != nil {
			return fmt.Errorf("list streams: %w", err)
		}
		for _, si := range infos {
			ex := si.Config.Metadata[MetaExchange]
			if covers(t, ex, t.Exchanges) && !coveredByAny(keep, ex, exchanges) {
				if err := js.DeleteStream(ctx, si.Config.Name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
					errs = append(errs, fmt.Errorf("delete stream %s: %w", si.Config.Name, err))
				}
				continue
			}
			errs = append(errs, deleteConsumers(ctx, js, si.Config.Name, t, keep))
		}
		return errors.Join(errs...)
	})
}

func deleteConsumers(ctx context.Context, js jetstream.JetStream, stream string, t brokernode.Topology, keep []brokernode.Topology) error {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil
		}
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	lister := s.ListConsumers(ctx)
	var doomed []*jetstream.ConsumerInfo
	for ci := range lister.Info() {
		q := ci.Config.Metadata[MetaQueue]
		if q == "" {
			q = ci.Config.Metadata[MetaAdvisories]
		}
		if covers(t, q, t.Queues) && !coveredByAny(keep, q, queues) {
			doomed = append(doomed, ci)
		}
	}
	if err := lister.Err(); err != nil {
		return fmt.Errorf("list consumers of %s: %w", stream, err)
	}
	var errs []error
	for _, ci := range doomed {
		if err := s.DeleteConsumer(ctx, ci.Name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			errs = append(errs, fmt.Errorf("delete consumer %s of %s: %w", ci.Name, stream, err))
			continue
		}
		if subj := ci.Config.FilterSubject; subj != "" {
			if err := s.Purge(ctx, jetstream.WithPurgeSubject(subj)); err != nil {
				errs = append(errs, fmt.Errorf("purge %s of %s: %w", subj, stream, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Claim records t as this process's before it declares any of it, and
// returns the release, which deletes what is left of t and then the
// record. Failures are logged, never returned.
func (n *Node) Claim(ctx context.Context, t brokernode.Topology) (release func(context.Context)) {
	if n == nil {
		return func(context.Context) {}
	}
	return claims.Claim(ctx, logger(), "nats", "", n.cfg.paths().claims, t, func(ctx context.Context, own string) error {
		live, _ := n.records()
		return n.deleteCovered(ctx, t, claims.LiveTopologies(live, own))
	})
}

func (n *Node) records() ([]claims.Record, error) {
	recs, err := claims.Read(n.cfg.paths().claims)
	if err != nil {
		err = fmt.Errorf("nats: %w", err)
	}
	return recs, err
}

// sweep deletes the streams and consumers of owners that are gone (a
// killed run), except what a live claim also covers.
func (n *Node) sweep(ctx context.Context) {
	recs, err := n.records()
	if err != nil {
		logger().WarnContext(ctx, "nats: some claim records are unreadable", "err", err)
	}
	live := claims.LiveTopologies(recs, "")
	for _, r := range recs {
		if r.Alive() {
			continue
		}
		if err := n.deleteCovered(ctx, r.Topology, live); err != nil {
			logger().WarnContext(ctx, "nats: could not delete a dead owner's streams; the next start retries", "pid", r.PID, "err", err)
			continue
		}
		logger().InfoContext(ctx, "nats: deleted the streams of a run that is gone", "pid", r.PID, "topology", r.Topology)
		_ = claims.Remove(r.Path)
	}
}
