package bus

import (
	"errors"
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
	// ErrConnectionLost is a driver's report that its connection went
	// before a publish was confirmed: the layer republishes after Reconnect.
	ErrConnectionLost = errors.New("bus: connection to the broker lost")
	// ErrRefused is a driver's report that the broker refused something no
	// retry can fix (credentials, permissions, a queue declared earlier
	// with other arguments).
	ErrRefused = errors.New("bus: refused by the broker")
	// ErrPublishUnconfirmed: a handler returned nil but a publish it made
	// through the delivery's context was not confirmed, so its input is not
	// acked: the downstream event is not known to be safe in the broker.
	ErrPublishUnconfirmed = errors.New("bus: a publish of the handler was not confirmed")
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
