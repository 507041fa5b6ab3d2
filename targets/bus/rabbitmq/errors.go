package rabbitmq

import (
	"errors"
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/edabench/edabench/targets/bus"
)

// fatalAMQP reports errors a reconnect cannot fix without operator action
// (bad credentials, missing vhost/permissions, topology argument mismatch).
func fatalAMQP(err error) bool {
	var ae *amqp.Error
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.Code {
	case amqp.AccessRefused, amqp.PreconditionFailed, amqp.NotAllowed, amqp.NotFound:
		return true
	}
	return false
}

// refused marks err as one no retry fixes, for the layer.
func refused(err error) error {
	if err == nil || !fatalAMQP(err) {
		return err
	}
	return fmt.Errorf("%w: %w", bus.ErrRefused, err)
}

func dialHint(url, name string, err error) error {
	var ae *amqp.Error
	if errors.As(err, &ae) && ae.Code == amqp.AccessRefused {
		return fmt.Errorf("RabbitMQ at %s refused connection %q: %w; check the user, password and vhost in the URL", redactURL(url), name, err)
	}
	return fmt.Errorf("cannot reach RabbitMQ at %s (connection %q): %w; is the broker running? `make broker-up`", hostPort(url), name, err)
}
