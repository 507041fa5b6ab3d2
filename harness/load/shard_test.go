package load

import (
	"slices"
	"testing"
	"time"
)

type arrival struct {
	off   time.Duration
	phase string
}

func drainArrivals(t *testing.T, s *Schedule) []arrival {
	t.Helper()
	var out []arrival
	for {
		off, ph, ok := s.Next()
		if !ok {
			return out
		}
		out = append(out, arrival{off, ph})
	}
}

// The N shards of a schedule together are that schedule, arrival for
// arrival: same offsets, same phases, nothing twice, nothing missing.
func TestShardsUnionIsTheSchedule(t *testing.T) {
	stages := []Stage{
		{Name: "warm", Duration: 2 * time.Second, From: 50, To: 400},
		{Name: "steady", Duration: 3 * time.Second, From: 400, To: 400},
		{Name: "cool", Duration: time.Second, From: 400, To: 0},
	}
	for _, arr := range []Arrival{Uniform, Poisson, OnOff} {
		for _, n := range []int{1, 2, 3, 4, 7} {
			for _, seed := range []uint64{1, 42} {
				whole, err := NewSchedule(stages, arr, seed)
				if err != nil {
					t.Fatal(err)
				}
				want := drainArrivals(t, whole)
				var union []arrival
				per := make([]int, n)
				for i := 1; i <= n; i++ {
					s, err := NewSchedule(stages, arr, seed, WithShard(Shard{I: i, N: n}))
					if err != nil {
						t.Fatal(err)
					}
					got := drainArrivals(t, s)
					per[i-1] = len(got)
					if int64(len(got)) != s.Yielded() {
						t.Errorf("%s n=%d shard %d: Yielded %d, drained %d", arr, n, i, s.Yielded(), len(got))
					}
					union = append(union, got...)
				}
				slices.SortStableFunc(union, func(a, b arrival) int { return int(a.off - b.off) })
				if !slices.Equal(union, want) {
					t.Errorf("%s n=%d seed=%d: the shards' union (%d arrivals) differs from the schedule (%d)", arr, n, seed, len(union), len(want))
				}
				// Interleaved slices: no shard is more than one arrival ahead of another.
				if slices.Max(per)-slices.Min(per) > 1 {
					t.Errorf("%s n=%d: shard sizes %v are not interleaved", arr, n, per)
				}
			}
		}
	}
}

// Shard i's arrivals are exactly the whole schedule's positions i-1, i-1+N, ...
func TestShardKeepsEveryNth(t *testing.T) {
	stages := []Stage{{Name: "s", Duration: time.Second, From: 100, To: 100}}
	whole, _ := NewSchedule(stages, Poisson, 7)
	all := drainArrivals(t, whole)
	s, err := NewSchedule(stages, Poisson, 7, WithShard(Shard{I: 3, N: 4}))
	if err != nil {
		t.Fatal(err)
	}
	got := drainArrivals(t, s)
	for k, a := range got {
		if w := all[2+4*k]; a != w {
			t.Fatalf("arrival %d of shard 3/4 = %v, want the schedule's arrival %d = %v", k, a, 2+4*k, w)
		}
	}
}

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Shard
		ok   bool
	}{
		{"1/1", Shard{1, 1}, true},
		{"2/4", Shard{2, 4}, true},
		{"4/4", Shard{4, 4}, true},
		{" 3 / 8 ", Shard{3, 8}, true},
		{"0/4", Shard{}, false},
		{"5/4", Shard{}, false},
		{"1/0", Shard{}, false},
		{"4", Shard{}, false},
		{"a/b", Shard{}, false},
		{"1/100000", Shard{}, false},
	} {
		got, err := ParseShard(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	if _, err := NewSchedule([]Stage{{Duration: time.Second, From: 1, To: 1}}, Uniform, 1, WithShard(Shard{I: 5, N: 4})); err == nil {
		t.Error("NewSchedule accepted shard 5/4")
	}
}
