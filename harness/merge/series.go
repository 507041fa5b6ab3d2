package merge

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"time"

	"github.com/edabench/edabench/harness/output"
	"github.com/edabench/edabench/harness/results"
)

// mergeRows adds the shards' timeseries.csv rows of twin second by
// second (t_s counts from the shared time zero in every shard). Counts and
// in-flight requests add; the twin's queue depth and lag, which every
// shard sampled from the same queues, are the largest; the percentiles
// are left to the merged intervals.
func mergeRows(twin string, shards []shard) (map[int]output.SeriesRow, error) {
	rows := map[int]output.SeriesRow{}
	for _, sh := range shards {
		ts, err := results.ReadTimeseries(sh.dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue // an interrupted shard may have none; its counts are in summary.json
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInput, sh.dir, err)
		}
		s := ts.Twin(twin)
		if s == nil {
			continue
		}
		num := func(col string, i int) float64 {
			v := s.Num(col)
			if i >= len(v) || math.IsNaN(v[i]) {
				return 0
			}
			return v[i]
		}
		phases := s.Text(results.ColPhase)
		for i, t := range s.T {
			k := int(t)
			r := rows[k]
			r.Sec = k
			if r.Phase == "" && i < len(phases) {
				r.Phase = phases[i]
			}
			r.Offered += int64(num(results.ColOffered, i))
			r.Replies += int64(num(results.ColReplies, i))
			r.Errors += int64(num(results.ColErrors, i))
			r.Timeouts += int64(num(results.ColTimeouts, i))
			r.Dropped += int64(num(results.ColDropped, i))
			r.Ended += int64(num(results.ColEnded, i))
			r.InFlight += int64(num(results.ColInFlight, i))
			r.Depth = max(r.Depth, int64(num(results.ColQueueDepth, i)))
			r.LagMs = max(r.LagMs, num(results.ColLagMs, i))
			rows[k] = r
		}
	}
	return rows, nil
}

// hdrTime is a histogram timestamp (unix ms) as a time.
func hdrTime(ms int64) time.Time { return time.UnixMilli(ms) }
