package fault

import (
	"context"
	"testing"
	"time"
)

func TestPauseCheck(t *testing.T) {
	testChecks(t, []checkCase{
		{entry{"type": "pause", "target": "shipping"}, nil},
		{entry{"type": "pause", "target": "billing"}, []string{"target"}},
		{entry{"type": "pause", "target": "shipping", "duration": "0s"}, []string{"duration"}},
		{entry{"type": "pause", "target": "shipping", "at": "-1s"}, []string{"at"}},
	})
}

// TestPauseUndoOfAnExitedService: the undo of a service that died while
// frozen has nothing to thaw, and says so by succeeding.
func TestPauseUndoOfAnExitedService(t *testing.T) {
	tw := &fakeTwin{t: t}
	tw.start()
	in := New(nil, tw, nil, nil)
	undo, err := (&pause{}).Apply(context.Background(), in.env, "shipping")
	if err != nil {
		t.Fatal(err)
	}
	// SIGSTOP lands asynchronously.
	deadline := time.Now().Add(5 * time.Second)
	for state(t, tw.p.PID()) != "T" && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if s := state(t, tw.p.PID()); s != "T" {
		t.Fatalf("state %s after pause, want T (stopped)", s)
	}
	tw.p.Kill()
	<-tw.p.Done()
	if err := undo(context.Background()); err != nil {
		t.Fatalf("undo: %v", err)
	}
}
