package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestCompareCommand(t *testing.T) {
	smoke, crash := runFolder(t, "smoke.json"), runFolder(t, "crash.json")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		not    []string
		stderr string
	}{
		{"default", []string{smoke + "/latest", crash + "/latest"}, 0,
			[]string{"twins.rr.errors", "2434", "+10052.4%", "failure-crash", "--all lists every metric"}, []string{"twins.eda.faults.0.backlog"}, ""},
		{"filter, after the runs", []string{smoke + "/latest", crash + "/latest", "--filter", "faults,audit.indeterminate"}, 0,
			[]string{"twins.eda.faults.0.backlog", "twins.rr.audit.indeterminate"}, []string{"twins.rr.errors "}, ""},
		{"all", []string{"--all", smoke + "/latest", crash + "/latest"}, 0,
			[]string{"twins.eda.faults.0.backlog", "twins.rr.sent"}, nil, ""},
		{"help", []string{"-h"}, 0, []string{"edabench compare [--all]"}, nil, ""},
		{"one run", []string{smoke + "/latest"}, 2, nil, nil, "want two runs"},
		{"missing run", []string{smoke + "/latest", "/no/run"}, 2, nil, nil, "run /no/run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"compare"}, tt.args...), &stdout, &stderr)
			ok := code == tt.code && strings.Contains(stderr.String(), tt.stderr)
			for _, w := range tt.stdout {
				ok = ok && strings.Contains(stdout.String(), w)
			}
			for _, n := range tt.not {
				ok = ok && !strings.Contains(stdout.String(), n)
			}
			if !ok {
				t.Fatalf("edabench compare %q = exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit %d, stdout with %q and without %q, stderr with %q",
					tt.args, code, stdout.String(), stderr.String(), tt.code, tt.stdout, tt.not, tt.stderr)
			}
		})
	}
}
