package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestRunRejectsBadInput(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("name: bad\nstages:\n  - {name: a, duration: 10s, rate: -5}\n"), 0o644)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"help", []string{"help"}, 0, ""},
		{"unknown command", []string{"attack"}, 2, `unknown command "attack"`},
		{"unknown twin", []string{"run", "--twin", "kafka"}, 2, `unknown twin "kafka": want rr, eda, hybrid, both (rr and eda) or all`},
		{"negative rate", []string{"run", "--rate", "-10"}, 2, "--rate -10: must be positive"},
		{"negative duration", []string{"run", "--duration", "-1s"}, 2, "--duration -1s: must be positive"},
		{"unreadable scenario", []string{"run", "--scenario", "/no/such/file.yaml"}, 2, "/no/such/file.yaml"},
		{"invalid scenario", []string{"run", "--scenario", bad}, 2, "stages[0].rate: -5 must be positive"},
		{"bad topology", []string{"run", "--topology", "star"}, 2, `--topology "star": want chain or fanout`},
		{"unknown flag", []string{"run", "--speed", "1"}, 2, "flag provided but not defined: -speed"},
		{"stray argument", []string{"run", "smoke"}, 2, `unexpected argument "smoke"`},
		{"non-loopback target", []string{"run", "--twin", "rr", "--target", "192.0.2.7:7100", "--scenario", "smoke"}, 2, "is not a loopback address"},
		{"target with both twins", []string{"run", "--target", "127.0.0.1:7100", "--scenario", "smoke"}, 2, "pass --twin rr, eda or hybrid, not several"},
		{"target with every twin", []string{"run", "--twin", "all", "--target", "127.0.0.1:7100", "--scenario", "smoke"}, 2, "pass --twin rr, eda or hybrid, not several"},
		{"metrics port in use", []string{"run", "--twin", "rr", "--target", "127.0.0.1:1", "--scenario", "smoke",
			"--metrics-addr", busy.Addr().String(), "--out", t.TempDir()}, 2, "--metrics-addr " + busy.Addr().String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			if code != tt.code || !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("edabench %q = exit %d, stderr:\n%s\nwant exit %d and %q", tt.args, code, stderr.String(), tt.code, tt.want)
			}
		})
	}
}

// TestRunReportsABrokerThatCannotStart: the private node's AMQP port is held
// by something else; the run must say so, exit 1, and still leave its
// results folder with "partial": true.
func TestRunReportsABrokerThatCannotStart(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	t.Setenv("EDABENCH_BROKER_DIR", t.TempDir())
	t.Setenv("EDABENCH_BROKER_NAME", "edabench-badport@localhost")
	t.Setenv("EDABENCH_AMQP_PORT", strconv.Itoa(busy.Addr().(*net.TCPAddr).Port))
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run([]string{"run", "--twin", "eda", "--scenario", "smoke", "--out", out, "--metrics-addr", "off"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "the private RabbitMQ node did not start") || !strings.Contains(stderr.String(), "in use") {
		t.Fatalf("exit %d, stderr:\n%s\nwant exit 1 naming the broker and the port in use", code, stderr.String())
	}
	b, err := os.ReadFile(filepath.Join(out, "latest", "summary.json"))
	if err != nil {
		t.Fatalf("no summary.json after a failed start: %v", err)
	}
	var sum struct {
		Partial bool   `json:"partial"`
		Reason  string `json:"partial_reason"`
	}
	if err := json.Unmarshal(b, &sum); err != nil || !sum.Partial || sum.Reason == "" {
		t.Fatalf("summary.json: %s (%v); want partial with a reason", b, err)
	}
}

// The --scenario help names every scenario shipped, so a new one is not
// left out of what `edabench help` teaches.
func TestScenarioHelpListsEveryScenario(t *testing.T) {
	fs, _ := runFlags(io.Discard)
	usage := fs.Lookup("scenario").Usage
	files, err := filepath.Glob("../../../scenarios/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios found: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		if !strings.Contains(usage, name) {
			t.Errorf("--scenario help does not name %s: %q", name, usage)
		}
	}
}
