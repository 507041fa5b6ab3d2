package completion

import (
	"log/slog"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/attack"
	"github.com/edabench/edabench/internal/bitset"
	"github.com/edabench/edabench/targets/eda"
	"github.com/edabench/edabench/targets/eda/orderends"
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
