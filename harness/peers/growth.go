package peers

import "time"

// Growth is how a soak's resident set moved once it settled.
type Growth struct {
	// BaseBytes is the first sample at or after the warm-up: start-up
	// allocations (connection pools, JIT of k6's scripts) are not growth.
	BaseBytes int64 `json:"base_bytes"`
	LastBytes int64 `json:"last_bytes"`
	MaxBytes  int64 `json:"max_bytes"` // the largest sample after the warm-up
	// Bytes is LastBytes - BaseBytes. MaxBytes - BaseBytes is the figure
	// judged: the last sample may just follow a garbage collection.
	Bytes     int64 `json:"growth_bytes"`
	MaxGrowth int64 `json:"max_growth_bytes"`
	Samples   int   `json:"samples_after_warmup"`
}

// GrowthAfter measures growth over the samples taken at or after warmup.
// ok is false when fewer than two samples are left: a soak shorter than its
// warm-up says nothing about growth.
func GrowthAfter(samples []Sample, warmup time.Duration) (g Growth, ok bool) {
	var after []Sample
	for _, s := range samples {
		if s.At >= warmup {
			after = append(after, s)
		}
	}
	if len(after) < 2 {
		return Growth{Samples: len(after)}, false
	}
	g = Growth{BaseBytes: after[0].RSSBytes, LastBytes: after[len(after)-1].RSSBytes, Samples: len(after)}
	for _, s := range after {
		g.MaxBytes = max(g.MaxBytes, s.RSSBytes)
	}
	g.Bytes = g.LastBytes - g.BaseBytes
	g.MaxGrowth = g.MaxBytes - g.BaseBytes
	return g, true
}
