package kafka

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/edabench/edabench/targets/bus"
)

// Record headers. Kafka has no message properties, so the layer's stamps
// travel as headers; a header of the publish's own (Outgoing.Headers)
// travels under userPrefix, so it can never shadow one of these.
const (
	hMessageID     = "x-message-id"
	hCorrelationID = "x-correlation-id"
	hType          = "x-type"
	hContentType   = "content-type"
	hPublishedNS   = "x-published-ns"
	hRoutingKey    = "x-routing-key"
	hExchange      = "x-exchange"
	hDeliveryCount = "x-delivery-count"
	userPrefix     = "h-"
)

// newRecord is m as a record of topic, keyed by the order ID so that an
// order's events land in one partition, in publish order.
func newRecord(topic, exchange string, m bus.Outgoing) *kgo.Record {
	hs := []kgo.RecordHeader{
		{Key: hMessageID, Value: []byte(m.MessageID)},
		{Key: hCorrelationID, Value: []byte(m.CorrelationID)},
		{Key: hType, Value: []byte(m.Type)},
		{Key: hContentType, Value: []byte(m.ContentType)},
		{Key: hPublishedNS, Value: []byte(strconv.FormatInt(m.PublishedNS, 10))},
		{Key: hRoutingKey, Value: []byte(m.RoutingKey)},
		{Key: hExchange, Value: []byte(exchange)},
		{Key: hDeliveryCount, Value: []byte("0")},
	}
	for k, v := range m.Headers {
		hs = append(hs, kgo.RecordHeader{Key: userPrefix + k, Value: headerValue(v)})
	}
	return &kgo.Record{Topic: topic, Key: []byte(m.CorrelationID), Value: m.Body, Headers: hs}
}

// headerValue encodes a publish header; Kafka headers are bytes, so a
// consumer reads every user header back as a string ([]byte as is).
func headerValue(v any) []byte {
	switch x := v.(type) {
	case []byte:
		return x
	case string:
		return []byte(x)
	case time.Time:
		return []byte(x.UTC().Format(time.RFC3339Nano))
	default:
		return []byte(fmt.Sprint(x))
	}
}

// copyTo is r for another attempt or the dead-letter topic: the same key,
// body and stamps (so identity and first-publish time survive), into
// topic, with the delivery count set to count.
func copyTo(r *kgo.Record, topic string, count int) *kgo.Record {
	hs := make([]kgo.RecordHeader, 0, len(r.Headers))
	for _, h := range r.Headers {
		if h.Key != hDeliveryCount {
			hs = append(hs, h)
		}
	}
	hs = append(hs, kgo.RecordHeader{Key: hDeliveryCount, Value: []byte(strconv.Itoa(count))})
	return &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value, Headers: hs}
}

// decoded is what a record's headers say about it.
type decoded struct {
	messageID, correlationID, typ, contentType, routingKey, exchange string
	publishedAt                                                      time.Time
	deliveryCount                                                    int
	user                                                             map[string]any
}

func decode(r *kgo.Record) decoded {
	d := decoded{user: map[string]any{}}
	for _, h := range r.Headers {
		v := string(h.Value)
		switch h.Key {
		case hMessageID:
			d.messageID = v
		case hCorrelationID:
			d.correlationID = v
		case hType:
			d.typ = v
		case hContentType:
			d.contentType = v
		case hRoutingKey:
			d.routingKey = v
		case hExchange:
			d.exchange = v
		case hPublishedNS:
			if ns, err := strconv.ParseInt(v, 10, 64); err == nil && ns > 0 {
				d.publishedAt = time.Unix(0, ns)
			}
		case hDeliveryCount:
			d.deliveryCount, _ = strconv.Atoi(v)
		default:
			if k, ok := strings.CutPrefix(h.Key, userPrefix); ok {
				d.user[k] = v
			}
		}
	}
	if d.correlationID == "" {
		d.correlationID = string(r.Key) // a record produced by another tool
	}
	return d
}
