package fault

import (
	"context"
	"strings"
	"testing"
)

func TestKillCheck(t *testing.T) {
	testChecks(t, []checkCase{
		{entry{"type": "kill", "target": "payment"}, nil},
		{entry{"type": "kill", "target": "gateway"}, nil},
		{entry{"type": "kill", "target": "broker"}, []string{"target"}},
		{entry{"type": "kill"}, []string{"target"}},
		// Another type's key is accepted and left alone, as it always was.
		{entry{"type": "kill", "target": "payment", "mean": "5ms"}, nil},
	})
}

// TestKillOfAStoppedService: nothing to kill is an error, and the service
// is not left marked as down on purpose, so its later exit is a crash.
func TestKillOfAStoppedService(t *testing.T) {
	tw := &fakeTwin{t: t}
	tw.start()
	tw.p.Kill()
	<-tw.p.Done()
	in := New(nil, tw, nil, nil)
	_, err := (&kill{}).Apply(context.Background(), in.env, "payment")
	if err == nil || !strings.Contains(err.Error(), "payment is not running") {
		t.Fatalf("err = %v, want payment is not running", err)
	}
	if in.Deliberate("payment") {
		t.Fatal("marked as killed on purpose, though the kill failed")
	}
}

// TestKillRunsBeforeDownFirst: the hook runs while the service is still
// alive (the queue depth's last reading of its counters), then it dies.
func TestKillRunsBeforeDownFirst(t *testing.T) {
	tw := &fakeTwin{t: t}
	tw.start()
	in := New(nil, tw, nil, nil)
	var seen []string
	in.BeforeDown(func(svc string) {
		if tw.p.Exited() {
			t.Errorf("BeforeDown(%s) ran after the service died", svc)
		}
		seen = append(seen, svc)
	})
	undo, err := (&kill{}).Apply(context.Background(), in.env, "payment")
	if err != nil {
		t.Fatal(err)
	}
	defer undo(context.Background())
	if len(seen) != 1 || seen[0] != "payment" {
		t.Errorf("BeforeDown saw %v, want [payment]", seen)
	}
	if !tw.p.Exited() {
		t.Error("payment still running after the kill")
	}
}
