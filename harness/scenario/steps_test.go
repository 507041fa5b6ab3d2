package scenario

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParseSteps(t *testing.T) {
	const base = "name: s\nstages: [{name: a, duration: 1s, rate: 1}]\n"
	tests := []struct {
		name, yaml string
		want       int    // StepCount
		err        string // substring of the error; "" for valid
	}{
		{"absent is the whole workflow", "", 4, ""},
		{"zero is the whole workflow", "steps: 0\n", 4, ""},
		{"one", "steps: 1\n", 1, ""},
		{"two", "steps: 2\n", 2, ""},
		{"four", "steps: 4\n", 4, ""},
		{"too many", "steps: 5\n", 0, "s.yaml:3: steps: 5 is not allowed; use 1 to 4"},
		{"negative", "steps: -1\n", 0, "steps: -1 is not allowed"},
		{"not a number", "steps: two\n", 0, `steps: "two" is not a whole number`},
		{"not a scalar", "steps: [1, 2]\n", 0, "steps: must be a single value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(base+tt.yaml), "s.yaml")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrInvalid) {
					t.Fatalf("err = %v, want ErrInvalid with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.StepCount() != tt.want {
				t.Fatalf("StepCount = %d, want %d", s.StepCount(), tt.want)
			}
		})
	}
}

func TestOverrideSteps(t *testing.T) {
	tests := []struct {
		n, want int
		err     string
	}{
		{0, 3, ""}, // keeps the scenario's
		{1, 1, ""},
		{4, 4, ""},
		{5, 3, "--steps: 5 must be 1 to 4"},
		{-2, 3, "--steps: -2 must be 1 to 4"},
	}
	for _, tt := range tests {
		s, err := Parse([]byte("name: s\nsteps: 3\nstages: [{name: a, duration: 1s, rate: 1}]\n"), "s.yaml")
		if err != nil {
			t.Fatal(err)
		}
		err = s.OverrideSteps(tt.n)
		if (err == nil) != (tt.err == "") || (err != nil && (!strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrInvalid))) {
			t.Errorf("OverrideSteps(%d) = %v, want %q", tt.n, err, tt.err)
		}
		if s.StepCount() != tt.want {
			t.Errorf("OverrideSteps(%d): StepCount %d, want %d", tt.n, s.StepCount(), tt.want)
		}
	}
}

// summary.json records the workflow length a run used, 4 when the scenario
// left it out.
func TestStepsInJSON(t *testing.T) {
	for _, tt := range []struct {
		yaml string
		want int
	}{{"", 4}, {"steps: 2\n", 2}} {
		s, err := Parse([]byte("name: s\n"+tt.yaml+"stages: [{name: a, duration: 1s, rate: 1}]\n"), "s.yaml")
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ Steps int }
		if err := json.Unmarshal(b, &got); err != nil || got.Steps != tt.want {
			t.Fatalf("%s: steps %d (%v), want %d", b, got.Steps, err, tt.want)
		}
	}
	s := &Scenario{}
	if b, _ := json.Marshal(s); !strings.Contains(string(b), `"steps":4`) {
		t.Fatalf("a scenario built in code without steps: %s, want steps 4", b)
	}
}

func TestChainScenario(t *testing.T) {
	s, err := Load("../../scenarios/chain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Topology != "chain" || s.StepCount() != 4 || s.Cost != "dist=fixed,mean=2ms" {
		t.Fatalf("chain.yaml: topology %s, steps %d, cost %q: want chain, 4 (picked per run with --steps), a fixed cost",
			s.Topology, s.StepCount(), s.Cost)
	}
}
