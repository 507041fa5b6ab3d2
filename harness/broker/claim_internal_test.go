package broker

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/claims"
	"github.com/edabench/edabench/harness/nodeproc"
)

func TestTopologyClaims(t *testing.T) {
	tp := Topology{Prefixes: []string{"eb1"}, Queues: []string{"ext.harness"}, Exchanges: []string{"x.orders"}}
	for _, tc := range []struct {
		name          string
		wantQ, wantEx bool
	}{
		{name: "eb1.payment", wantQ: true, wantEx: true},
		{name: "eb1.payment.dlq", wantQ: true, wantEx: true},
		{name: "eb1", wantQ: true, wantEx: true},
		{name: "eb10.payment"},
		{name: "eb1x"},
		{name: "ext.harness", wantQ: true},
		{name: "ext.harness.dlq", wantQ: true},
		{name: "ext.gateway"},
		{name: "x.orders", wantEx: true},
		{name: "x.orders.dlx", wantEx: true},
		{name: "x.orders.other"},
	} {
		if got := claimsQueue(tp, tc.name); got != tc.wantQ {
			t.Errorf("claimsQueue(%q) = %v, want %v", tc.name, got, tc.wantQ)
		}
		if got := claimsExchange(tp, tc.name); got != tc.wantEx {
			t.Errorf("claimsExchange(%q) = %v, want %v", tc.name, got, tc.wantEx)
		}
	}
}

func ownStart(t *testing.T) (pid int, ticks uint64) {
	t.Helper()
	pid = os.Getpid()
	ticks, err := nodeproc.StartTicks(pid)
	if err != nil {
		t.Fatalf("own start time: %v", err)
	}
	return pid, ticks
}

func TestClassify(t *testing.T) {
	self, ticks := ownStart(t)
	live := Record{PID: self, StartTicks: ticks, Topology: Topology{Prefixes: []string{"live"}, Queues: []string{"both.harness"}}}
	dead := Record{PID: self, StartTicks: ticks + 1, Topology: Topology{Prefixes: []string{"dead", "both"}}}
	inv := inventory{
		queues:    []string{"both.gateway", "both.harness", "dead.q", "dead.q.dlq", "live.q", "stray.q"},
		exchanges: []string{"dead.orders", "live.orders", "stray.orders"},
	}
	l := classify([]Record{live, dead}, inv)
	if len(l.Live) != 1 || len(l.Dead) != 1 {
		t.Fatalf("live %d, dead %d records; want 1 and 1", len(l.Live), len(l.Dead))
	}
	// both.harness is the live claim's, though the dead one's prefix covers it.
	if want := []string{"both.gateway", "dead.q", "dead.q.dlq"}; !slices.Equal(l.DeadQueues, want) {
		t.Errorf("DeadQueues = %v, want %v", l.DeadQueues, want)
	}
	if want := []string{"stray.q"}; !slices.Equal(l.Unclaimed, want) {
		t.Errorf("Unclaimed = %v, want %v", l.Unclaimed, want)
	}
	if want := []string{"stray.orders"}; !slices.Equal(l.UnclaimedExchanges, want) {
		t.Errorf("UnclaimedExchanges = %v, want %v", l.UnclaimedExchanges, want)
	}
}

func TestWithoutDerived(t *testing.T) {
	got := withoutDerived(map[string]bool{"a": true, "a.dlq": true, "b.dlq": true}, ".dlq")
	if want := []string{"a", "b.dlq"}; !slices.Equal(got, want) {
		t.Errorf("withoutDerived = %v, want %v", got, want)
	}
}

// A record round-trips through its file, and an unparseable file is
// reported, not taken for a dead owner.
func TestRecordsReadBack(t *testing.T) {
	n := &Node{cfg: Config{DataDir: t.TempDir()}}
	tp := Topology{Prefixes: []string{"p1"}}
	path, err := claims.Write(n.cfg.claimsDir(), tp)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(n.cfg.claimsDir()+"/garbage.json", []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, err := n.Records()
	if err == nil {
		t.Error("Records: no error for an unparseable record")
	}
	if len(recs) != 1 || recs[0].Path != path || recs[0].PID != os.Getpid() || !recs[0].Alive() ||
		!slices.Equal(recs[0].Topology.Prefixes, tp.Prefixes) || time.Since(recs[0].Created) > time.Hour {
		t.Fatalf("Records = %+v, want one live record of this process claiming %v at %s", recs, tp.Prefixes, path)
	}
}
