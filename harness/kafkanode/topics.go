package kafkanode

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/claims"
)

// adminTimeout bounds one round of admin requests.
const adminTimeout = 30 * time.Second

// admin runs f with an admin client on the node.
func (n *Node) admin(ctx context.Context, f func(context.Context, *kadm.Client) error) error {
	ctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	c, err := n.Client()
	if err != nil {
		return err
	}
	defer c.Close()
	return f(ctx, kadm.NewClient(c))
}

// QueueDepths is one entry per topic (Kafka's internal topics left out):
// Messages and Ready are the records the topic holds (log end minus log
// start, summed over its partitions), Unacked and Consumers 0. It is not a
// backlog: Kafka keeps records after they are read, and what a consumer
// group still has to read (log end minus its committed offset) needs the
// group, which the Kafka driver's lag will bring. The map shows which
// topics exist (what a test's leftover check needs) and that they fill.
func (n *Node) QueueDepths(ctx context.Context) (map[string]brokernode.QueueStat, error) {
	out := map[string]brokernode.QueueStat{}
	err := n.admin(ctx, func(ctx context.Context, adm *kadm.Client) error {
		topics, err := adm.ListTopics(ctx)
		if err != nil {
			return err
		}
		names := topics.Names()
		if len(names) == 0 {
			return nil
		}
		starts, err := adm.ListStartOffsets(ctx, names...)
		if err != nil {
			return err
		}
		ends, err := adm.ListEndOffsets(ctx, names...)
		if err != nil {
			return err
		}
		for _, name := range names {
			var held int64
			ends.Each(func(o kadm.ListedOffset) {
				if o.Topic == name && o.Err == nil {
					s, _ := starts.Lookup(o.Topic, o.Partition)
					held += o.Offset - s.Offset
				}
			})
			out[name] = brokernode.QueueStat{Name: name, Messages: held, Ready: held}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("kafka %s: topic depths: %w", n.Name(), err)
	}
	return out, nil
}

// covers reports whether t claims the topic: PREFIX or PREFIX.* for each
// prefix, and the exact names in Queues and Exchanges (Kafka has only
// topics: a driver may name a topic after either).
func covers(t brokernode.Topology, topic string) bool {
	if claims.UnderPrefix(topic, t.Prefixes) {
		return true
	}
	for _, names := range [][]string{t.Queues, t.Exchanges} {
		for _, q := range names {
			if topic == q {
				return true
			}
		}
	}
	return false
}

// DeleteTopology deletes every topic t covers and no live claim does (a
// claimed topology goes with its Claim's release).
func (n *Node) DeleteTopology(ctx context.Context, t brokernode.Topology) error {
	live, _ := n.records()
	return n.deleteTopics(ctx, t, claims.LiveTopologies(live, ""))
}

// deleteTopics deletes the topics t covers, except those keep claims.
func (n *Node) deleteTopics(ctx context.Context, t brokernode.Topology, keep []brokernode.Topology) error {
	if t.Empty() {
		return nil
	}
	return n.admin(ctx, func(ctx context.Context, adm *kadm.Client) error {
		topics, err := adm.ListTopics(ctx)
		if err != nil {
			return err
		}
		var doomed []string
		for _, name := range topics.Names() {
			if covers(t, name) && !coveredByAny(keep, name) {
				doomed = append(doomed, name)
			}
		}
		if len(doomed) == 0 {
			return nil
		}
		sort.Strings(doomed)
		res, err := adm.DeleteTopics(ctx, doomed...)
		if err != nil {
			return err
		}
		var errs []error
		for _, r := range res.Sorted() {
			// Listed a moment ago but deleted since (the bus driver's Delete
			// got there first): the topic is gone, as wanted.
			if r.Err != nil && !errors.Is(r.Err, kerr.UnknownTopicOrPartition) {
				errs = append(errs, fmt.Errorf("delete topic %s: %w", r.Topic, r.Err))
			}
		}
		return errors.Join(errs...)
	})
}

func coveredByAny(ts []brokernode.Topology, topic string) bool {
	for _, t := range ts {
		if covers(t, topic) {
			return true
		}
	}
	return false
}

// Claim records t as this process's before it declares any of it (so a
// killed run's topics are found by the next Start), and returns the
// release, which deletes what is left of t and then the record. Failures
// are logged, never returned: a run must not fail on its bookkeeping.
func (n *Node) Claim(ctx context.Context, t brokernode.Topology) (release func(context.Context)) {
	if n == nil {
		return func(context.Context) {}
	}
	return claims.Claim(ctx, logger(), "kafka", "", n.cfg.paths().claims, t, func(ctx context.Context, own string) error {
		live, _ := n.records()
		return n.deleteTopics(ctx, t, claims.LiveTopologies(live, own))
	})
}

// records reads every claim; an unreadable file is skipped and reported.
func (n *Node) records() ([]claims.Record, error) {
	recs, err := claims.Read(n.cfg.paths().claims)
	if err != nil {
		err = fmt.Errorf("kafka: %w", err)
	}
	return recs, err
}

// sweep deletes the topics of owners that are gone (a killed run), except
// what a live claim also covers, and then their records.
func (n *Node) sweep(ctx context.Context) {
	recs, err := n.records()
	if err != nil {
		logger().WarnContext(ctx, "kafka: some claim records are unreadable", "err", err)
	}
	live := claims.LiveTopologies(recs, "")
	for _, r := range recs {
		if r.Alive() {
			continue
		}
		if err := n.deleteTopics(ctx, r.Topology, live); err != nil {
			logger().WarnContext(ctx, "kafka: could not delete a dead owner's topics; the next start retries", "pid", r.PID, "err", err)
			continue
		}
		logger().InfoContext(ctx, "kafka: deleted the topics of a run that is gone", "pid", r.PID, "topology", r.Topology)
		_ = claims.Remove(r.Path)
	}
}
