package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runFolder lays out a results folder as edabench run leaves it: OUT/<id>/
// summary.json (one of harness/gate's fixtures) and OUT/latest -> <id>.
func runFolder(t *testing.T, fixture string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "gate", "testdata", fixture))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	id := strings.TrimSuffix(fixture, ".json")
	if err := os.MkdirAll(filepath.Join(out, id), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, id, "summary.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(id, filepath.Join(out, "latest")); err != nil {
		t.Fatal(err)
	}
	return out
}

func writeGate(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "gate.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGateCommand(t *testing.T) {
	smoke, slower, crash, partial := runFolder(t, "smoke.json"), runFolder(t, "slower.json"), runFolder(t, "crash.json"), runFolder(t, "partial.json")
	audit := writeGate(t, `checks:
  - metric: twins.eda.audit.lost
    op: "=="
    value: 0
  - metric: twins.rr.errors
    op: "=="
    value: 0
  - metric: twins.eda.e2e.p99_ms
    op: "<"
    value: 2000
`)
	regress := writeGate(t, "checks:\n  - metric: twins.rr.ack.p99_ms\n    max_regression: 15%\n")
	typo := writeGate(t, "checks:\n  - metric: twins.eda.audit.lsot\n    op: \"==\"\n    value: 0\n")
	malformed := writeGate(t, "checks:\n  - metric: twins.eda.audit.lost\n    op: \"=\"\n    value: 0\n")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"passes", []string{"--file", audit, smoke + "/latest"}, 0, "4 checks, 0 failed", ""},
		{"a folder", []string{"--file", audit, filepath.Join(smoke, "smoke")}, 0, "4 checks, 0 failed", ""},
		{"summary.json itself", []string{"--file", audit, filepath.Join(smoke, "smoke", "summary.json")}, 0, "4 checks, 0 failed", ""},
		{"flags after the run", []string{smoke + "/latest", "--file", audit}, 0, "4 checks, 0 failed", ""},
		{"fails", []string{"--file", audit, crash + "/latest"}, 1, "FAIL twins.eda.e2e.p99_ms is 10051.583, want < 2000", ""},
		{"partial fails", []string{"--file", audit, partial + "/latest"}, 1, "run is partial: interrupted", ""},
		{"partial allowed", []string{"--allow-partial", "--file", audit, partial + "/latest"}, 0, "3 checks, 0 failed", ""},
		{"regression", []string{"--file", regress, "--baseline", smoke + "/latest", slower + "/latest"}, 1, "30.0% worse than the baseline", ""},
		{"no regression", []string{"--file", regress, "--baseline", slower + "/latest", smoke + "/latest"}, 0, "baseline 38.375, at most +15%", ""},
		{"typo", []string{"--file", typo, smoke + "/latest"}, 1, `(did you mean "lost"?)`, ""},
		{"help", []string{"--help"}, 0, "max_regression: 15%", ""},
		{"no --file", []string{smoke + "/latest"}, 2, "", "--file is required"},
		{"no run", []string{"--file", audit}, 2, "", "want one run folder"},
		{"two runs", []string{"--file", audit, smoke, crash}, 2, "", "got 2 arguments"},
		{"missing run", []string{"--file", audit, "/no/such/run"}, 2, "", "run /no/such/run: stat /no/such/run: no such file or directory; pass a run folder"},
		{"a folder without summary.json", []string{"--file", audit, smoke}, 2, "", "has no summary.json"},
		{"missing gate file", []string{"--file", "/no/gate.yaml", smoke + "/latest"}, 2, "", "/no/gate.yaml"},
		{"malformed gate file", []string{"--file", malformed, smoke + "/latest"}, 2, "", `check 1 (line 2): line 3: op "="`},
		{"regression without baseline", []string{"--file", regress, smoke + "/latest"}, 2, "", "check 1 (line 2) is a max_regression check: pass --baseline"},
		{"missing baseline", []string{"--file", regress, "--baseline", "/no/base", smoke + "/latest"}, 2, "", "--baseline: run /no/base"},
		{"unknown flag", []string{"--fiel", audit, smoke + "/latest"}, 2, "", "flag provided but not defined: -fiel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"gate"}, tt.args...), &stdout, &stderr)
			if code != tt.code || !strings.Contains(stdout.String(), tt.stdout) || !strings.Contains(stderr.String(), tt.stderr) {
				t.Fatalf("edabench gate %q = exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit %d, stdout with %q, stderr with %q",
					tt.args, code, stdout.String(), stderr.String(), tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}

func TestGateWritesJUnit(t *testing.T) {
	crash := runFolder(t, "crash.json")
	g := writeGate(t, "checks:\n  - metric: twins.rr.errors\n    op: \"==\"\n    value: 0\n")
	junit := filepath.Join(t.TempDir(), "reports", "junit.xml")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"gate", "--file", g, "--junit", junit, crash + "/latest"}, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<testsuite name="edabench gate" tests="2" failures="1"`, `<testcase name="twins.rr.errors == 0"`, `<failure message="twins.rr.errors is 2434, want == 0"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("junit.xml lacks %q:\n%s", want, b)
		}
	}
}
