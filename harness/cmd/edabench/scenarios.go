package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/edabench/edabench/harness/scenario"
)

const scenariosUsage = `Usage:
  edabench scenarios          the built-in scenarios, with what each does
  edabench scenarios NAME     NAME's YAML, comments and all, to copy and edit:
                              edabench scenarios spike > my-spike.yaml
                              edabench run --scenario ./my-spike.yaml
`

func scenariosCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("edabench scenarios", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, scenariosUsage) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	switch fs.NArg() {
	case 0:
		return listScenarios(stdout, stderr)
	case 1:
		// "smoke.yaml" is how the file is named in the repository.
		b, err := scenario.ShippedFile(strings.TrimSuffix(fs.Arg(0), ".yaml"))
		if err != nil {
			fmt.Fprintf(stderr, "edabench scenarios: %v\n", err)
			return 2
		}
		stdout.Write(b)
		return 0
	default:
		fmt.Fprintf(stderr, "edabench scenarios: want at most one name, got %d (%q)\n", fs.NArg(), fs.Args())
		return 2
	}
}

func listScenarios(stdout, stderr io.Writer) int {
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, name := range scenario.Shipped() {
		s, err := scenario.LoadShipped(name)
		if err != nil {
			// A built-in scenario that does not load is a bug of this build.
			fmt.Fprintf(stderr, "edabench scenarios: %v\n", err)
			return 1
		}
		fmt.Fprintf(tw, "%s\t%s\n", name, s.Description)
	}
	tw.Flush()
	fmt.Fprint(stdout, "\nedabench scenarios NAME prints one to copy and edit; edabench run --scenario ./FILE.yaml runs your copy.\n")
	return 0
}
