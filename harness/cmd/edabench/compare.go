package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/edabench/edabench/harness/compare"
	"github.com/edabench/edabench/harness/results"
)

const compareHelp = `edabench compare sets two runs side by side: every figure of both twins,
run A, run B, and the change from A to B (absolute and percent).

Usage:
  edabench compare [--all] [--filter SUBSTR]... RUN_A RUN_B

Each run is a run folder, its summary.json, or OUT/latest. By default it
lists the headline figures of each twin: offered and achieved rps, ok,
errors, timeouts, ack and e2e p50/p99/p999/max, orders accepted, completed
and lost, the audit's lost, duplicates_applied and orphaned_effects, CPU per
order and the ramp's knee. Figures 0 in both runs are left out.

Flags:
`

const compareExamples = `
Examples:
  edabench compare results/20261126-090641-rr-eda-smoke results/latest
  edabench compare --filter p99 --filter faults results/a results/b
  edabench compare --filter eda.lag,eda.usage results/a results/b
  edabench compare --all results/a results/b

Metric names are the paths gate files use (twins.eda.e2e.p99_ms).

Exit status: 0 done, 2 bad input (a missing run folder, bad flags).
`

func compareFlags(w io.Writer) (*flag.FlagSet, *compare.Options) {
	o := &compare.Options{}
	fs := flag.NewFlagSet("edabench compare", flag.ContinueOnError)
	fs.SetOutput(w)
	fs.BoolVar(&o.All, "all", false, "list every figure under twins, the headline ones first")
	fs.Func("filter", "list only the figures whose name contains SUBSTR (repeatable, or a comma list)", func(s string) error {
		for f := range strings.SplitSeq(s, ",") {
			if f = strings.TrimSpace(f); f != "" {
				o.Filters = append(o.Filters, f)
			}
		}
		return nil
	})
	return fs, o
}

func compareCmd(args []string, stdout, stderr io.Writer) int {
	fs, o := compareFlags(stderr)
	if wantsHelp(args) {
		fmt.Fprint(stdout, compareHelp)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fmt.Fprint(stdout, compareExamples)
		return 0
	}
	fs.Usage = func() { fmt.Fprintln(stderr, "see edabench compare --help") }
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "edabench compare: "+format+"\n", a...)
		return 2
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 2 {
		return bad("want two runs, A and B, got %d arguments; e.g. edabench compare results/<run-id> results/latest", len(pos))
	}
	a, err := results.ReadSummary(pos[0])
	if err != nil {
		return bad("%v", err)
	}
	b, err := results.ReadSummary(pos[1])
	if err != nil {
		return bad("%v", err)
	}
	if err := compare.Write(stdout, a.Tree, b.Tree, *o); err != nil {
		fmt.Fprintf(stderr, "edabench compare: %v\n", err)
		return 1
	}
	return 0
}
