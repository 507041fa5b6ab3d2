package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/edabench/edabench/harness/load"
	"github.com/edabench/edabench/internal/loopback"
)

// shardOpts are run's sharding flags, checked.
type shardOpts struct {
	shard   load.Shard
	startAt time.Time
	allow   *loopback.Allowlist
}

// jobIndexEnv is what Kubernetes sets in each pod of an Indexed Job: its
// completion index, 0-based.
const jobIndexEnv = "JOB_COMPLETION_INDEX"

// maxStartAhead bounds --start-at: a start a day away is a typo (seconds
// for milliseconds), and a shard would sit idle until then.
const maxStartAhead = time.Hour

// checkShard reads --shard, --start-at and --allow.
func (o *runOpts) checkShard(getenv func(string) string, now time.Time) (shardOpts, error) {
	var so shardOpts
	var err error
	if so.allow, err = loopback.ParseAllowlist(o.allow); err != nil {
		return so, fmt.Errorf("--allow: %w", err)
	}
	if o.shard != "" {
		spec := o.shard
		if n, ok := strings.CutPrefix(spec, "job/"); ok {
			idx := getenv(jobIndexEnv)
			i, err := strconv.Atoi(idx)
			if err != nil || i < 0 {
				return so, fmt.Errorf("--shard %s takes the shard from $%s, which is %q: run it in an Indexed Job, or give --shard I/N", spec, jobIndexEnv, idx)
			}
			spec = strconv.Itoa(i+1) + "/" + n
		}
		if so.shard, err = load.ParseShard(spec); err != nil {
			return so, err
		}
		if so.shard.Sharded() && o.startAt == "" {
			return so, fmt.Errorf("--shard %s needs --start-at: the shards' schedules must share one time zero", spec)
		}
		if o.repeat > 1 {
			return so, fmt.Errorf("--shard with --repeat %d: run each repetition's shards as their own job, with their own --start-at and --seed", o.repeat)
		}
		if len(o.stepCounts) > 1 {
			return so, fmt.Errorf("--shard with several --steps: run each workflow length's shards as their own job, with their own --start-at")
		}
	}
	if o.startAt != "" {
		if so.startAt, err = parseStartAt(o.startAt); err != nil {
			return so, err
		}
		if d := so.startAt.Sub(now); d > maxStartAhead {
			return so, fmt.Errorf("--start-at %s is %v away, more than %v: a typo (seconds for milliseconds?)", o.startAt, d.Round(time.Second), maxStartAhead)
		}
	}
	return so, nil
}

// parseStartAt reads RFC 3339 or unix milliseconds.
func parseStartAt(v string) (time.Time, error) {
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		if ms < 1e12 {
			return time.Time{}, fmt.Errorf("--start-at %s: unix time in milliseconds has 13 digits (this looks like seconds: %s000)", v, v)
		}
		return time.UnixMilli(ms), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("--start-at %q: want RFC 3339 (2026-12-05T08:00:00Z) or unix milliseconds (date +%%s%%3N)", v)
	}
	return t, nil
}
