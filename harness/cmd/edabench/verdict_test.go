package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestVerdictRejectsBadInput(t *testing.T) {
	empty := t.TempDir()
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"no folders", []string{"verdict"}, []string{"give the run folders"}},
		{"no runs there", []string{"verdict", empty},
			[]string{"no summary.json in " + empty, "smoke, spike, ramp", "make bench", "chain --steps 1..4"}},
		{"no such folder", []string{"verdict", "/no/such/results"}, []string{"/no/such/results", "give a run folder or a folder of runs"}},
		{"unknown flag", []string{"verdict", "--fast", empty}, []string{"flag provided but not defined: -fast"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			if code != 2 {
				t.Fatalf("exit %d, want 2; stderr:\n%s", code, stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
		})
	}
}

func TestVerdictWritesBothFiles(t *testing.T) {
	fixtures := filepath.Join("..", "..", "verdict", "testdata", "holds")
	t.Run("--out after the folders", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "verdict")
		var stdout, stderr bytes.Buffer
		if code := run([]string{"verdict", fixtures, "--out", out}, &stdout, &stderr); code != 0 {
			t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
		}
		b, err := os.ReadFile(filepath.Join(out, "verdict.json"))
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Backbones []struct {
				Name string `json:"name"`
			} `json:"backbones"`
			Claims []struct {
				ID    int `json:"id"`
				Cells []struct {
					Backbone string `json:"backbone"`
					Status   string `json:"status"`
				} `json:"cells"`
			} `json:"claims"`
		}
		if err := json.Unmarshal(b, &v); err != nil || len(v.Claims) != 11 || len(v.Backbones) != 1 || v.Backbones[0].Name != "rabbitmq" ||
			len(v.Claims[0].Cells) != 1 || v.Claims[0].Cells[0].Status != "holds" {
			t.Fatalf("verdict.json: %v, %+v", err, v)
		}
		md, err := os.ReadFile(filepath.Join(out, "verdict.md"))
		if err != nil || !strings.Contains(string(md), "| 1 | RR has lower latency at light load") ||
			!strings.Contains(string(md), "| # | claim | rabbitmq 3.10") {
			t.Fatalf("verdict.md: %v\n%s", err, md)
		}
		for _, w := range []string{"10 runs read, 10 used", "BACKBONE", "STATUS", "not measured", filepath.Join(out, "verdict.json"), filepath.Join(out, "verdict.md")} {
			if !strings.Contains(stdout.String(), w) {
				t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
			}
		}
	})
	t.Run("default: the runs' parent folder", func(t *testing.T) {
		results := t.TempDir()
		for _, id := range []string{"20261126-100100-rr-eda-smoke", "20261126-100800-rr-eda-failure-crash"} {
			b, err := os.ReadFile(filepath.Join(fixtures, id, "summary.json"))
			if err != nil {
				t.Fatal(err)
			}
			os.Mkdir(filepath.Join(results, id), 0o755)
			os.WriteFile(filepath.Join(results, id, "summary.json"), b, 0o644)
		}
		var stdout, stderr bytes.Buffer
		code := run([]string{"verdict", filepath.Join(results, "20261126-100100-rr-eda-smoke"),
			filepath.Join(results, "20261126-100800-rr-eda-failure-crash")}, &stdout, &stderr)
		if code != 0 {
			t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
		}
		for _, f := range []string{"verdict.json", "verdict.md"} {
			if _, err := os.Stat(filepath.Join(results, f)); err != nil {
				t.Errorf("%s not in the runs' parent folder: %v", f, err)
			}
		}
	})
}

// Repetitions of one scenario are all used, and the terminal table says
// when a status rests on one run.
func TestVerdictReadsRepetitions(t *testing.T) {
	for _, tt := range []struct {
		set  string
		want []string
	}{
		{"repeated", []string{"3 runs read, 3 used", `1 RR has lower latency at light load; EDA is "delayed" rabbitmq inconclusive`, "overlap on [54, 95]",
			"8 EDA uses resources more efficiently rabbitmq holds"}},
		{"holds", []string{`1 RR has lower latency at light load; EDA is "delayed" rabbitmq holds (single run)`}},
	} {
		t.Run(tt.set, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			dir := filepath.Join("..", "..", "verdict", "testdata", tt.set)
			if code := run([]string{"verdict", "--out", t.TempDir(), dir}, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
			}
			// The table's columns are as wide as their widest status.
			words := strings.Join(strings.Fields(stdout.String()), " ")
			for _, w := range tt.want {
				if !strings.Contains(words, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
		})
	}
}

// Runs on two backbones in one folder: the verdict is a matrix with a
// column per backbone, each run's backbone read from its summary, never
// from its folder's name (the Kafka copies sit in folders named rabbitmq).
func TestVerdictTwoBackbones(t *testing.T) {
	fixtures := filepath.Join("..", "..", "verdict", "testdata", "holds")
	dir := t.TempDir()
	entries, err := os.ReadDir(fixtures)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(fixtures, e.Name(), "summary.json"))
		if err != nil {
			t.Fatal(err)
		}
		copyRun(t, filepath.Join(fixtures, e.Name()), filepath.Join(dir, e.Name()))
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(e.Name(), "chain") {
			// RR alone, as make bench runs the chains: no backbone, shared.
			m["twins"] = map[string]any{"rr": m["twins"].(map[string]any)["rr"]}
			rb, _ := json.Marshal(m)
			os.WriteFile(filepath.Join(dir, e.Name(), "summary.json"), rb, 0o644)
			continue
		}
		if strings.Contains(e.Name(), "spike") {
			continue // no spike on kafka: claim 4 not measured there
		}
		m["run_id"] = m["run_id"].(string) + "-k"
		env := m["environment"].(map[string]any)
		delete(env, "rabbitmq")
		env["broker"] = map[string]any{"name": "kafka", "version": "4.4.0"}
		kb, _ := json.Marshal(m)
		k := filepath.Join(dir, "rabbitmq-"+e.Name())
		copyRun(t, filepath.Join(fixtures, e.Name()), k)
		os.WriteFile(filepath.Join(k, "summary.json"), kb, 0o644)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"verdict", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	md, err := os.ReadFile(filepath.Join(dir, "verdict.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"| # | claim | rabbitmq 3.10", "| kafka 4.4.0 |", "| kafka | **not measured** | not measured on kafka: no spike run",
		"`edabench run --broker kafka --scenario spike`"} {
		if !strings.Contains(string(md), w) {
			t.Errorf("verdict.md lacks %q", w)
		}
	}
	words := strings.Join(strings.Fields(stdout.String()), " ")
	for _, w := range []string{"15 runs read, 15 used", "rabbitmq 3.10.8-1.1+deb12u1; kafka 4.4.0", "kafka holds (single run) RR e2e p50",
		"rabbitmq holds (single run) (RR only)", "kafka holds (single run) (RR only)"} {
		if !strings.Contains(words, w) {
			t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
		}
	}
}

// copyRun copies a run folder's files.
func copyRun(t *testing.T, from, to string) {
	t.Helper()
	files, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(from, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, f.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
