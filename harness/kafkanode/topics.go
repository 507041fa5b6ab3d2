package kafkanode

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
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
	for _, p := range t.Prefixes {
		if p != "" && (topic == p || strings.HasPrefix(topic, p+".")) {
			return true
		}
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
	return n.deleteTopics(ctx, t, liveOnly(live, ""))
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

// record is one claim on disk, as the RabbitMQ node keeps them: a Topology
// and the process that owns it, its start time telling a live owner from a
// later process with the same PID.
type record struct {
	PID        int                 `json:"pid"`
	StartTicks uint64              `json:"start_ticks"`
	Command    string              `json:"command"`
	Created    time.Time           `json:"created"`
	Topology   brokernode.Topology `json:"topology"`
	path       string
}

// alive errs towards alive when the start time cannot be read: deleting a
// running test's topics is worse than keeping garbage.
func (r record) alive() bool {
	if !processAlive(r.PID) {
		return false
	}
	t, err := startTicks(r.PID)
	return r.StartTicks == 0 || err != nil || t == r.StartTicks
}

// Claim records t as this process's before it declares any of it (so a
// killed run's topics are found by the next Start), and returns the
// release, which deletes what is left of t and then the record. Failures
// are logged, never returned: a run must not fail on its bookkeeping.
func (n *Node) Claim(ctx context.Context, t brokernode.Topology) (release func(context.Context)) {
	if n == nil || t.Empty() {
		return func(context.Context) {}
	}
	path, err := n.writeRecord(t)
	if err != nil {
		logger().WarnContext(ctx, "kafka: could not record the topology this process declares", "topology", t, "err", err)
	}
	return func(ctx context.Context) {
		ctx = context.WithoutCancel(ctx)
		live, _ := n.records()
		if err := n.deleteTopics(ctx, t, liveOnly(live, path)); err != nil {
			logger().WarnContext(ctx, "kafka: could not delete the topology this process declared; the next node start retries",
				"topology", t, "err", err)
			return // the record stays, so the next Start deletes it
		}
		if path != "" {
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				logger().WarnContext(ctx, "kafka: remove claim record", "path", path, "err", err)
			}
		}
	}
}

// liveOnly is the topologies of the live records other than the one at
// path (the caller's own).
func liveOnly(recs []record, path string) []brokernode.Topology {
	var out []brokernode.Topology
	for _, r := range recs {
		if r.path != path && r.alive() {
			out = append(out, r.Topology)
		}
	}
	return out
}

// writeRecord writes under a temporary name and renames, so a reader never
// sees half a record.
func (n *Node) writeRecord(t brokernode.Topology) (string, error) {
	dir := n.cfg.paths().claims
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	pid := os.Getpid()
	ticks, _ := startTicks(pid)
	r := record{PID: pid, StartTicks: ticks, Command: strings.Join(os.Args, " "), Created: time.Now().UTC(), Topology: t}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	tag := make([]byte, 4)
	_, _ = rand.Read(tag)
	path := filepath.Join(dir, fmt.Sprintf("%d-%d-%s.json", pid, ticks, hex.EncodeToString(tag)))
	if err := os.WriteFile(path+".tmp", append(b, '\n'), 0o644); err != nil {
		return "", err
	}
	return path, os.Rename(path+".tmp", path)
}

// records reads every claim; an unreadable file is skipped and reported.
func (n *Node) records() ([]record, error) {
	dir := n.cfg.paths().claims
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kafka: read claims: %w", err)
	}
	var recs []record
	var errs []error
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		r := record{path: filepath.Join(dir, e.Name())}
		b, err := os.ReadFile(r.path)
		if errors.Is(err, os.ErrNotExist) {
			continue // released meanwhile
		}
		if err == nil {
			err = json.Unmarshal(b, &r)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("claim record %s: %w (delete the file if it is garbage)", r.path, err))
			continue
		}
		recs = append(recs, r)
	}
	return recs, errors.Join(errs...)
}

// sweep deletes the topics of owners that are gone (a killed run), except
// what a live claim also covers, and then their records.
func (n *Node) sweep(ctx context.Context) {
	recs, err := n.records()
	if err != nil {
		logger().WarnContext(ctx, "kafka: some claim records are unreadable", "err", err)
	}
	live := liveOnly(recs, "")
	for _, r := range recs {
		if r.alive() {
			continue
		}
		if err := n.deleteTopics(ctx, r.Topology, live); err != nil {
			logger().WarnContext(ctx, "kafka: could not delete a dead owner's topics; the next start retries", "pid", r.PID, "err", err)
			continue
		}
		logger().InfoContext(ctx, "kafka: deleted the topics of a run that is gone", "pid", r.PID, "topology", r.Topology)
		_ = os.Remove(r.path)
	}
}
