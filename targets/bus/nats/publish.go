package nats

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/edabench/edabench/targets/bus"
)

// Message headers: the layer's stamps, and a publish's own headers under
// userPrefix so they can never shadow one of these.
const (
	hMessageID     = "x-message-id"
	hCorrelationID = "x-correlation-id"
	hType          = "x-type"
	hContentType   = "content-type"
	hPublishedNS   = "x-published-ns"
	hRoutingKey    = "x-routing-key"
	hExchange      = "x-exchange"
	hDeliveryCount = "x-delivery-count" // on dead letters: the attempts made
	userPrefix     = "h-"
)

// stallWait bounds one wait for room among the pending publishes; the
// publish then tries again until its ctx ends.
const stallWait = time.Second

// route is the queues whose bindings take key, as a topic exchange would
// pick them.
func (d *driver) route(key string) (queues []string, exchange string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, q := range d.topo.Queues {
		if bus.MatchesBinding(q.Bindings, key) {
			queues = append(queues, q.Name)
		}
	}
	return queues, d.topo.Exchange
}

// Publish stores m on the subject of every queue its routing key reaches
// and returns once JetStream acknowledged every copy (a PubAck: the stream
// has it on file). Each copy carries Nats-Msg-Id MESSAGEID@QUEUE, so the
// layer's republish of a message whose PubAck was lost is stored once.
func (d *driver) Publish(ctx context.Context, m bus.Outgoing) error {
	if d.ctx.Err() != nil {
		return fmt.Errorf("nats: publish %s: %w", m.MessageID, bus.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	queues, exchange := d.route(m.RoutingKey)
	if len(queues) == 0 {
		if m.Mandatory {
			return fmt.Errorf("%w: nats: no queue of %q is bound for routing key %q", bus.ErrUnroutable, exchange, m.RoutingKey)
		}
		return nil // as an exchange drops what no queue takes
	}
	l := layout{exchange: exchange}
	msgs := make([]*natsgo.Msg, len(queues))
	for i, q := range queues {
		msgs[i] = newMsg(l.subject(q), exchange, m)
		msgs[i].Header.Set(jetstream.MsgIDHeader, m.MessageID+"@"+q)
	}
	return d.store(ctx, msgs...)
}

// store publishes msgs asynchronously and waits for every PubAck.
func (d *driver) store(ctx context.Context, msgs ...*natsgo.Msg) error {
	lost, err := d.live()
	if err != nil {
		return err
	}
	futures := make([]jetstream.PubAckFuture, 0, len(msgs))
	for _, msg := range msgs {
		f, err := d.publishAsync(ctx, msg)
		if err != nil {
			if len(futures) > 0 {
				err = fmt.Errorf("%w: %w", bus.ErrUnconfirmed, err) // the copies before it were written
			}
			return err
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return pubAckErr(err, f.Msg().Subject)
		case <-lost:
			return fmt.Errorf("%w: %w: nats: the connection dropped before the PubAck of %s", bus.ErrConnectionLost, bus.ErrUnconfirmed, f.Msg().Subject)
		case <-d.ctx.Done():
			return fmt.Errorf("%w: nats: publishing to %s: %w", bus.ErrClosed, f.Msg().Subject, bus.ErrUnconfirmed)
		case <-ctx.Done():
			return fmt.Errorf("%w: nats: no PubAck for %s before the deadline: %w", bus.ErrUnconfirmed, f.Msg().Subject, ctx.Err())
		}
	}
	return nil
}

// publishAsync writes msg, waiting for room among the pending publishes
// (MaxPending) as long as ctx lets it.
func (d *driver) publishAsync(ctx context.Context, msg *natsgo.Msg) (jetstream.PubAckFuture, error) {
	for {
		f, err := d.js.PublishMsgAsync(msg, jetstream.WithStallWait(stallWait))
		switch {
		case err == nil:
			return f, nil
		case errors.Is(err, jetstream.ErrTooManyStalledMsgs):
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%w: nats: %d publishes awaiting their PubAck: %w", bus.ErrNotPublished, d.opts.MaxPending, ctx.Err())
			}
		case errors.Is(err, natsgo.ErrConnectionClosed) && d.ctx.Err() != nil:
			return nil, fmt.Errorf("nats: publish to %s: %w", msg.Subject, bus.ErrClosed)
		default:
			return nil, fmt.Errorf("%w: nats: publish to %s: %w", bus.ErrConnectionLost, msg.Subject, err)
		}
	}
}

// pubAckErr is a failed PubAck in the contract's terms: the stream
// refused the message (a nack the layer retries), or nothing answered.
func pubAckErr(err error, subject string) error {
	var ae *jetstream.APIError
	if errors.As(err, &ae) {
		return fmt.Errorf("%w: nats: JetStream refused the message on %s: %w", bus.ErrNacked, subject, err)
	}
	return fmt.Errorf("%w: %w: nats: publishing to %s: %w", bus.ErrConnectionLost, bus.ErrUnconfirmed, subject, err)
}

// newMsg is m on subject, its stamps as headers.
func newMsg(subject, exchange string, m bus.Outgoing) *natsgo.Msg {
	msg := natsgo.NewMsg(subject)
	msg.Data = m.Body
	h := msg.Header
	h.Set(hMessageID, m.MessageID)
	h.Set(hCorrelationID, m.CorrelationID)
	h.Set(hType, m.Type)
	h.Set(hContentType, m.ContentType)
	h.Set(hPublishedNS, strconv.FormatInt(m.PublishedNS, 10))
	h.Set(hRoutingKey, m.RoutingKey)
	h.Set(hExchange, exchange)
	for k, v := range m.Headers {
		h.Set(userPrefix+k, headerValue(v))
	}
	return msg
}

func headerValue(v any) string {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case string:
		return x
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	default:
		return fmt.Sprint(x)
	}
}

// decoded is what a message's headers say about it.
type decoded struct {
	messageID, correlationID, typ, contentType, routingKey, exchange string
	publishedAt                                                      time.Time
	deliveryCount                                                    int
	user                                                             map[string]any
}

func decode(h natsgo.Header) decoded {
	d := decoded{user: map[string]any{},
		messageID: h.Get(hMessageID), correlationID: h.Get(hCorrelationID), typ: h.Get(hType),
		contentType: h.Get(hContentType), routingKey: h.Get(hRoutingKey), exchange: h.Get(hExchange)}
	if ns, err := strconv.ParseInt(h.Get(hPublishedNS), 10, 64); err == nil && ns > 0 {
		d.publishedAt = time.Unix(0, ns)
	}
	d.deliveryCount, _ = strconv.Atoi(h.Get(hDeliveryCount))
	for k, vs := range h {
		if name, ok := strings.CutPrefix(k, userPrefix); ok && len(vs) > 0 {
			d.user[name] = vs[0]
		}
	}
	return d
}
