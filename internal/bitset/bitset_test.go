package bitset

import (
	"sync"
	"testing"
)

func TestSetConcurrentAddOnce(t *testing.T) {
	s := New(10000)
	var wg sync.WaitGroup
	var added [8]int
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := uint64(0); i < 10000; i += 3 {
				if s.Add(i) {
					added[g]++
				}
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, n := range added {
		total += n
	}
	var members []uint64
	s.Each(func(i uint64) { members = append(members, i) })
	if total != 3334 || len(members) != 3334 || members[1] != 3 || !s.Has(9999) || s.Has(1) {
		t.Fatalf("added %d, members %d", total, len(members))
	}
	if s.Add(1 << 40) {
		t.Fatal("added beyond the size")
	}
}
