package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/edabench/edabench/harness/gate"
	"github.com/edabench/edabench/harness/results"
)

const gateHelp = `edabench gate checks a run against the limits in a gate file, for CI.

Usage:
  edabench gate --file GATE.yaml [--baseline RUN_DIR] [--junit PATH] [--allow-partial] RUN_DIR

RUN_DIR is a run folder, its summary.json, or OUT/latest.

A gate file lists checks. A metric is a dotted path into summary.json (map
keys, and list indexes: twins.eda.faults.0.errors). A check is either an
absolute limit (op and value) or an allowed regression against --baseline:

  checks:
    - metric: twins.eda.e2e.p99_ms
      op: "<"                  # < <= == >= >  (quote it: YAML)
      value: 500
    - metric: twins.eda.audit.lost
      op: "=="
      value: 0
    - metric: twins.rr.ack.p99_ms
      max_regression: 15%      # at most 15% worse than in the baseline run
    - metric: twins.rr.achieved_rps
      max_regression: 5%
      better: higher           # lower (default) or higher: which way is better

A metric missing from the run fails its check (a typo must not pass), and
the message lists the keys that were there. A partial run (interrupted, or
a child crashed) fails unless --allow-partial.

Flags:
`

const gateExamples = `
Examples:
  edabench gate --file gates/ci.yaml results/latest
  edabench gate --file gates/ci.yaml --junit results/junit.xml results/20261126-090641-rr-eda-smoke
  edabench gate --file gates/perf.yaml --baseline results/main/latest results/latest

Exit status: 0 every check passed, 1 a check failed, 2 bad input (an
unreadable or malformed gate file, a missing run folder, bad flags).
`

type gateOpts struct {
	file, baseline, junit string
	allowPartial          bool
}

func gateFlags(w io.Writer) (*flag.FlagSet, *gateOpts) {
	o := &gateOpts{}
	fs := flag.NewFlagSet("edabench gate", flag.ContinueOnError)
	fs.SetOutput(w)
	fs.StringVar(&o.file, "file", "", "the gate file (required), e.g. gates/ci.yaml")
	fs.StringVar(&o.baseline, "baseline", "", "the run that max_regression checks compare with (a run folder, its summary.json, or OUT/latest)")
	fs.StringVar(&o.junit, "junit", "", "also write the results as JUnit XML to this file")
	fs.BoolVar(&o.allowPartial, "allow-partial", false, "check a partial run instead of failing it")
	return fs, o
}

func gateCmd(args []string, stdout, stderr io.Writer) int {
	fs, o := gateFlags(stderr)
	if wantsHelp(args) {
		fmt.Fprint(stdout, gateHelp)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fmt.Fprint(stdout, gateExamples)
		return 0
	}
	fs.Usage = func() { fmt.Fprintln(stderr, "see edabench gate --help") }
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "edabench gate: "+format+"\n", a...)
		return 2
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if o.file == "" {
		return bad("--file is required: the gate file to check the run against, e.g. --file gates/ci.yaml")
	}
	if len(pos) != 1 {
		return bad("want one run folder after the flags, got %d arguments; e.g. edabench gate --file gates/ci.yaml results/latest", len(pos))
	}
	g, err := gate.Load(o.file)
	if err != nil {
		return bad("%v", err)
	}
	if g.NeedsBaseline() && o.baseline == "" {
		i := slices.IndexFunc(g.Checks, func(c gate.Check) bool { return c.Regression })
		return bad("%s: check %d (line %d) is a max_regression check: pass --baseline RUN_DIR, the run to compare with",
			o.file, i+1, g.Checks[i].Line)
	}
	runFile, err := results.ReadSummary(pos[0])
	if err != nil {
		return bad("%v", err)
	}
	run, runPath := runFile.Tree, runFile.Path
	var baseline map[string]any
	if o.baseline != "" {
		base, err := results.ReadSummary(o.baseline)
		if err != nil {
			return bad("--baseline: %v", err)
		}
		baseline = base.Tree
		if base.Summary.Partial {
			fmt.Fprintf(stderr, "edabench gate: warning: the baseline %s is a partial run; its figures may not be comparable\n", base.Path)
		}
	}
	var results []gate.Result
	if !o.allowPartial {
		results = append(results, gate.Complete(run))
	}
	results = append(results, g.Evaluate(run, baseline)...)

	fmt.Fprintf(stdout, "gate %s on %s\n\n", o.file, runPath)
	if err := gate.WriteTable(stdout, results); err != nil {
		return bad("%v", err)
	}
	if o.junit != "" {
		props := map[string]string{"gate": o.file, "run": runPath}
		if o.baseline != "" {
			props["baseline"] = o.baseline
		}
		if err := writeJUnit(o.junit, results, props); err != nil {
			return bad("--junit: %v", err)
		}
	}
	if gate.Failed(results) > 0 {
		return 1
	}
	return 0
}

func writeJUnit(path string, results []gate.Result, props map[string]string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := gate.WriteJUnit(f, results, props); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// parseInterspersed lets flags follow the positional arguments
// (edabench gate results/latest --file gates/ci.yaml), which the flag
// package alone stops at.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// After "--" everything is positional.
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
