package merge

import (
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/edabench/edabench/harness/output"
	"github.com/edabench/edabench/harness/procstat"
	"github.com/edabench/edabench/harness/record"
	"github.com/edabench/edabench/harness/results"
)

// seconds is one twin's merged intervals: by second since the shared
// time zero, each series' histogram, and the phase it was tagged with.
type seconds struct {
	his  map[int]*[output.Series]*hdrhistogram.Histogram
	tags map[int]string
}

// readIntervals unions the shards' interval logs of twin on absolute
// time: an interval belongs to the second its start is nearest to, so
// the shards' ticks, a few ms apart, fall into one merged interval.
func readIntervals(twin string, shards []shard, base int64) (*seconds, error) {
	s := &seconds{his: map[int]*[output.Series]*hdrhistogram.Histogram{}, tags: map[int]string{}}
	for _, sh := range shards {
		for i, name := range output.SeriesNames() {
			path := filepath.Join(sh.dir, twin+"."+name+".hlog")
			f, err := os.Open(path)
			if err != nil {
				return nil, fmt.Errorf("%w: shard %d/%d: %w (a shard's run folder keeps its .hlog logs; was it copied whole?)", ErrInput, sh.sh.Index, sh.sh.Count, err)
			}
			ivs, err := record.ReadIntervals(f)
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrInput, path, err)
			}
			for _, h := range ivs {
				k := int(math.Round(float64(h.StartTimeMs()-base) / 1000))
				k = max(k, 0)
				row := s.his[k]
				if row == nil {
					row = &[output.Series]*hdrhistogram.Histogram{}
					s.his[k] = row
				}
				if row[i], err = record.MergeInterval(row[i], h); err != nil {
					return nil, fmt.Errorf("%s: %w", path, err)
				}
				if _, ok := s.tags[k]; !ok && h.Tag() != "" {
					s.tags[k] = h.Tag()
				}
			}
		}
	}
	return s, nil
}

// mergeTwin merges one twin's figures and feeds its merged intervals and
// rows to the outputs, which write its files as a run would.
func mergeTwin(twin string, shards []shard, outs output.List) (*results.TwinResult, error) {
	base := shards[0].sh.StartAt
	for _, s := range shards {
		base = minTime(base, s.sh.StartAt)
	}
	secs, err := readIntervals(twin, shards, base.UnixMilli())
	if err != nil {
		return nil, err
	}
	rows, err := mergeRows(twin, shards)
	if err != nil {
		return nil, err
	}
	outs.TwinStarted(output.TwinStart{Name: twin, Start: base})
	var totals [output.Series]*hdrhistogram.Histogram
	for i := range totals {
		totals[i] = record.NewHistogram()
	}
	phases := map[string]*[output.Series]*hdrhistogram.Histogram{}
	var series []output.SeriesRow
	for _, k := range slices.Sorted(maps.Keys(secs.his)) {
		iv := secs.his[k]
		start, end := span(iv, base.UnixMilli())
		for i := range iv {
			if iv[i] == nil {
				iv[i] = record.NewHistogram()
			}
			iv[i].SetStartTimeMs(start)
			iv[i].SetEndTimeMs(end)
			if totals[i], err = record.MergeInterval(totals[i], iv[i]); err != nil {
				return nil, err
			}
		}
		row, ok := rows[k]
		if !ok {
			row = output.SeriesRow{Row: output.Row{Sec: k}}
		}
		if row.Phase == "" {
			row.Phase = secs.tags[k]
		}
		row.AckP50, row.AckP99 = quantile(iv[output.Ack], 50), quantile(iv[output.Ack], 99)
		row.E2EP50, row.E2EP99 = quantile(iv[output.E2E], 50), quantile(iv[output.E2E], 99)
		delete(rows, k)
		series = append(series, row)
		ph := phases[row.Phase]
		if ph == nil {
			ph = &[output.Series]*hdrhistogram.Histogram{}
			phases[row.Phase] = ph
		}
		for i := range iv {
			if ph[i], err = record.MergeInterval(ph[i], iv[i]); err != nil {
				return nil, err
			}
		}
		outs.Tick(output.Tick{Twin: twin, At: hdrTime(end), Interval: *iv, Row: row.Row})
	}
	// Seconds with counts but no interval (none should be: every tick
	// writes a line) still belong in the series.
	for _, k := range slices.Sorted(maps.Keys(rows)) {
		series = append(series, rows[k])
	}
	slices.SortFunc(series, func(a, b output.SeriesRow) int { return a.Sec - b.Sec })
	if err := outs.TwinEnded(output.TwinEnd{Name: twin, Totals: totals, Series: series}); err != nil {
		return nil, err
	}
	return twinResult(twin, shards, totals, phases), nil
}

// span is the merged interval's start and end: the earliest start (not
// before the log's base, which the reader may round 1 ms below) and the
// latest end of the shards' intervals.
func span(iv *[output.Series]*hdrhistogram.Histogram, base int64) (start, end int64) {
	start, end = math.MaxInt64, base
	for _, h := range iv {
		if h == nil {
			continue
		}
		start, end = min(start, h.StartTimeMs()), max(end, h.EndTimeMs())
	}
	start = max(start, base)
	return start, max(end, start)
}

func quantile(h *hdrhistogram.Histogram, p float64) float64 {
	if h == nil || h.TotalCount() == 0 {
		return 0
	}
	return float64(h.ValueAtQuantile(p)) / 1000
}

// twinResult adds the shards' counters and takes the latencies from the
// merged histograms; the figures of the twin itself (its services' CPU,
// queues), which every shard observed alike, are the largest seen.
func twinResult(twin string, shards []shard, totals [output.Series]*hdrhistogram.Histogram,
	phases map[string]*[output.Series]*hdrhistogram.Histogram) *results.TwinResult {
	res := &results.TwinResult{ErrorsByCode: map[string]int64{}, Phases: map[string]*results.PhaseResult{}, Usage: map[string]procstat.Usage{}}
	for _, s := range shards {
		t := s.sf.Summary.Twins[twin]
		if t == nil {
			continue
		}
		res.Counts.Add(t.Counts)
		for c, n := range t.ErrorsByCode {
			res.ErrorsByCode[c] += n
		}
		res.LoadSeconds = max(res.LoadSeconds, t.LoadSeconds)
		res.Orders.Accepted += t.Orders.Accepted
		res.Orders.Completed += t.Orders.Completed
		res.Orders.Failed += t.Orders.Failed
		res.Orders.Lost += t.Orders.Lost
		res.Orders.DuplicateEnds += t.Orders.DuplicateEnds
		res.Orders.DrainMs = max(res.Orders.DrainMs, t.Orders.DrainMs)
		res.MaxDispatchLateMs = max(res.MaxDispatchLateMs, t.MaxDispatchLateMs)
		res.Clamped += t.Clamped
		res.Lag.MaxQueueDepth = max(res.Lag.MaxQueueDepth, t.Lag.MaxQueueDepth)
		res.Lag.MaxLagMs = max(res.Lag.MaxLagMs, t.Lag.MaxLagMs)
		res.Lag.DrainMs = max(res.Lag.DrainMs, t.Lag.DrainMs)
		res.Lag.DeadLettered = max(res.Lag.DeadLettered, t.Lag.DeadLettered)
		mergeUsage(res.Usage, t.Usage)
		for name, p := range t.Phases {
			mergePhase(res.Phases, name, p)
		}
		if res.Steps == nil {
			res.Steps = t.Steps
		}
	}
	if res.LoadSeconds > 0 {
		res.OfferedRPS = float64(res.Sent) / res.LoadSeconds
		res.AchievedRPS = float64(res.OK+res.Rejected) / res.LoadSeconds
	}
	res.Ack, res.AckUncorrected = record.Summarize(totals[output.Ack]), record.Summarize(totals[output.AckUncorrected])
	res.E2E, res.E2EUncorrected = record.Summarize(totals[output.E2E]), record.Summarize(totals[output.E2EUncorrected])
	for name, p := range res.Phases {
		if his := phases[name]; his != nil {
			p.Ack, p.E2E = record.Summarize(his[output.Ack]), record.Summarize(his[output.E2E])
		}
		if p.Seconds > 0 {
			p.OfferedRPS = float64(p.Sent) / p.Seconds
			p.AchievedRPS = float64(p.OK+p.Rejected) / p.Seconds
		}
	}
	cpu := results.TwinCPUSeconds(res.Usage)
	if res.Orders.Completed > 0 {
		res.CPUPerOrderMs = 1000 * cpu / float64(res.Orders.Completed)
	}
	if res.Sent > 0 {
		res.GeneratorCPUPer1k = 1000 * res.Usage["harness"].CPUSeconds / float64(res.Sent)
	}
	return res
}

// mergeUsage sums the generators' CPU (each shard is its own harness) and
// keeps the twin's services' largest figures (every shard read the same
// processes, when it could read them at all).
func mergeUsage(dst, src map[string]procstat.Usage) {
	for name, u := range src {
		d := dst[name]
		if name == "harness" {
			d.CPUSeconds += u.CPUSeconds
			d.RSSBytes += u.RSSBytes
			d.PeakRSSBytes += u.PeakRSSBytes
		} else {
			d.CPUSeconds = max(d.CPUSeconds, u.CPUSeconds)
			d.RSSBytes = max(d.RSSBytes, u.RSSBytes)
			d.PeakRSSBytes = max(d.PeakRSSBytes, u.PeakRSSBytes)
		}
		dst[name] = d
	}
}

func mergePhase(dst map[string]*results.PhaseResult, name string, p *results.PhaseResult) {
	if p == nil {
		return
	}
	d := dst[name]
	if d == nil {
		d = &results.PhaseResult{}
		dst[name] = d
	}
	d.Counts.Add(p.Counts)
	d.Seconds = max(d.Seconds, p.Seconds)
}
