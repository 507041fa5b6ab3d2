package load

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Shard is one of N generators sharing a schedule: the I-th (1-based) of
// N interleaved slices. The zero Shard is the whole schedule.
type Shard struct {
	I, N int
}

// MaxShards bounds N: beyond it a shard of a typical scenario would send
// a handful of requests, and a typo (--shard 1/40000) should fail loudly.
const MaxShards = 1024

// ParseShard reads "I/N" (1 <= I <= N <= MaxShards).
func ParseShard(v string) (Shard, error) {
	i, n, ok := strings.Cut(v, "/")
	if !ok {
		return Shard{}, fmt.Errorf("--shard %q: want I/N, e.g. 2/4 for the second of four generators", v)
	}
	si, err1 := strconv.Atoi(strings.TrimSpace(i))
	sn, err2 := strconv.Atoi(strings.TrimSpace(n))
	if err := errors.Join(err1, err2); err != nil {
		return Shard{}, fmt.Errorf("--shard %q: want I/N with whole numbers, e.g. 2/4: %w", v, err)
	}
	sh := Shard{I: si, N: sn}
	if err := sh.Check(); err != nil {
		return Shard{}, fmt.Errorf("--shard %q: %w", v, err)
	}
	return sh, nil
}

// Check refuses a shard out of range; the zero Shard passes.
func (sh Shard) Check() error {
	if sh == (Shard{}) {
		return nil
	}
	if sh.N < 1 || sh.N > MaxShards {
		return fmt.Errorf("shard count %d: want 1 to %d", sh.N, MaxShards)
	}
	if sh.I < 1 || sh.I > sh.N {
		return fmt.Errorf("shard %d of %d: want 1 to %d (the index is 1-based)", sh.I, sh.N, sh.N)
	}
	return nil
}

// Sharded says whether sh slices a schedule (N > 1).
func (sh Shard) Sharded() bool { return sh.N > 1 }

// Keeps says whether the schedule's arrival number g (0-based, all shards
// counted) belongs to sh.
func (sh Shard) Keeps(g int64) bool {
	if sh.N <= 1 {
		return true
	}
	return g%int64(sh.N) == int64(sh.I-1)
}

// String is "I/N", or "" for the whole schedule.
func (sh Shard) String() string {
	if sh == (Shard{}) {
		return ""
	}
	return strconv.Itoa(sh.I) + "/" + strconv.Itoa(sh.N)
}
