package results

import "github.com/edabench/edabench/harness/stats"

// LatencyWithin is a twin's (or a phase's) within-run intervals for its
// ack and end-to-end latencies: what one run says of how firmly its own
// percentiles rest on its seconds (harness/stats.WithinRun, a block
// bootstrap over the per-second histograms). nil in a summary written
// before they were recorded, or for a series with no values.
type LatencyWithin struct {
	Ack *WithinRun `json:"ack,omitempty"`
	E2E *WithinRun `json:"e2e,omitempty"`
}

// WithinRun is one latency series' intervals and how they were made.
type WithinRun struct {
	// Method names the interval (stats.WithinMethod).
	Method string `json:"method"`
	// Windows is the number of windows resampled (seconds, or merged
	// seconds on a long run) and BlockWindows the block length in windows.
	Windows      int `json:"windows"`
	BlockWindows int `json:"block_windows"`
	Replicates   int `json:"replicates"`
	// P50 and P99: the run's figure (median field, the same as the
	// summary's p50_ms and p99_ms) with its 95% interval (lo, hi).
	P50 stats.Interval `json:"p50_ms"`
	P99 stats.Interval `json:"p99_ms"`
}

// NewWithinRun computes one series' intervals over its windows; nil when
// no window holds a value.
func NewWithinRun(ws []stats.Window) *WithinRun {
	iv := stats.WithinRun(ws, 50, 99)
	if !iv[0].Valid() {
		return nil
	}
	return &WithinRun{Method: stats.WithinMethod, Windows: iv[0].N, BlockWindows: stats.BlockWindows(iv[0].N),
		Replicates: stats.WithinReplicates, P50: iv[0], P99: iv[1]}
}

// Interval is the series' interval of percentile 50 or 99; an invalid
// interval (Valid false) for another or when w is nil.
func (w *WithinRun) Interval(pct float64) stats.Interval {
	switch {
	case w == nil:
	case pct == 50:
		return w.P50
	case pct == 99:
		return w.P99
	}
	return stats.Interval{}
}
