package nats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/edabench/edabench/targets/bus"
)

// deleteTopology removes t's queues' consumers (with their dead-letter
// queues' and advisory ones) and, when t names its exchange, its three
// streams whole.
func deleteTopology(ctx context.Context, cfg bus.DriverConfig, dial DialFunc, t bus.Topology) error {
	cfg.ConnectTimeout = defaultDialTimeout
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	dv, err := open(ctx, cfg, dial)
	if err != nil {
		return err
	}
	d := dv.(*driver)
	defer d.Close()
	l := layout{exchange: t.Exchange}
	var errs []error
	for _, q := range t.Queues {
		for _, c := range []struct{ stream, name string }{{l.stream(), consumer(q.Name)}, {l.dlqStream(), consumer(bus.DLQName(q.Name))},
			{l.advStream(), advConsumer(q.Name)}} {
			if err := ignoreNotFound(d.js.DeleteConsumer(ctx, c.stream, c.name)); err != nil {
				errs = append(errs, fmt.Errorf("consumer %s of %s: %w", c.name, c.stream, err))
			}
		}
	}
	if t.Exchange != "" {
		for _, s := range []string{l.stream(), l.dlqStream(), l.advStream()} {
			if err := ignoreNotFound(d.js.DeleteStream(ctx, s)); err != nil {
				errs = append(errs, fmt.Errorf("stream %s: %w", s, err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("nats: delete the topology of %q: %w", t.Exchange, err)
	}
	return nil
}
