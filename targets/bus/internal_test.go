package bus

import (
	"errors"
	"fmt"
	"regexp"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

func TestBackoffIsCappedAndJittered(t *testing.T) {
	min, max := 100*time.Millisecond, 5*time.Second
	for failures := 1; failures < 40; failures++ {
		want := min << (failures - 1)
		if failures > 7 || want > max {
			want = max
		}
		for range 50 {
			d := backoff(min, max, failures)
			if d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %s, want in [%s, %s]", failures, d, want/2, want)
			}
		}
	}
}

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

func TestNewMessageIDIsUUIDv4(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := NewMessageID()
		if !re.MatchString(id) || seen[id] {
			t.Fatalf("bad or duplicate id %q", id)
		}
		seen[id] = true
	}
}

func TestToDelivery(t *testing.T) {
	pub := time.Unix(1700000000, 123456789)
	d := toDelivery("q", amqp.Delivery{
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
	if !d.PublishedAt.Equal(pub) || d.DeliveryCount != 3 || d.Attempt() != 4 || d.RoutingKey != "order.created" ||
		d.Exchange != "edabench.orders" || d.MessageID != "m" || d.CorrelationID != "o" || !d.Redelivered || d.Queue != "q" {
		t.Fatalf("toDelivery = %+v", d)
	}
	// Without the ns header PublishedAt falls back to the seconds timestamp.
	if d := toDelivery("q", amqp.Delivery{Timestamp: time.Unix(5, 0)}); !d.PublishedAt.Equal(time.Unix(5, 0)) || d.Headers == nil {
		t.Fatalf("fallback: %+v", d)
	}
}

func TestPoison(t *testing.T) {
	base := errTest("boom")
	p := Poison(base)
	if !errors.Is(p, ErrPoison) || !errors.Is(wrap(p), ErrPoison) || errors.Is(base, ErrPoison) || !errors.Is(p, base) {
		t.Fatal("Poison detection broken")
	}
	if !errors.Is(fmt.Errorf("x: %w", ErrPoison), ErrPoison) {
		t.Fatal("wrapped ErrPoison not detected")
	}
}

func TestOptionsValidation(t *testing.T) {
	for _, opts := range [][]Option{
		{WithQueue(Queue{})},
		{WithQueue(Queue{Name: "a"}), WithQueue(Queue{Name: "a"})},
		{WithQueue(Queue{Name: "a", Type: "stream"})},
		{WithQueue(Queue{Name: "a", MaxAttempts: -1})},
	} {
		var o Options
		for _, f := range opts {
			f(&o)
		}
		if err := o.applyDefaults(); err == nil {
			t.Errorf("options %+v accepted", o.Queues)
		}
	}
	var o Options
	if err := o.applyDefaults(); err != nil || o.Exchange != DefaultExchange || o.DLX != DefaultExchange+".dlx" || o.Heartbeat != DefaultHeartbeat {
		t.Fatalf("defaults: %+v, %v", o, err)
	}
}

type errTest string

func (e errTest) Error() string { return string(e) }

func wrap(err error) error { return &wrapped{err} }

type wrapped struct{ err error }

func (w *wrapped) Error() string { return "ctx: " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }
