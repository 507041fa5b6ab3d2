package eda

import (
	"context"
	"fmt"

	"github.com/edabench/edabench/targets/bus"
)

// DeleteTopology removes a twin's exchanges and queues (with their DLQs),
// and any extra queues named, so runs that share a broker node do not leave
// it collecting idle quorum queues. Only for a twin whose services stopped.
func DeleteTopology(ctx context.Context, url string, cfg Config, extra ...string) error {
	kind, err := cfg.Kind()
	if err != nil {
		return fmt.Errorf("delete topology: %w", err)
	}
	names := extra
	for _, q := range cfg.Queues() {
		names = append(names, q.Name)
	}
	if err := bus.Delete(ctx, kind, url, cfg.Options, cfg.Exchange(), names...); err != nil {
		return fmt.Errorf("delete topology: %w", err)
	}
	return nil
}
