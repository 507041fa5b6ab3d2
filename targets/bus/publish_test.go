package bus_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/edabench/edabench/targets/bus"
)

// scripted is a driver whose publish attempts answer from a script, and
// which records every attempt the layer made.
type scripted struct {
	mu         sync.Mutex
	answers    []error // one per attempt; nil once exhausted
	attempts   []bus.Outgoing
	reconnects int
}

func (s *scripted) Publish(_ context.Context, m bus.Outgoing) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts = append(s.attempts, m)
	if len(s.answers) == 0 {
		return nil
	}
	err := s.answers[0]
	s.answers = s.answers[1:]
	return err
}

func (s *scripted) Reconnect(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reconnects++
	return nil
}

func (s *scripted) Declare(context.Context, bus.Topology) error { return nil }
func (s *scripted) Subscribe(context.Context, string, int) (bus.Subscription, error) {
	return nil, errors.New("scripted: no consuming")
}
func (s *scripted) Prefetch() int { return 1 }
func (s *scripted) Close() error  { return nil }

func (s *scripted) kind() bus.Kind {
	return bus.Kind{Name: "scripted",
		Open:   func(context.Context, bus.DriverConfig) (bus.Driver, error) { return s, nil },
		Delete: func(context.Context, bus.DriverConfig, bus.Topology) error { return nil }}
}

// The layer's publish loop over a driver's single attempts: what it
// retries, what it gives up on, and that every attempt of one Publish
// carries the same identity and first-publish time.
func TestPublishRetriesOverTheDriver(t *testing.T) {
	lost := fmt.Errorf("%w: test", bus.ErrConnectionLost)
	lostWritten := fmt.Errorf("%w: %w: test", bus.ErrConnectionLost, bus.ErrUnconfirmed)
	nacked := fmt.Errorf("%w: test", bus.ErrNacked)
	tests := []struct {
		name           string
		answers        []error
		wantErr        error // nil: confirmed
		wantAttempts   int
		wantReconnects int
		wantEvents     map[bus.EventKind]int
	}{
		{"confirmed at once", nil, nil, 1, 0,
			map[bus.EventKind]int{bus.EventPublished: 1, bus.EventConfirmed: 1}},
		{"lost before the write, then confirmed", []error{lost}, nil, 2, 1,
			map[bus.EventKind]int{bus.EventPublished: 0, bus.EventRepublished: 1, bus.EventConfirmed: 1}},
		{"lost after the write, republished", []error{lostWritten, lostWritten}, nil, 3, 2,
			map[bus.EventKind]int{bus.EventPublished: 1, bus.EventRepublished: 2, bus.EventConfirmed: 1}},
		{"nacked once", []error{nacked}, nil, 2, 0,
			map[bus.EventKind]int{bus.EventNacked: 1, bus.EventConfirmed: 1}},
		{"nacked past MaxNacks", []error{nacked, nacked, nacked}, bus.ErrNacked, 3, 0,
			map[bus.EventKind]int{bus.EventNacked: 3, bus.EventConfirmed: 0}},
		{"unroutable", []error{fmt.Errorf("%w: test", bus.ErrUnroutable)}, bus.ErrUnroutable, 1, 0,
			map[bus.EventKind]int{bus.EventReturned: 1, bus.EventConfirmed: 0}},
		{"never sendable", []error{fmt.Errorf("%w: too long", bus.ErrNotPublished)}, bus.ErrNotPublished, 1, 0,
			map[bus.EventKind]int{bus.EventPublished: 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &scripted{answers: tc.answers}
			var mu sync.Mutex
			events := map[bus.EventKind]int{}
			c, err := bus.Dial(t.Context(), d.kind(), bus.WithMaxNacks(2), bus.WithObserver(bus.ObserverFunc(func(e bus.Event) {
				mu.Lock()
				events[e.Kind]++
				mu.Unlock()
			})))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			err = c.Publish(t.Context(), "k", bus.Message{CorrelationID: "o1"})
			if (tc.wantErr == nil) != (err == nil) || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Fatalf("Publish = %v, want %v", err, tc.wantErr)
			}
			if len(d.attempts) != tc.wantAttempts || d.reconnects != tc.wantReconnects {
				t.Fatalf("%d attempts, %d reconnects; want %d, %d", len(d.attempts), d.reconnects, tc.wantAttempts, tc.wantReconnects)
			}
			first := d.attempts[0]
			if first.MessageID == "" || first.PublishedNS == 0 || first.CorrelationID != "o1" {
				t.Fatalf("first attempt not stamped: %+v", first)
			}
			for i, a := range d.attempts[1:] {
				if a.MessageID != first.MessageID || a.PublishedNS != first.PublishedNS {
					t.Errorf("attempt %d restamped: %s@%d, first %s@%d", i+2, a.MessageID, a.PublishedNS, first.MessageID, first.PublishedNS)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			for kind, n := range tc.wantEvents {
				if events[kind] != n {
					t.Errorf("%d %s events, want %d (all: %v)", events[kind], kind, n, events)
				}
			}
		})
	}
}
