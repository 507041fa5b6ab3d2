package bus

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"testing"
	"time"
)

func TestBackoffIsCappedAndJittered(t *testing.T) {
	min, max := 100*time.Millisecond, 5*time.Second
	for failures := 1; failures < 40; failures++ {
		want := min << (failures - 1)
		if failures > 7 || want > max {
			want = max
		}
		for range 50 {
			d := Backoff(min, max, failures)
			if d < want/2 || d > want {
				t.Fatalf("Backoff(%d) = %s, want in [%s, %s]", failures, d, want/2, want)
			}
		}
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

func TestPoison(t *testing.T) {
	base := errors.New("boom")
	p := Poison(base)
	if !errors.Is(p, ErrPoison) || !errors.Is(fmt.Errorf("ctx: %w", p), ErrPoison) || errors.Is(base, ErrPoison) || !errors.Is(p, base) {
		t.Fatal("Poison detection broken")
	}
}

func TestOptionsValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"unnamed queue", []Option{WithQueue(Queue{})}},
		{"queue twice", []Option{WithQueue(Queue{Name: "a"}), WithQueue(Queue{Name: "a"})}},
		{"negative attempts", []Option{WithQueue(Queue{Name: "a", MaxAttempts: -1})}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o Options
			for _, f := range tc.opts {
				f(&o)
			}
			if err := o.applyDefaults(); err == nil {
				t.Errorf("options %+v accepted", o.Queues)
			}
		})
	}
	var o Options
	if err := o.applyDefaults(); err != nil || o.Exchange != DefaultExchange || o.MaxNacks != DefaultMaxNacks {
		t.Fatalf("defaults: %+v, %v", o, err)
	}
}

// TestScopeSettles pins the ack-after-confirm bookkeeping: a delivery's
// scope is settled only when every publish made through it ended, and
// reports the first that failed.
func TestScopeSettles(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name    string
		results []error
		wantErr bool
	}{
		{"no publish", nil, false},
		{"all confirmed", []error{nil, nil}, false},
		{"one unconfirmed", []error{nil, boom}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScope()
			ctx := withScope(context.Background(), s)
			for range tc.results {
				scopeOf(ctx).begin()
			}
			for _, err := range tc.results {
				scopeOf(ctx).end(err)
			}
			err := s.settled(context.Background())
			if (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, ErrPublishUnconfirmed)) {
				t.Fatalf("settled = %v, want error %v", err, tc.wantErr)
			}
		})
	}
	t.Run("still in flight", func(t *testing.T) {
		s := newScope()
		s.begin()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := s.settled(ctx); !errors.Is(err, ErrPublishUnconfirmed) {
			t.Fatalf("settled with a publish in flight = %v, want ErrPublishUnconfirmed", err)
		}
	})
	var nilScope *scope
	nilScope.begin() // outside a handler Publish has no scope
	nilScope.end(nil)
}

func TestDeliveryAccessors(t *testing.T) {
	at := time.Unix(1700000000, 123456789)
	for _, tc := range []struct {
		name        string
		d           Delivery
		attempt     int
		order       string
		publishedNS int64
	}{
		{"first", Delivery{CorrelationID: "o1", PublishedAt: at}, 1, "o1", at.UnixNano()},
		{"third, no time", Delivery{CorrelationID: "o2", DeliveryCount: 2}, 3, "o2", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.d.Attempt() != tc.attempt || tc.d.OrderID() != tc.order || tc.d.PublishedNS() != tc.publishedNS {
				t.Fatalf("Attempt %d, OrderID %q, PublishedNS %d; want %d, %q, %d",
					tc.d.Attempt(), tc.d.OrderID(), tc.d.PublishedNS(), tc.attempt, tc.order, tc.publishedNS)
			}
		})
	}
}
