package kafka

import (
	"context"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/edabench/edabench/targets/bus"
)

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		ok   bool
	}{
		{"zero takes defaults", Options{}, true},
		{"set", Options{Partitions: 6, Linger: 5 * time.Millisecond, BatchBytes: 64 << 10, Prefetch: 100}, true},
		{"negative partitions", Options{Partitions: -1}, false},
		{"linger too long", Options{Linger: 2 * time.Minute}, false},
		{"tiny batch", Options{BatchBytes: 10}, false},
		{"prefetch too big", Options{Prefetch: 70000}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.o.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate(%+v) = %v, want ok=%v", tc.o, err, tc.ok)
			}
		})
	}
}

func TestOptionsOfAnotherBroker(t *testing.T) {
	if _, err := options(bus.DriverConfig{Options: other{}}); err == nil {
		t.Fatal("options of another broker accepted")
	}
}

type other struct{}

func (other) Broker() string  { return "rabbitmq" }
func (other) Validate() error { return nil }

func TestSeeds(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want []string
	}{
		{"", []string{DefaultURL}},
		{"127.0.0.1:9103", []string{"127.0.0.1:9103"}},
		{"kafka://a:1, b:2/", []string{"a:1", "b:2"}},
	} {
		if got := seeds(tc.url); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("seeds(%q) = %q, want %q", tc.url, got, tc.want)
		}
	}
}

// TestPartitionAck: only the acked prefix is committable, whatever order
// the acks come in.
func TestPartitionAck(t *testing.T) {
	for _, tc := range []struct {
		name string
		acks []int64
		want []int64 // the record to mark after each ack, -1 for none
	}{
		{"in order", []int64{10, 11, 12}, []int64{10, 11, 12}},
		{"out of order", []int64{12, 11, 10}, []int64{-1, -1, 12}},
		{"gap filled last", []int64{10, 12, 11}, []int64{10, -1, 12}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPartition()
			for _, off := range []int64{10, 11, 12} {
				p.add(&kgo.Record{Offset: off})
			}
			for i, off := range tc.acks {
				got := int64(-1)
				if r := p.ack(off); r != nil {
					got = r.Offset
				}
				if got != tc.want[i] {
					t.Errorf("ack %d: marked %d, want %d", off, got, tc.want[i])
				}
			}
		})
	}
}

// TestRecordRoundTrip: what the layer stamped comes back from the headers,
// on a copy for another attempt too.
func TestRecordRoundTrip(t *testing.T) {
	m := bus.Outgoing{RoutingKey: "order.created", Body: []byte(`{}`), MessageID: "m1", CorrelationID: "o1",
		Type: "OrderCreated", ContentType: "application/json", PublishedNS: 1700000000123456789,
		Headers: map[string]any{"tenant": "t1", "n": int64(3)}}
	r := newRecord("q", "ex", m)
	if string(r.Key) != "o1" {
		t.Errorf("key %q, want the order ID", r.Key)
	}
	for _, tc := range []struct {
		name  string
		rec   *kgo.Record
		count int
	}{
		{"published", r, 0},
		{"retried", copyTo(r, "q", 2), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := decode(tc.rec)
			if d.messageID != "m1" || d.correlationID != "o1" || d.typ != "OrderCreated" || d.contentType != "application/json" ||
				d.routingKey != "order.created" || d.exchange != "ex" || d.publishedAt.UnixNano() != m.PublishedNS || d.deliveryCount != tc.count {
				t.Errorf("decoded %+v", d)
			}
			if d.user["tenant"] != "t1" || d.user["n"] != "3" {
				t.Errorf("user headers %v", d.user)
			}
		})
	}
}

// TestProduceErr: a failed produce says what the layer must do next.
func TestProduceErr(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		ctxErr error
		closed bool
		want   []error
		not    []error
	}{
		{"driver closed", kgo.ErrClientClosed, nil, true, []error{bus.ErrClosed}, []error{bus.ErrConnectionLost}},
		{"deadline", context.DeadlineExceeded, context.DeadlineExceeded, false, []error{bus.ErrUnconfirmed, context.DeadlineExceeded}, []error{bus.ErrConnectionLost}},
		{"too large", kerr.MessageTooLarge, nil, false, []error{bus.ErrNotPublished}, []error{bus.ErrUnconfirmed}},
		{"leader moved", kerr.NotLeaderForPartition, nil, false, []error{bus.ErrConnectionLost, bus.ErrUnconfirmed}, nil},
		{"connection reset", io.ErrUnexpectedEOF, nil, false, []error{bus.ErrConnectionLost, bus.ErrUnconfirmed}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := produceErr(tc.err, tc.ctxErr, tc.closed, "q", "127.0.0.1:9102")
			for _, w := range tc.want {
				if !errors.Is(got, w) {
					t.Errorf("%v: does not wrap %v", got, w)
				}
			}
			for _, n := range tc.not {
				if errors.Is(got, n) {
					t.Errorf("%v: wraps %v", got, n)
				}
			}
		})
	}
}

// A Kafka URL is HOST:PORT seeds; RabbitMQ's URL is named as such, and
// its password never echoed.
func TestCheckURL(t *testing.T) {
	tests := []struct{ url, err string }{
		{"127.0.0.1:9102", ""},
		{"kafka://127.0.0.1:9102", ""},
		{"127.0.0.1:9102,127.0.0.1:9103", ""},
		{"", ""}, // the default seed
		{"amqp://guest:secret@127.0.0.1:5682/", "is a RabbitMQ (AMQP) URL"},
		{"http://127.0.0.1:9102", "a Kafka client URL is HOST:PORT"},
		{"127.0.0.1", "is not HOST:PORT"},
		{"127.0.0.1:x", "is not HOST:PORT"},
	}
	for _, tt := range tests {
		err := CheckURL(tt.url)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("CheckURL(%q) = %v, want nil", tt.url, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("CheckURL(%q) = %v, want %q", tt.url, err, tt.err)
		case err != nil && strings.Contains(err.Error(), "secret"):
			t.Errorf("CheckURL(%q) echoes the password: %v", tt.url, err)
		}
	}
}
