package scenario

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestFaultsJSON: each fault type is written into summary.json exactly as
// before the fault registry (the golden file is that code's output).
func TestFaultsJSON(t *testing.T) {
	s, err := Load("testdata/faults.yaml")
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile("testdata/faults.golden.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSpace(string(golden)), "\n")
	if len(s.Faults) != len(want) {
		t.Fatalf("%d faults, want %d", len(s.Faults), len(want))
	}
	for i, f := range s.Faults {
		got, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, []byte(want[i])) {
			t.Errorf("fault %d:\n got %s\nwant %s", i, got, want[i])
		}
	}
}

// TestParseFaultEntries: what the parser itself reports about a fault
// entry, each problem once, on its line.
func TestParseFaultEntries(t *testing.T) {
	tests := []struct{ fault, want string }{
		{"{target: payment, at: 1s, duration: 1s}", "f.yaml:5: faults[0].type: missing; use kill, pause"},
		{"{type: [kill], target: payment, at: 1s, duration: 1s}", "f.yaml:5: faults[0].type: must be a single value (text)"},
		{"{type: latency, target: payment, at: 1s, duration: 1s, latency: 5}", "faults[0].latency: 5 has no unit"},
		{"{type: bandwidth, target: payment, at: 1s, duration: 1s, rate_kbps: -8}", `faults[0].rate_kbps: "-8" is not a whole number >= 0`},
		{"{type: cpu-starve, target: payment, at: 1s, duration: 1s, cores: lots}", `faults[0].cores: "lots" is not a number`},
		{"kill", "faults[0] must be a mapping"},
	}
	for _, tt := range tests {
		src := "name: f\nstages:\n  - {name: s, duration: 10s, rate: 10}\nfaults:\n  - " + tt.fault + "\n"
		_, err := Parse([]byte(src), "f.yaml")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("fault %s: err = %v, want %q", tt.fault, err, tt.want)
			continue
		}
		if n := strings.Count(err.Error(), "f.yaml:"); n != 1 {
			t.Errorf("fault %s: %d problems, want 1: %v", tt.fault, n, err)
		}
	}
}
