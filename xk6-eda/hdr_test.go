package eda

import (
	"os"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/record"
)

// The hdr option's interval logs hold every value once, each in the
// second it was recorded in, on absolute time: what edabench merge needs
// to join several k6 instances exactly.
func TestHDRIntervalLogs(t *testing.T) {
	start := time.Now().Add(-3 * time.Second).Truncate(time.Millisecond)
	h := newHDRPair(start)
	for i, vs := range [][]time.Duration{{time.Millisecond, 2 * time.Millisecond}, {5 * time.Millisecond}, {}} {
		for _, v := range vs {
			h.recordAck(v)
			h.recordE2E(2 * v)
		}
		h.cut(start.Add(time.Duration(i+1) * time.Second))
	}
	h.recordAck(7 * time.Millisecond) // cut by write
	dir := t.TempDir()
	if err := h.write(dir, "rr"); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(hlogPath(dir, "rr", "ack"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ivs, err := record.ReadIntervals(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(ivs) != 4 {
		t.Fatalf("%d intervals, want 4 (three cuts and the write's)", len(ivs))
	}
	var n int64
	for i, iv := range ivs {
		n += iv.TotalCount()
		if d := iv.StartTimeMs() - start.Add(time.Duration(i)*time.Second).UnixMilli(); d < -1 || d > 0 {
			t.Errorf("interval %d starts %d ms off its second", i, d)
		}
	}
	total, _ := h.ack.Snapshot()
	if n != 4 || total.TotalCount() != n {
		t.Errorf("the intervals hold %d values, the total %d; want 4 in both", n, total.TotalCount())
	}
}
