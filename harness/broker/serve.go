package broker

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// ProbeServe proves the node takes a message: a fresh connection declares
// an exclusive server-named queue (gone with the connection, so nothing is
// left behind and no queue depth moves), publishes one persistent message
// to it in confirm mode and waits for the broker's ack. A readiness check
// (management API, AMQP login) can pass while the node still refuses
// channels or publishes during boot; this cannot.
func (n *Node) ProbeServe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(n.cfg.AMQPPort))
	conn, err := amqp.DialConfig(n.AMQPURL(), amqp.Config{
		Heartbeat: heartbeatSeconds * time.Second,
		Locale:    "en_US",
		Dial: func(network, _ string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			// amqp091 clears the deadline once the handshake completes.
			if dl, ok := ctx.Deadline(); ok {
				_ = c.SetDeadline(dl)
			}
			return c, nil
		},
	})
	if err != nil {
		return fmt.Errorf("broker %s: serve probe: dial %s: %w", n.cfg.Name, addr, err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("broker %s: serve probe: open channel: %w", n.cfg.Name, err)
	}
	if err := ch.Confirm(false); err != nil {
		return fmt.Errorf("broker %s: serve probe: confirm mode: %w", n.cfg.Name, err)
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		return fmt.Errorf("broker %s: serve probe: declare a queue: %w", n.cfg.Name, err)
	}
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", q.Name, true, false,
		amqp.Publishing{DeliveryMode: amqp.Persistent, Body: []byte("serve probe")})
	if err != nil {
		return fmt.Errorf("broker %s: serve probe: publish: %w", n.cfg.Name, err)
	}
	acked, err := dc.WaitContext(ctx)
	if err != nil {
		return fmt.Errorf("broker %s: serve probe: await the confirm: %w", n.cfg.Name, err)
	}
	if !acked {
		return fmt.Errorf("broker %s: serve probe: the broker nacked the publish", n.cfg.Name)
	}
	return nil
}
