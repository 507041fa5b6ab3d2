package runner

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// readPolls reads a recorded drain, one quietPoll a line.
func readPolls(t *testing.T, name string) []quietPoll {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "quiesce", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []quietPoll
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var p quietPoll
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// firstQuiescent is the index of the first poll q calls quiescent, -1 if none.
func firstQuiescent(q *quiescence, polls []quietPoll) int {
	for i, p := range polls {
		if q.observe(p) {
			return i
		}
	}
	return -1
}

// TestQuiescenceAfterRestart replays a drain after a broker restart,
// reconstructed from a run's journals and service logs (the counted and
// broker figures per poll were not recorded then; the queue names are
// shortened): an
// OrderPlaced written before the broker stopped and never confirmed (its
// order indeterminate) waits in the inventory queue, uncounted, so every
// counted depth reads zero from the first poll; the order then moves
// through payment (counted), its end waits in the harness's queue, and the
// harness sees it at poll 4. Counted depths alone (the old rule: two polls
// at zero) would have let the audit read the journals at poll 1, with the
// order's effects applied and its end not yet seen: orphaned effects.
func TestQuiescenceAfterRestart(t *testing.T) {
	polls := readPolls(t, "restart-late-order.jsonl")
	counted := newQuiescence(true, 0)
	var old int
	for old = range polls {
		if allZero(polls[old].Counted) && old > 0 && allZero(polls[old-1].Counted) {
			break
		}
	}
	if old != 1 {
		t.Fatalf("the recording should show the old rule stopping at poll 1, got %d", old)
	}
	if got := firstQuiescent(counted, polls); got >= 4 {
		t.Fatalf("counted depths alone: quiescent at %d, want before the end at poll 4 (the recording no longer shows the flaw)", got)
	}
	// The rule after a fault: the broker's figures at zero and no new end,
	// for the broker's freshness (5 s) from poll 5, the first after the end.
	if got := firstQuiescent(newQuiescence(false, 5*time.Second), polls); got != 10 {
		t.Fatalf("after a fault: quiescent at poll %d, want 10", got)
	}
}

// TestQuiescenceClean: in a clean run the counted depths are exact, so a
// stale broker figure (a quorum queue's, moving every 5 s) does not hold
// the drain, but a new end still does.
func TestQuiescenceClean(t *testing.T) {
	at := time.Unix(0, 0)
	poll := func(i int, counted, broker, ends int64) quietPoll {
		return quietPoll{At: at.Add(time.Duration(i) * time.Second), Counted: map[string]int64{"q": counted},
			Broker: map[string]int64{"q": broker}, Ends: ends}
	}
	polls := []quietPoll{poll(0, 3, 9, 10), poll(1, 0, 9, 13), poll(2, 0, 9, 14), poll(3, 0, 9, 14), poll(4, 0, 9, 14)}
	if got := firstQuiescent(newQuiescence(true, 0), polls); got != 4 {
		t.Fatalf("clean: quiescent at poll %d, want 4 (two quiet polls after the last end)", got)
	}
	if got := firstQuiescent(newQuiescence(false, 0), polls); got != -1 {
		t.Fatalf("after a fault: quiescent at poll %d with the broker's figure at 9, want never", got)
	}
}

// TestQuiescenceFailedPoll: a poll that failed (the broker restarting)
// breaks the quiet: what it could not see may be in flight.
func TestQuiescenceFailedPoll(t *testing.T) {
	at := time.Unix(0, 0)
	zero := map[string]int64{"q": 0}
	var polls []quietPoll
	for i := range 8 {
		p := quietPoll{At: at.Add(time.Duration(i) * time.Second), Counted: zero, Broker: zero}
		if i == 2 {
			p = quietPoll{At: p.At, Err: "connection refused"}
		}
		polls = append(polls, p)
	}
	if got := firstQuiescent(newQuiescence(false, 2*time.Second), polls); got != 5 {
		t.Fatalf("quiescent at poll %d, want 5 (polls 0 and 1 span only 1 s; 3 to 5 span 2 s)", got)
	}
}

// TestQuiescenceStaleFigures replays the hybrid twin's drain polls after a
// broker restart as a run logged them (at the log's 1 s resolution; the
// queue names without the twin's prefix). The counted depths and the end
// count settle at poll 3, while the broker's figures still show the
// backlog of seconds before (gateway 2107, inventory 375): stale, they
// change to zero only at poll 6. The harness's queue read zero from poll
// 2, a figure taken before the quiet began, so it is trusted only once
// the quiet is as old as the broker's figures may be: poll 8.
func TestQuiescenceStaleFigures(t *testing.T) {
	polls := readPolls(t, "hybrid-restart-stale-figures.jsonl")
	if got := firstQuiescent(newQuiescence(true, 5*time.Second), polls); got != 4 {
		t.Fatalf("clean run's rule: quiescent at poll %d, want 4", got)
	}
	if got := firstQuiescent(newQuiescence(false, 5*time.Second), polls); got != 8 {
		t.Fatalf("after a fault: quiescent at poll %d, want 8", got)
	}
}

// TestQuiescenceFreshFigure: a zero figure seen to change after the quiet
// began was taken during it, and needs no wait for the broker's freshness.
func TestQuiescenceFreshFigure(t *testing.T) {
	at := time.Unix(0, 0)
	poll := func(i int, broker int64) quietPoll {
		return quietPoll{At: at.Add(time.Duration(i) * time.Second), Counted: map[string]int64{"q": 0},
			Broker: map[string]int64{"q": broker}, Ends: 7}
	}
	polls := []quietPoll{poll(0, 4), poll(1, 4), poll(2, 0), poll(3, 0)}
	if got := firstQuiescent(newQuiescence(false, 5*time.Second), polls); got != 2 {
		t.Fatalf("quiescent at poll %d, want 2 (the figure changed to zero after the quiet began at 0)", got)
	}
}
