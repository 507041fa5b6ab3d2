package rabbitmq

import (
	"context"
	"errors"
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/edabench/edabench/targets/bus"
)

// Delete removes t's queues, with their dead-letter queues, and, if
// t.Exchange is set, the exchange and its dead-letter exchange: a broker
// shared by many runs must not collect idle quorum queues. Only for queues
// whose consumers have stopped.
func Delete(ctx context.Context, cfg bus.DriverConfig, t bus.Topology) error {
	url := cfg.URL
	if url == "" {
		url = DefaultURL
	}
	timeout := cfg.DialTimeout
	if timeout <= 0 {
		timeout = bus.DefaultDialTimeout
	}
	var conn *amqp.Connection
	var dialErrs []error
	for _, u := range URLs(url) { // a cluster: any member deletes
		c, err := amqp.DialConfig(u, amqp.Config{Dial: amqp.DefaultDial(timeout)})
		if err == nil {
			conn = c
			break
		}
		dialErrs = append(dialErrs, dialHint(u, "delete", err))
	}
	if conn == nil {
		return fmt.Errorf("delete queues: %w", errors.Join(dialErrs...))
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("delete queues: %w", err)
	}
	defer ch.Close()
	var errs []error
	for _, q := range t.Queues {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		for _, n := range []string{q.Name, bus.DLQName(q.Name)} {
			if _, err := ch.QueueDelete(n, false, false, false); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if t.Exchange != "" {
		errs = append(errs, ch.ExchangeDelete(t.Exchange, false, false), ch.ExchangeDelete(dlx(t.Exchange), false, false))
	}
	return errors.Join(errs...)
}

// DeleteQueues is Delete for callers that hold a URL and names, not a
// topology (the node's sweep of dead owners' queues).
func DeleteQueues(ctx context.Context, url, exchange string, queues ...string) error {
	t := bus.Topology{Exchange: exchange}
	for _, q := range queues {
		t.Queues = append(t.Queues, bus.Queue{Name: q})
	}
	return Delete(ctx, bus.DriverConfig{URL: url}, t)
}
