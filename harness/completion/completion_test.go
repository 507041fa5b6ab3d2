package completion

import (
	"log/slog"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/attack"
	"github.com/edabench/edabench/internal/bitset"
	"github.com/edabench/edabench/targets/api/orderpb"
	"github.com/edabench/edabench/targets/eda"
	"github.com/edabench/edabench/targets/eda/orderends"
	"google.golang.org/protobuf/proto"
)

// The observer's bookkeeping, without a broker: each order reported once,
// duplicates counted, another run's orders ignored.
func TestHandleReportsEachOrderOnce(t *testing.T) {
	const size = 100
	var got []Event
	o := &Observer{run: "r1", on: func(e Event) { got = append(got, e) }, log: slog.Default(),
		seen: bitset.New(size), completed: bitset.New(size), size: size}
	now := time.Now()
	deliver := func(run string, seq uint64, key string) {
		t.Helper()
		end := orderends.End{OrderID: attack.OrderID(run, seq, now, now), Completed: key == eda.KeyOrderCompleted, At: now}
		if err := o.handle(end); err != nil {
			t.Fatal(err)
		}
	}
	deliver("r1", 1, eda.KeyOrderCompleted)
	deliver("r1", 1, eda.KeyOrderCompleted) // redelivered
	deliver("r1", 2, eda.KeyOrderFailed)
	deliver("r0", 3, eda.KeyOrderCompleted)   // an earlier run's
	deliver("r1", 150, eda.KeyOrderCompleted) // beyond the bound: reported, not deduplicated
	deliver("r1", 150, eda.KeyOrderCompleted)

	if len(got) != 4 || o.Count() != 4 || o.Duplicates() != 1 {
		t.Fatalf("reported %d (Count %d), duplicates %d; want 4, 4, 1", len(got), o.Count(), o.Duplicates())
	}
	for _, tc := range []struct {
		seq             uint64
		seen, completed bool
	}{{1, true, true}, {2, true, false}, {3, false, false}, {4, false, false}} {
		if seen, completed := o.End(tc.seq); seen != tc.seen || completed != tc.completed {
			t.Errorf("End(%d) = %v, %v; want %v, %v", tc.seq, seen, completed, tc.seen, tc.completed)
		}
	}
	if got[0].Seq != 1 || !got[0].Completed || got[1].Seq != 2 || got[1].Completed {
		t.Errorf("events: %+v", got[:2])
	}
}

// BenchmarkHandle is the completion consumer's own work per order's end
// event once the broker client delivered it, what its span times:
// decode the event (as orderends does), parse the order ID, mark it seen
// and hand it on (for `make bench-micro`, issue 21).
func BenchmarkHandle(b *testing.B) {
	const size = 1 << 20
	o := &Observer{run: "r1", on: func(Event) {}, log: slog.Default(),
		seen: bitset.New(size), completed: bitset.New(size), size: size}
	now := time.Now()
	bodies := make([][]byte, 1<<16)
	for i := range bodies {
		ev := &orderpb.Event{Order: &orderpb.OrderData{OrderId: attack.OrderID("r1", uint64(i), now, now)}}
		var err error
		if bodies[i], err = proto.Marshal(ev); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i > 0 && i%len(bodies) == 0 {
			// Every end a first one, as in a run: duplicates return early.
			b.StopTimer()
			o.seen, o.completed = bitset.New(size), bitset.New(size)
			b.StartTimer()
		}
		ev := &orderpb.Event{}
		if err := proto.Unmarshal(bodies[i%len(bodies)], ev); err != nil {
			b.Fatal(err)
		}
		if err := o.handle(orderends.End{OrderID: ev.GetOrder().GetOrderId(), Completed: true, At: now}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
