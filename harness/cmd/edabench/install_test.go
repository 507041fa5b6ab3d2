package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/broker/brokertest"
	"github.com/edabench/edabench/harness/results"
)

// TestInstalledBinaryRunsAnywhere is issue 15's acceptance: edabench, `go
// install`ed alone, runs all three twins from an empty directory outside
// the checkout, with the built-in smoke scenario, and writes its results
// there. The run's PATH has no Go toolchain, so it cannot fall back to
// building the target from source: the twins' services are edabench serve.
func TestInstalledBinaryRunsAnywhere(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode: this test installs edabench and runs the three twins against the broker (about a minute); TestScenariosCommand covers the embedded scenarios")
	}
	brokertest.Shared(t) // installs RabbitMQ if it must; the run reuses the node
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	gobin := t.TempDir()
	install := exec.CommandContext(ctx, "go", "install", ".")
	install.Env = append(os.Environ(), "GOBIN="+gobin)
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("go install: %v\n%s", err, out)
	}
	if entries, _ := os.ReadDir(gobin); len(entries) != 1 {
		t.Fatalf("GOBIN holds %d files, want edabench alone", len(entries))
	}

	work := t.TempDir()
	run := exec.CommandContext(ctx, filepath.Join(gobin, "edabench"), "run", "--twin", "all", "--scenario", "smoke", "--duration", "3s", "--metrics-addr", "off")
	run.Dir = work
	run.Env = append(withoutGo(os.Environ()), "EDABENCH_SD_DIR=off") // no Prometheus of the machine's scrapes this run
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("edabench run from %s: %v\n%s", work, err, out)
	}

	dir, err := filepath.EvalSymlinks(filepath.Join(work, "results", "latest"))
	if err != nil {
		t.Fatalf("no results/latest in the working directory: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sum results.Summary
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Partial {
		t.Fatalf("partial run: %s", sum.PartialReason)
	}
	if src := sum.Scenario.(map[string]any)["source"]; src != "scenarios/smoke.yaml" {
		t.Errorf("scenario source %v, want the built-in scenarios/smoke.yaml", src)
	}
	for _, twin := range []string{"rr", "eda", "hybrid"} {
		r := sum.Twins[twin]
		if r == nil || r.Sent == 0 || r.Orders.Completed == 0 {
			t.Errorf("%s twin: %+v, want orders sent and completed", twin, r)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "target")); err == nil {
		t.Error("the run built a target binary; want edabench serve")
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "logs", "*-gateway.log"))
	if len(logs) != 3 {
		t.Errorf("gateway logs %v, want one per twin", logs)
	}
}

// withoutGo is env with the Go toolchain's directories off PATH.
func withoutGo(env []string) []string {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return env
	}
	goDir := filepath.Dir(goBin)
	if real, err := filepath.EvalSymlinks(goBin); err == nil {
		goDir = filepath.Dir(real)
	}
	var out []string
	for _, kv := range env {
		path, ok := strings.CutPrefix(kv, "PATH=")
		if !ok {
			out = append(out, kv)
			continue
		}
		var keep []string
		for _, d := range filepath.SplitList(path) {
			if _, err := os.Stat(filepath.Join(d, "go")); err == nil || d == goDir {
				continue
			}
			keep = append(keep, d)
		}
		out = append(out, "PATH="+strings.Join(keep, string(os.PathListSeparator)))
	}
	return out
}
