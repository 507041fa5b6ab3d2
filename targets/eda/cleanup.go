package eda

import (
	"context"
	"errors"
	"fmt"

	"github.com/edabench/edabench/targets/bus"
	amqp "github.com/rabbitmq/amqp091-go"
)

// DeleteTopology removes a twin's exchanges and queues (with their DLQs),
// and any extra queues named, so runs that share a broker node do not leave
// it collecting idle quorum queues. Only for a twin whose services stopped.
func DeleteTopology(ctx context.Context, url string, cfg Config, extra ...string) error {
	conn, err := amqp.DialConfig(url, amqp.Config{Dial: amqp.DefaultDial(bus.DefaultDialTimeout)})
	if err != nil {
		return fmt.Errorf("delete topology: %w", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("delete topology: %w", err)
	}
	defer ch.Close()
	names := extra
	for _, q := range cfg.Queues() {
		names = append(names, q.Name)
	}
	var errs []error
	for _, n := range names {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		for _, q := range []string{n, bus.DLQName(n)} {
			if _, err := ch.QueueDelete(q, false, false, false); err != nil {
				errs = append(errs, err)
			}
		}
	}
	errs = append(errs, ch.ExchangeDelete(cfg.Exchange(), false, false), ch.ExchangeDelete(cfg.Exchange()+".dlx", false, false))
	return errors.Join(errs...)
}
