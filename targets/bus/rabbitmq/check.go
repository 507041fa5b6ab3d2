package rabbitmq

import (
	"errors"
	"fmt"
	"net"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Refusals Handshake tells apart, each wrapped with the broker's reason.
var (
	ErrLoginRefused = errors.New("the broker refused the login")
	ErrVhostRefused = errors.New("the broker refused the vhost")
)

// Address is the host:port an AMQP URL dials (the first of a cluster's
// comma-separated list, each of which must parse); the error says what
// such a URL looks like.
func Address(raw string) (string, error) {
	var first string
	for _, u := range URLs(raw) {
		uri, err := amqp.ParseURI(u)
		if err != nil {
			return "", fmt.Errorf("not an AMQP URL (%w): want amqp://USER:PASSWORD@HOST:PORT/VHOST, or several separated by commas", err)
		}
		if first == "" {
			first = net.JoinHostPort(uri.Host, fmt.Sprint(uri.Port))
		}
	}
	return first, nil
}

// Handshake opens one AMQP connection with the URL's credentials and vhost
// and closes it: whether a broker there would take the twins. A refusal
// wraps ErrLoginRefused or ErrVhostRefused.
func Handshake(raw string, timeout time.Duration) error {
	conn, err := amqp.DialConfig(raw, amqp.Config{Dial: amqp.DefaultDial(timeout)})
	if err == nil {
		return conn.Close()
	}
	// RabbitMQ says why it closed the handshake; amqp091 passes that on.
	var ae *amqp.Error
	switch {
	case errors.As(err, &ae) && ae.Code == amqp.AccessRefused:
		return fmt.Errorf("%w (%s)", ErrLoginRefused, ae.Reason)
	case errors.As(err, &ae) && ae.Code == amqp.NotAllowed:
		return fmt.Errorf("%w (%s)", ErrVhostRefused, ae.Reason)
	}
	return err
}
