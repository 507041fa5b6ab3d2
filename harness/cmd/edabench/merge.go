package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/edabench/edabench/harness/merge"
	"github.com/edabench/edabench/harness/record"
	"github.com/edabench/edabench/harness/report"
	"github.com/edabench/edabench/harness/results"
)

const mergeUsage = `Usage: edabench merge [--out DIR] [--tolerance D] RUN_DIR...
       edabench merge --hlog OUT.hlog IN.hlog...

Joins the run folders of a sharded load (edabench run --shard I/N, one
folder per shard) into one run folder under --out, as if one generator had
sent the whole schedule: summary.json, the .hlog interval logs and .hgrm
percentiles, timeseries.csv and report.html. The counters add; the
latency percentiles come from the shards' HdrHistogram interval logs
merged interval by interval on absolute time, so they are exact, not an
average of each shard's percentiles. edabench gate, compare, report and
verdict read the merged folder like any other.

It says which shards it merged and any gap: a shard missing, or load
starts further apart than --tolerance. A merge with a gap is written
marked partial and exits 1. Shards of different scenarios, seeds or
shard counts are refused (exit 2).

With --hlog it joins bare interval logs of one series instead, such as
the k6.TWIN.ack.hlog that xk6-eda's hdr option writes on each k6 instance
(k6-operator's runners): OUT.hlog and OUT.hgrm, exact percentiles of all
the instances' requests together.

Flags:
`

const mergeExamples = `
Examples:
  edabench merge results/*-shard-* --out merged
  edabench merge --out merged shard1/latest shard2/latest shard3/latest shard4/latest

Exit status: 0 merged whole, 1 merged with a gap (or a file could not be
written), 2 bad input.
`

func mergeCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("edabench merge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "results", "results folder of the merged run (OUT/<run-id>/, OUT/latest)")
	tol := fs.Duration("tolerance", merge.DefaultTolerance, "how far apart the shards' load starts may be before it is a gap")
	hlog := fs.String("hlog", "", "join these interval logs (.hlog files, e.g. k6 runners') into this one (and its .hgrm), instead of run folders")
	fs.Usage = func() { fmt.Fprint(stderr, mergeUsage); fs.PrintDefaults(); fmt.Fprint(stderr, mergeExamples) }
	// Flags may follow the folders too (edabench merge A B --out X).
	var dirs []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		dirs = append(dirs, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if *tol <= 0 || *tol > time.Minute {
		fmt.Fprintf(stderr, "edabench merge: --tolerance %v: want a duration above 0 and at most 1m\n", *tol)
		return 2
	}
	if *hlog != "" {
		return mergeLogs(*hlog, dirs, stdout, stderr)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sum, dir, err := merge.Merge(ctx, merge.Options{Dirs: dirs, Out: *out, Tolerance: *tol})
	switch {
	case errors.Is(err, merge.ErrInput):
		fmt.Fprintf(stderr, "edabench merge: %v\n", err)
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "edabench merge: %v\n", err)
		return 1
	}
	m := sum.Merged
	fmt.Fprintf(stdout, "merged %d of %d shards:", len(m.Shards), m.Count)
	for _, s := range m.Shards {
		fmt.Fprintf(stdout, " %d/%d (%s)", s.Index, m.Count, s.RunID)
	}
	fmt.Fprintf(stdout, "\nload starts %.1f ms apart (tolerance %.0f ms)\n\n", m.StartSpreadMs, m.ToleranceMs)
	results.WriteTable(stdout, sum)
	code := 0
	if _, err := report.Write(dir, report.Options{}); err != nil {
		fmt.Fprintf(stderr, "edabench merge: the report: %v\n", err)
		code = 1
	}
	fmt.Fprintf(stdout, "\nresults: %s\n", dir)
	for _, g := range m.Gaps {
		fmt.Fprintf(stderr, "edabench merge: gap: %s\n", g)
		code = 1
	}
	return code
}

// mergeLogs is merge --hlog: bare interval logs into one.
func mergeLogs(out string, paths []string, stdout, stderr io.Writer) int {
	total, err := merge.Logs(paths, out)
	switch {
	case errors.Is(err, merge.ErrInput):
		fmt.Fprintf(stderr, "edabench merge: %v\n", err)
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "edabench merge: %v\n", err)
		return 1
	}
	s := record.Summarize(total)
	fmt.Fprintf(stdout, "merged %d interval logs: %d requests, p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms\n%s\n",
		len(paths), s.Count, s.P50, s.P99, s.P999, s.Max, out)
	return 0
}
