package kafka

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/edabench/edabench/targets/bus"
)

// deleteTopology deletes the topics of t's queues and of their
// dead-letter queues, and the consumer groups named after them (their
// committed offsets would otherwise outlive the topics). Kafka has no
// exchange to delete. What is already gone is no error.
func deleteTopology(ctx context.Context, cfg bus.DriverConfig, dial dialFunc, t bus.Topology) error {
	var names []string
	for _, q := range t.Queues {
		names = append(names, q.Name, bus.DLQName(q.Name))
	}
	if len(names) == 0 {
		return nil
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = defaultDialTimeout
	}
	if dial == nil {
		dial = netDial(cfg.DialTimeout)
	}
	addr := strings.Join(seeds(cfg.URL), ",")
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds(cfg.URL)...), kgo.Dialer(func(ctx context.Context, network, host string) (net.Conn, error) {
		return dial(ctx, "delete", network, host)
	}))
	if err != nil {
		return fmt.Errorf("kafka: admin client for %s: %w", addr, err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	var errs []error
	groups, err := adm.DeleteGroups(ctx, names...)
	if err != nil {
		return fmt.Errorf("kafka: delete consumer groups %s at %s: %w", strings.Join(names, ", "), addr, err)
	}
	for _, g := range groups {
		// A group still in use keeps its offsets: its members run on.
		if g.Err != nil && !errors.Is(g.Err, kerr.GroupIDNotFound) && !errors.Is(g.Err, kerr.NonEmptyGroup) {
			errs = append(errs, fmt.Errorf("group %s: %w", g.Group, g.Err))
		}
	}
	topics, err := adm.DeleteTopics(ctx, names...)
	if err != nil {
		return fmt.Errorf("kafka: delete topics %s at %s: %w", strings.Join(names, ", "), addr, err)
	}
	for _, r := range topics.Sorted() {
		if r.Err != nil && !errors.Is(r.Err, kerr.UnknownTopicOrPartition) {
			errs = append(errs, fmt.Errorf("topic %s: %w", r.Topic, r.Err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("kafka: delete at %s: %w", addr, errors.Join(errs...))
	}
	return nil
}
