package bus

import (
	"errors"
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"
)

var (
	// ErrUnconfirmed: the message was written at least once but no confirm
	// arrived before the ctx ended or the Conn closed. It may or may not have
	// been enqueued (at-least-once: a retry may create a duplicate).
	ErrUnconfirmed = errors.New("bus: publish not confirmed by the broker (outcome unknown)")
	// ErrNotPublished: the ctx ended or the Conn closed before the message was
	// ever written; it was certainly not enqueued.
	ErrNotPublished = errors.New("bus: message not published")
	// ErrNacked: the broker nacked every attempt (Options.MaxNacks republishes).
	ErrNacked = errors.New("bus: broker nacked the message")
	// ErrUnroutable: a mandatory message matched no queue binding.
	ErrUnroutable = errors.New("bus: message unroutable: no queue is bound for this routing key")
	// ErrPoison marks a handler error as permanent: the message is
	// dead-lettered at once instead of being retried. Wrap it (Poison(err) or
	// fmt.Errorf("...: %w", bus.ErrPoison)).
	ErrPoison = errors.New("bus: poison message")
	// ErrClosed: the Conn was closed (Close or its Dial ctx ended).
	ErrClosed = errors.New("bus: connection closed")
)

type poisonError struct{ err error }

func (p *poisonError) Error() string        { return "poison message: " + p.err.Error() }
func (p *poisonError) Unwrap() error        { return p.err }
func (p *poisonError) Is(target error) bool { return target == ErrPoison }

// Poison wraps err so that a handler returning it dead-letters the message
// immediately; errors.Is(Poison(err), ErrPoison) and errors.Is(.., err) both hold.
func Poison(err error) error {
	if err == nil {
		err = errors.New("rejected by handler")
	}
	return &poisonError{err: err}
}

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

func dialHint(url, name string, err error) error {
	var ae *amqp.Error
	if errors.As(err, &ae) && ae.Code == amqp.AccessRefused {
		return fmt.Errorf("RabbitMQ at %s refused connection %q: %w; check the user, password and vhost in the URL", redactURL(url), name, err)
	}
	return fmt.Errorf("cannot reach RabbitMQ at %s (connection %q): %w; is the broker running? `make broker-up`", hostPort(url), name, err)
}
