// Package merge joins the run folders of a sharded load (edabench run
// --shard I/N) into one run folder as if one generator had sent the whole
// schedule: the counters add, and the latency percentiles come from the
// shards' HdrHistogram interval logs merged interval by interval on
// absolute time, which is exact (HDR buckets add), unlike averaging each
// shard's percentiles.
package merge

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/edabench/edabench/harness/output"
	"github.com/edabench/edabench/harness/results"
)

// ErrInput marks shards that cannot be merged (different scenarios,
// seeds or shard counts, a shard twice, a folder that is no shard run):
// the CLI exits 2.
var ErrInput = errors.New("cannot merge")

// DefaultTolerance is how far apart the shards' load starts may be before
// the merge reports a gap: the runner itself refuses a shard ready more
// than 50 ms after --start-at.
const DefaultTolerance = 100 * time.Millisecond

// Options say what to merge and where.
type Options struct {
	Dirs      []string // the shards' run folders
	Out       string   // results base folder of the merged run
	Tolerance time.Duration
}

// shard is one shard run as read.
type shard struct {
	dir string
	sf  *results.SummaryFile
	sh  *results.ShardInfo
}

// Merge reads the shards, checks they belong together, and writes the
// merged run folder; it returns the merged summary and its folder.
func Merge(ctx context.Context, o Options) (*results.Summary, string, error) {
	if o.Tolerance <= 0 {
		o.Tolerance = DefaultTolerance
	}
	shards, err := readShards(o.Dirs)
	if err != nil {
		return nil, "", err
	}
	info := describe(shards, o.Tolerance)
	twins := slices.Sorted(maps.Keys(shards[0].sf.Summary.Twins))
	first := shards[0].sf.Summary
	label := strings.Join(twins, "-") + "-" + shards[0].sf.Scenario.Name + "-merged"
	dir, id, err := results.NewRunDir(o.Out, label, time.Now())
	if err != nil {
		return nil, "", err
	}
	sum := &results.Summary{SchemaVersion: results.SchemaVersion, RunID: id, Scenario: shards[0].sf.Raw.Scenario,
		Environment: first.Environment, Twins: map[string]*results.TwinResult{}, Merged: info}
	sum.StartedAt, sum.EndedAt = first.StartedAt, first.EndedAt
	var partial []string
	for _, s := range shards {
		sum.StartedAt = minTime(sum.StartedAt, s.sf.Summary.StartedAt)
		if s.sf.Summary.EndedAt.After(sum.EndedAt) {
			sum.EndedAt = s.sf.Summary.EndedAt
		}
		if s.sf.Summary.Partial {
			partial = append(partial, fmt.Sprintf("shard %d/%d partial: %s", s.sh.Index, s.sh.Count, s.sf.Summary.PartialReason))
		}
	}
	partial = append(partial, info.Gaps...)
	if len(partial) > 0 {
		sum.Partial, sum.PartialReason = true, strings.Join(partial, "; ")
	}
	outs := output.List{output.NewWithin(), output.NewSummary(dir), output.NewTimeseries(dir), output.NewHistograms(dir)}
	errs := []error{outs.Start(ctx, output.Run{Dir: dir, ID: id})}
	for _, twin := range twins {
		res, err := mergeTwin(twin, shards, outs)
		errs = append(errs, err)
		if res != nil {
			sum.Twins[twin] = res
		}
	}
	errs = append(errs, outs.Stop(ctx, sum), results.LinkLatest(o.Out, dir))
	return sum, dir, errors.Join(errs...)
}

// readShards reads every folder and refuses shards that do not belong to
// one sharded run.
func readShards(dirs []string) ([]shard, error) {
	if len(dirs) == 0 {
		return nil, fmt.Errorf("%w: no run folder given: pass the shards' run folders (OUT/<run-id>)", ErrInput)
	}
	var shards []shard
	for _, d := range dirs {
		sf, err := results.ReadSummary(d)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInput, err)
		}
		if sf.Summary.Shard == nil {
			return nil, fmt.Errorf("%w: %s is not a shard's run (its summary.json has no shard key): merge joins the runs of edabench run --shard I/N", ErrInput, d)
		}
		shards = append(shards, shard{dir: filepath.Clean(d), sf: sf, sh: sf.Summary.Shard})
	}
	sort.SliceStable(shards, func(i, j int) bool { return shards[i].sh.Index < shards[j].sh.Index })
	ref := shards[0]
	seen := map[int]string{}
	for _, s := range shards {
		switch {
		case s.sh.Count != ref.sh.Count:
			return nil, fmt.Errorf("%w: %s is shard %d/%d but %s is shard %d/%d: shards of different N are slices of different schedules", ErrInput, s.dir, s.sh.Index, s.sh.Count, ref.dir, ref.sh.Index, ref.sh.Count)
		case s.sh.Seed != ref.sh.Seed:
			return nil, fmt.Errorf("%w: %s ran seed %d but %s seed %d: shards of different seeds are different schedules; merge the shards of one seed", ErrInput, s.dir, s.sh.Seed, ref.dir, ref.sh.Seed)
		case s.sh.ScenarioHash != ref.sh.ScenarioHash:
			return nil, fmt.Errorf("%w: %s ran scenario %s and %s scenario %s, which differ (their hashes %.12s and %.12s, overrides included): merge the shards of one scenario", ErrInput, s.dir, s.sf.Scenario.Name, ref.dir, ref.sf.Scenario.Name, s.sh.ScenarioHash, ref.sh.ScenarioHash)
		case !slices.Equal(slices.Sorted(maps.Keys(s.sf.Summary.Twins)), slices.Sorted(maps.Keys(ref.sf.Summary.Twins))):
			return nil, fmt.Errorf("%w: %s and %s drove different twins: merge the shards of one twin", ErrInput, s.dir, ref.dir)
		}
		if prev, dup := seen[s.sh.Index]; dup {
			return nil, fmt.Errorf("%w: %s and %s are both shard %d/%d: give each shard once", ErrInput, prev, s.dir, s.sh.Index, s.sh.Count)
		}
		seen[s.sh.Index] = s.dir
	}
	return shards, nil
}

// describe says which shards are merged and what is missing or off.
func describe(shards []shard, tol time.Duration) *results.MergeInfo {
	n := shards[0].sh.Count
	info := &results.MergeInfo{Count: n, ToleranceMs: ms(tol)}
	have := map[int]bool{}
	var lo, hi time.Time
	for _, s := range shards {
		have[s.sh.Index] = true
		info.Shards = append(info.Shards, results.MergedShard{Index: s.sh.Index, RunID: s.sf.Summary.RunID, Dir: s.dir, Host: s.sf.Summary.Environment.Hostname})
		for _, t := range []time.Time{s.sh.StartAt, s.sh.LoadStartedAt} {
			if t.IsZero() {
				continue
			}
			lo, hi = minTime(lo, t), maxTime(hi, t)
		}
	}
	for i := 1; i <= n; i++ {
		if !have[i] {
			info.Missing = append(info.Missing, i)
		}
	}
	if len(info.Missing) > 0 {
		info.Gaps = append(info.Gaps, fmt.Sprintf("shards %v of %d missing: the merged run is %d of %d slices of the schedule", info.Missing, n, n-len(info.Missing), n))
	}
	info.StartSpreadMs = ms(hi.Sub(lo))
	if hi.Sub(lo) > tol {
		info.Gaps = append(info.Gaps, fmt.Sprintf("the shards' load starts are %.0f ms apart, more than the tolerance of %.0f ms: different --start-at values, or a shard ready late; their latencies are not on one schedule", info.StartSpreadMs, info.ToleranceMs))
	}
	return info
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
