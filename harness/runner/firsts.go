package runner

import (
	"sync/atomic"
	"time"
)

// firstsResolution is how finely firsts keeps events: a fault's twin
// recovery is read to within it, which is far below the seconds a
// reconnect takes.
const firstsResolution = 10 * time.Millisecond

// firsts keeps, per slot of firstsResolution since start, the earliest and
// latest event in it, so that "the first event at or after t" can be read
// after the run for any t (a broker fault's serving mark) without keeping
// every event. Safe for concurrent use; the zero slot value means none.
type firsts struct {
	start    time.Time
	min, max []atomic.Int64 // nanoseconds since start, plus 1
}

func newFirsts(start time.Time, d time.Duration) *firsts {
	n := int(d/firstsResolution) + 1
	return &firsts{start: start, min: make([]atomic.Int64, n), max: make([]atomic.Int64, n)}
}

func (f *firsts) slot(t time.Time) (int, int64, bool) {
	off := t.Sub(f.start)
	if off < 0 {
		return 0, 0, false
	}
	i := int(off / firstsResolution)
	if i >= len(f.min) {
		return 0, 0, false
	}
	return i, int64(off) + 1, true
}

// record notes an event at t; events outside the run are not kept.
func (f *firsts) record(t time.Time) {
	i, v, ok := f.slot(t)
	if !ok {
		return
	}
	for {
		cur := f.min[i].Load()
		if (cur != 0 && cur <= v) || f.min[i].CompareAndSwap(cur, v) {
			break
		}
	}
	for {
		cur := f.max[i].Load()
		if cur >= v || f.max[i].CompareAndSwap(cur, v) {
			break
		}
	}
}

// after is the first event at or after t, to within firstsResolution
// (late, never early), and whether there was one.
func (f *firsts) after(t time.Time) (time.Time, bool) {
	i, v, ok := f.slot(t)
	if !ok {
		if t.Before(f.start) {
			i, v = 0, 0
		} else {
			return time.Time{}, false
		}
	}
	at := func(n int64) time.Time { return f.start.Add(time.Duration(n - 1)) }
	// In t's own slot only the extremes are known: the earliest if it is
	// not before t, else the latest (which may not be the first after t).
	if lo := f.min[i].Load(); lo != 0 && lo >= v {
		return at(lo), true
	}
	if hi := f.max[i].Load(); hi >= v && hi != 0 {
		return at(hi), true
	}
	for j := i + 1; j < len(f.min); j++ {
		if lo := f.min[j].Load(); lo != 0 {
			return at(lo), true
		}
	}
	return time.Time{}, false
}
