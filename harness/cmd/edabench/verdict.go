package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/harness/verdict"
)

const verdictUsage = `Usage: edabench verdict [--out DIR] RUN_DIR...

Decides each architecture claim (docs/verdict.md) (holds, does not hold, inconclusive) from the
figures of the runs given: run folders, or folders of runs such as results/
(then, per scenario, the most recent finished run is used). Each claim is
decided once per backbone the runs used (summary.json's environment.broker;
RabbitMQ for runs older than --broker), each over that backbone's runs and
the RR-only runs, which use no backbone. Writes verdict.json and verdict.md
(the matrix: claim x backbone) into --out and prints the table. The method
for each claim: docs/verdict.md.

The claims need these scenarios: smoke, spike, ramp, failure-crash,
failure-broker-restart (make bench runs them), failure-slow-step, and the
chain scenario with --steps 1..4.

Exit status: 0 evaluated (whatever the verdicts), 1 the files could not be
written, 2 bad input (no run found).

Flags:
`

func verdictCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("edabench verdict", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "folder for verdict.json and verdict.md (default: the runs' common parent folder)")
	fs.Usage = func() { fmt.Fprint(stderr, verdictUsage); fs.PrintDefaults() }
	// Flags may come after the folders too (edabench verdict results --out x).
	var dirs []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		dirs = append(dirs, fs.Arg(0))
		args = fs.Args()[1:]
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "edabench verdict: "+format+"\n", a...)
		return 2
	}
	if len(dirs) == 0 {
		return bad("give the run folders, or a folder of runs: edabench verdict results/")
	}
	runs, warnings, err := verdict.Load(dirs)
	for _, w := range warnings {
		fmt.Fprintf(stderr, "edabench verdict: warning: %s\n", w)
	}
	if errors.Is(err, verdict.ErrNoRuns) {
		return bad("no summary.json in %s or its subfolders. The verdict needs runs of the scenarios smoke, spike, ramp, "+
			"failure-crash, failure-broker-restart (`make bench` runs these), failure-slow-step, and chain --steps 1..4",
			strings.Join(dirs, ", "))
	}
	if err != nil {
		return bad("%v", err)
	}
	m := verdict.EvaluateMatrix(runs, time.Now())
	dir := *out
	if dir == "" {
		dir = commonParent(runs)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(stderr, "edabench verdict: create %s: %v (choose another with --out)\n", dir, err)
		return 1
	}
	jsonPath, mdPath := filepath.Join(dir, "verdict.json"), filepath.Join(dir, "verdict.md")
	for _, f := range []struct {
		path  string
		write func(io.Writer) error
	}{{jsonPath, m.WriteJSON}, {mdPath, m.WriteMarkdown}} {
		if err := results.WriteFile(f.path, f.write); err != nil {
			fmt.Fprintf(stderr, "edabench verdict: %v (choose another folder with --out)\n", err)
			return 1
		}
	}
	var cols []string
	for _, b := range m.Backbones {
		cols = append(cols, b.Label())
	}
	fmt.Fprintf(stdout, "%d runs read, %d used; each claim decided per backbone (%s), over its runs and RR's; the runs of one scenario are its repetitions, read together\n\n",
		len(runs), m.Used, strings.Join(cols, "; "))
	m.WriteTable(stdout)
	fmt.Fprintf(stdout, "\nverdict: %s\n         %s\n", jsonPath, mdPath)
	return 0
}

// commonParent is the deepest folder holding every run folder: results/
// for runs found there.
func commonParent(runs []*verdict.Run) string {
	var common []string
	for i, r := range runs {
		abs, err := filepath.Abs(filepath.Dir(r.Dir))
		if err != nil {
			abs = filepath.Dir(r.Dir)
		}
		parts := strings.Split(abs, string(filepath.Separator))
		if i == 0 {
			common = parts
			continue
		}
		n := 0
		for n < len(common) && n < len(parts) && common[n] == parts[n] {
			n++
		}
		common = common[:n]
	}
	if len(common) == 0 {
		return "."
	}
	p := strings.Join(common, string(filepath.Separator))
	if p == "" {
		return string(filepath.Separator)
	}
	return p
}
