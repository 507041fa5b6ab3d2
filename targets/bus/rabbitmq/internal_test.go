package rabbitmq

import (
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/edabench/edabench/targets/bus"
)

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"amqp://guest:s3cret@127.0.0.1:5672/": "amqp://guest:xxxxx@127.0.0.1:5672/",
		"amqp://127.0.0.1:5672/":              "amqp://127.0.0.1:5672/",
		"amqp://user@host/":                   "amqp://user@host/",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
	if got := hostPort("amqp://guest:guest@127.0.0.1:5682/vh"); got != "127.0.0.1:5682" {
		t.Errorf("hostPort = %q", got)
	}
	if got := hostPort("amqp://rabbit/"); got != "rabbit:5672" {
		t.Errorf("hostPort = %q", got)
	}
}

func TestToInbound(t *testing.T) {
	pub := time.Unix(1700000000, 123456789)
	d := toInbound("q", amqp.Delivery{
		Headers: amqp.Table{
			HeaderPublishedNS: pub.UnixNano(),
			headerDeliveries:  int64(2),
			HeaderRetries:     int32(1),
			HeaderRoutingKey:  "order.created",
			HeaderExchange:    "edabench.orders",
		},
		Timestamp:  time.Unix(1700000000, 0),
		RoutingKey: "q",
		Exchange:   "",
		MessageId:  "m", CorrelationId: "o", Redelivered: true,
	})
	if !d.PublishedAt.Equal(pub) || d.DeliveryCount != 3 || d.RoutingKey != "order.created" ||
		d.Exchange != "edabench.orders" || d.MessageID != "m" || d.CorrelationID != "o" || !d.Redelivered || d.Queue != "q" {
		t.Fatalf("toInbound = %+v", d)
	}
	// Without the ns header PublishedAt falls back to the seconds timestamp.
	if d := toInbound("q", amqp.Delivery{Timestamp: time.Unix(5, 0)}); !d.PublishedAt.Equal(time.Unix(5, 0)) || d.Headers == nil {
		t.Fatalf("fallback: %+v", d)
	}
}

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    bus.DriverOptions
		wantErr bool
	}{
		{"none", nil, false},
		{"quorum", Options{QueueType: Quorum, Prefetch: 64}, false},
		{"pointer", &Options{QueueType: Classic}, false},
		{"stream", Options{QueueType: "stream"}, true},
		{"prefetch", Options{Prefetch: 70000}, true},
		{"other broker", otherOptions{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := options(bus.DriverConfig{Options: tc.opts})
			if (err != nil) != tc.wantErr {
				t.Fatalf("options(%+v) = %+v, %v", tc.opts, o, err)
			}
			if err == nil && (o.QueueType == "" || o.Prefetch == 0 || o.Heartbeat == 0) {
				t.Fatalf("defaults not applied: %+v", o)
			}
		})
	}
}

func TestQueueTypeOf(t *testing.T) {
	o := Options{QueueType: Quorum}
	for _, tc := range []struct {
		q    bus.Queue
		want QueueType
	}{
		{bus.Queue{Name: "a"}, Quorum},
		{bus.Queue{Name: "obs", Unreplicated: true}, Classic},
	} {
		if got := o.typeOf(tc.q); got != tc.want {
			t.Errorf("typeOf(%+v) = %s, want %s", tc.q, got, tc.want)
		}
	}
}

type otherOptions struct{}

func (otherOptions) Broker() string  { return "kafka" }
func (otherOptions) Validate() error { return nil }

// Configs holding the options (eda.Config) are compared as values; an
// uncomparable field here would make that panic.
func TestOptionsAreComparable(t *testing.T) {
	var a, b bus.DriverOptions = Options{QueueType: Classic}, Options{QueueType: Classic}
	if a != b {
		t.Fatal("equal options compare unequal")
	}
}
