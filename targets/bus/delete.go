package bus

import (
	"context"
	"errors"
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Delete removes queues, with the dead-letter queues Consume declared for
// them, and, if exchange is not empty, the exchange and its dead-letter
// exchange: a broker shared by many runs must not collect idle quorum
// queues. Only for queues whose consumers have stopped.
func Delete(ctx context.Context, url, exchange string, queues ...string) error {
	conn, err := amqp.DialConfig(url, amqp.Config{Dial: amqp.DefaultDial(DefaultDialTimeout)})
	if err != nil {
		return fmt.Errorf("delete queues: %w", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("delete queues: %w", err)
	}
	defer ch.Close()
	var errs []error
	for _, q := range queues {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		for _, n := range []string{q, DLQName(q)} {
			if _, err := ch.QueueDelete(n, false, false, false); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if exchange != "" {
		errs = append(errs, ch.ExchangeDelete(exchange, false, false), ch.ExchangeDelete(exchange+".dlx", false, false))
	}
	return errors.Join(errs...)
}
