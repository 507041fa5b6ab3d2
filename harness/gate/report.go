package gate

import (
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"
)

// Failed counts the results that did not pass.
func Failed(results []Result) int {
	n := 0
	for _, r := range results {
		if !r.Passed {
			n++
		}
	}
	return n
}

// WriteTable prints one row per check and a summary line, with the reason
// next to each failure so the log alone says what to fix.
func WriteTable(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "check\tvalue\tlimit\tresult")
	for _, r := range results {
		status := "PASS"
		if !r.Passed {
			status = "FAIL"
		}
		metric := r.Check.Metric
		if r.Label != "" {
			metric = r.Label
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", metric, r.Text, r.Limit, status)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if Failed(results) > 0 {
		fmt.Fprintln(w)
		for _, r := range results {
			if !r.Passed {
				fmt.Fprintf(w, "FAIL %s\n", r.Message)
			}
		}
	}
	_, err := fmt.Fprintf(w, "\n%d checks, %d failed\n", len(results), Failed(results))
	return err
}

// JUnit's de facto schema, as Jenkins, GitLab and GitHub's test reporters
// read it: one suite, one test case per check.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Output    string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the results as a JUnit XML test suite named
// "edabench gate". props (e.g. the run folder and the gate file) become the
// suite's properties, so a CI page shows what was checked.
func WriteJUnit(w io.Writer, results []Result, props map[string]string) error {
	s := junitSuite{Name: "edabench gate", Tests: len(results), Failures: Failed(results), Time: "0"}
	for _, k := range slices.Sorted(maps.Keys(props)) {
		s.Properties = append(s.Properties, junitProperty{Name: k, Value: props[k]})
	}
	for _, r := range results {
		c := junitCase{Name: r.Name(), Classname: "edabench.gate", Time: "0",
			Output: fmt.Sprintf("value %s, limit %s", r.Text, r.Limit)}
		if !r.Passed {
			c.Failure = &junitFailure{Message: r.Message, Type: "gate", Text: c.Output}
		}
		s.Cases = append(s.Cases, c)
	}
	doc := junitSuites{Name: s.Name, Tests: s.Tests, Failures: s.Failures, Suites: []junitSuite{s}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("writing JUnit XML: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}
