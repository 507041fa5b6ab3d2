// Package bitset is a fixed-size set of order sequence numbers that load
// workers and observers update concurrently without locks.
package bitset

import "sync/atomic"

// Set holds the numbers below its size; larger ones are ignored.
type Set struct{ w []atomic.Uint64 }

// New sizes a set for [0, n).
func New(n int64) Set { return Set{w: make([]atomic.Uint64, n/64+1)} }

// Add adds i and reports whether it was absent (false beyond the size).
func (b Set) Add(i uint64) bool {
	if i/64 >= uint64(len(b.w)) {
		return false
	}
	w, m := &b.w[i/64], uint64(1)<<(i%64)
	for {
		old := w.Load()
		if old&m != 0 {
			return false
		}
		if w.CompareAndSwap(old, old|m) {
			return true
		}
	}
}

// Has reports whether i is in the set.
func (b Set) Has(i uint64) bool {
	return i/64 < uint64(len(b.w)) && b.w[i/64].Load()&(uint64(1)<<(i%64)) != 0
}

// Each calls f for every member, in ascending order.
func (b Set) Each(f func(uint64)) {
	for wi := range b.w {
		v := b.w[wi].Load()
		for v != 0 {
			bit := uint64(0)
			for v&(1<<bit) == 0 {
				bit++
			}
			f(uint64(wi)*64 + bit)
			v &^= 1 << bit
		}
	}
}
