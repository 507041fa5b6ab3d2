package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/edabench/edabench/harness/report"
)

const reportUsage = `Usage: edabench report [--verdict FILE] RUN_DIR...

Writes RUN_DIR/report.html for each run folder (or a results/latest
symlink) and prints its path: one self-contained page, with no script and
no link outside it, that opens offline in any browser. It has the twins'
figures side by side, the fault windows, the verdict if there is one, the
latency percentile spectrum (HdrHistogram style), latency, throughput and
queues over time with the fault windows shaded, and the scenario and
environment the run had.

Flags:
`

const reportExamples = `
Examples:
  edabench report results/latest                     the latest run
  edabench report results/*-smoke                    every smoke run
  edabench report --verdict verdict.json results/latest

The verdict is read from --verdict, else from verdict.json in the run
folder or in the folder above it (the results folder), if there is one.

Exit status: 0 done, 1 a report could not be written, 2 bad input.
`

func reportCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("edabench report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	verdict := fs.String("verdict", "", "a verdict.json to show (default: verdict.json in the run folder or the one above it)")
	fs.Usage = func() { fmt.Fprint(stderr, reportUsage); fs.PrintDefaults(); fmt.Fprint(stderr, reportExamples) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "edabench report: no run folder given: want one or more, e.g. edabench report results/latest")
		return 2
	}
	code := 0
	for _, dir := range fs.Args() {
		res, err := report.Write(dir, report.Options{Verdict: *verdict})
		if err != nil {
			fmt.Fprintf(stderr, "edabench report: %v\n", err)
			if errors.Is(err, report.ErrInput) {
				code = max(code, 2)
			} else {
				code = max(code, 1)
			}
			continue
		}
		for _, w := range res.Warnings {
			fmt.Fprintf(stderr, "edabench report: %s: %s\n", dir, w)
		}
		fmt.Fprintln(stdout, res.Path)
	}
	return code
}
