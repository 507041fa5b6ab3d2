package scenario

import (
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/load"
)

// Each invalid file must fail with ErrInvalid and a message that names the
// file, line and field, so a user can fix it without reading the code.
func TestInvalidFiles(t *testing.T) {
	cases := []struct {
		file string
		want []string // substrings of the error
	}{
		{"unknown_top.yaml", []string{"unknown_top.yaml:6: durations: unknown field; allowed: name, description, arrival, stages"}},
		{"unknown_stage.yaml", []string{"unknown_stage.yaml:5: stages[0].rps: unknown field; allowed: name, duration, rate, to"}},
		{"negative_rate.yaml", []string{"negative_rate.yaml:8: stages[1].rate: -5 must be positive"}},
		{"zero_duration.yaml", []string{"zero_duration.yaml:4: stages[0].duration: 0s must be positive"}},
		{"duration_no_unit.yaml", []string{":4: stages[0].duration: 30 has no unit"}},
		{"rate_not_number.yaml", []string{":5: stages[0].rate: \"fast\" is not a number"}},
		{"bad_arrival.yaml", []string{":2: arrival: \"bursty\" is not allowed; use uniform, poisson or on-off"}},
		{"bad_topology.yaml", []string{":2: topology: \"star\" is not allowed; use chain or fanout"}},
		{"bad_cost.yaml", []string{":2: cost: ", "gaussian", "want fixed, exponential or lognormal"}},
		{"ramp_step_zero.yaml", []string{":4: ramp.step: 0 must be positive"}},
		{"ramp_negative_step.yaml", []string{":4: ramp.step: -100 must be positive"}},
		{"ramp_no_slo.yaml", []string{"slo.p99: missing; a ramp"}},
		{"ramp_no_error_rate.yaml", []string{":7: slo.max_error_rate: missing; a ramp"}},
		{"ramp_and_stages.yaml", []string{":6: ramp: cannot be combined with stages"}},
		{"no_stages.yaml", []string{"stages: missing; give stages"}},
		{"syntax.yaml", []string{"syntax.yaml:2: YAML syntax"}}, // yaml.v3 reports the block it was parsing
		{"duplicate_key.yaml", []string{":7: timeout: given twice (first on line 2)"}},
		{"duplicate_stage_name.yaml", []string{":6: stages[1].name: \"a\" is already the name of stages[0]"}},
		{"stages_not_list.yaml", []string{":3: stages: must be a list"}},
		{"max_in_flight_zero.yaml", []string{":2: max_in_flight: 0 must be between 1"}},
		{"too_many_requests.yaml", []string{"stages: ", "above the limit"}},
		{"bad_slo_error_rate.yaml", []string{":8: slo.max_error_rate: 5 must be a fraction in [0, 1]"}},
		{"empty.yaml", []string{"empty.yaml: empty file"}},
		{"brokers_unknown.yaml", []string{":2: brokers.node: unknown field; allowed: nodes"}},
		{"brokers_too_many.yaml", []string{":3: brokers.nodes: 9 is not allowed; use 1 (the single node) or 3"}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			_, err := Load(filepath.Join("testdata", c.file))
			if err == nil {
				t.Fatal("loaded without error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			if !strings.Contains(err.Error(), filepath.Join("testdata", c.file)) {
				t.Errorf("error does not name the file: %v", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	if _, err := Load("testdata/no-such-file.yaml"); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "no-such-file.yaml") {
		t.Fatalf("err = %v, want ErrInvalid naming the file", err)
	}
}

// Every scenario shipped in scenarios/ is built in and loads as is.
func TestShippedScenarios(t *testing.T) {
	files, err := filepath.Glob("../../scenarios/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var onDisk []string
	for _, f := range files {
		onDisk = append(onDisk, strings.TrimSuffix(filepath.Base(f), ".yaml"))
	}
	if got := Shipped(); !slices.Equal(got, onDisk) {
		t.Errorf("built in: %v; scenarios/ holds %v", got, onDisk)
	}
	names := map[string]bool{}
	for _, name := range Shipped() {
		s, err := LoadShipped(name)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if s.Name != name {
			t.Errorf("scenarios/%s.yaml: name %q, want the file's name %q (the CLI finds scenarios by name)", name, s.Name, name)
		}
		if s.Description == "" {
			t.Errorf("scenarios/%s.yaml: no description", name)
		}
		if _, err := s.Schedule(s.Seed); err != nil {
			t.Errorf("scenarios/%s.yaml: %v", name, err)
		}
		names[s.Name] = true
	}
	for _, n := range []string{"smoke", "spike", "soak", "ramp", "failure-crash", "failure-pause", "failure-slow-hop", "failure-cut", "failure-broker-restart"} {
		if !names[n] {
			t.Errorf("scenarios/%s.yaml missing", n)
		}
	}
}

// A value with a slash or a dot is a file, anything else a built-in name,
// whatever the working directory holds.
func TestResolve(t *testing.T) {
	tests := []struct {
		arg, wantSource, wantErr string
		wantRate                 float64
	}{
		{arg: "smoke", wantSource: "scenarios/smoke.yaml", wantRate: 100},
		{arg: "testdata/own/smoke.yaml", wantSource: "testdata/own/smoke.yaml", wantRate: 7},
		{arg: "./testdata/own/smoke.yaml", wantSource: "./testdata/own/smoke.yaml", wantRate: 7},
		{arg: "smoke.yaml", wantErr: "open smoke.yaml: no such file"},
		{arg: "smok", wantErr: `no scenario named "smok" is built in: want one of capacity, chain, `},
		{arg: "smok", wantErr: "(edabench scenarios lists them), or a file's path such as ./smok.yaml"},
		{arg: "", wantErr: "no scenario given: want a built-in one's name (capacity, chain, "},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			s, err := Resolve(tt.arg)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Resolve(%q) = %v, want ErrInvalid and %q", tt.arg, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Source() != tt.wantSource || s.Peak() != tt.wantRate {
				t.Errorf("Resolve(%q): source %q at %v/s, want %q at %v/s", tt.arg, s.Source(), s.Peak(), tt.wantSource, tt.wantRate)
			}
		})
	}
}

// The standard suite (smoke, spike, a shortened soak and the ramp, for
// each twin in turn) must fit about 10 minutes on the 2-core machine, drain
// waits included. soakBenchDuration is what `make bench` is expected to
// pass as --duration for the soak.
// The node-fault scenarios run on a three-node cluster, aim at the leader
// and place 200 orders a second for long enough to reach 10,000 orders.
func TestNodeFaultScenarios(t *testing.T) {
	for name, typ := range map[string]string{"failure-node-kill": "kill-node", "failure-node-pause": "pause-node", "failure-partition": "partition-node"} {
		s, err := LoadShipped(name)
		if err != nil {
			t.Fatal(err)
		}
		if s.BrokerNodes != 3 {
			t.Errorf("%s: brokers.nodes %d, want 3", name, s.BrokerNodes)
		}
		if len(s.Faults) != 1 || s.Faults[0].Type.Name() != typ || s.Faults[0].Target != "leader" {
			t.Errorf("%s: faults %v, want one %s on the leader", name, s.Faults, typ)
		}
		var orders float64
		for _, st := range s.Stages {
			orders += st.Rate * st.Duration.Seconds()
		}
		if orders < 10000 || s.Stages[0].Rate != 200 {
			t.Errorf("%s: %.0f orders at %v/s, want 10,000 or more at 200/s", name, orders, s.Stages[0].Rate)
		}
		b, err := json.Marshal(s)
		if err != nil || !strings.Contains(string(b), `"brokers":{"nodes":3}`) {
			t.Errorf("%s: its JSON %s (%v) does not record brokers.nodes", name, b, err)
		}
	}
}

func TestStandardSuiteBudget(t *testing.T) {
	const (
		soakBenchDuration = time.Minute
		perTwinBudget     = 5 * time.Minute
	)
	var total time.Duration
	for _, name := range []string{"smoke", "spike", "soak", "ramp"} {
		s, err := Load("../../scenarios/" + name + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		if name == "soak" {
			if got := s.TotalDuration(); got != 30*time.Minute {
				t.Errorf("soak lasts %v by default, want 30m", got)
			}
			if err := s.Override(0, soakBenchDuration); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("%-5s load %-6v + drain %-4v = %v", name, s.TotalDuration(), s.Drain, s.PlannedDuration())
		total += s.PlannedDuration()
	}
	t.Logf("per twin %v, both twins %v", total, 2*total)
	if total > perTwinBudget {
		t.Errorf("standard suite plans %v per twin, over the %v budget", total, perTwinBudget)
	}
}

func TestParseDefaultsAndFields(t *testing.T) {
	src := `
name: x
stages:
  - {name: up, duration: 10s, rate: 10, to: 100}
  - {name: flat, duration: 5s, rate: 100}
faults:
  - {type: kill, target: payment, at: 5s, duration: 3s}
`
	s, err := Parse([]byte(src), "inline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Arrival != load.Poisson || s.Timeout != 5*time.Second || s.MaxInFlight != 512 ||
		s.Drain != 60*time.Second || s.Topology != "chain" || s.Cost != "" {
		t.Fatalf("defaults not applied: %+v", s)
	}
	if len(s.Faults) != 1 || s.Faults[0].Name() != "kill:payment" || s.Faults[0].At != 5*time.Second || s.Faults[0].Duration != 3*time.Second {
		t.Fatalf("faults: %+v, want one kill of payment at 5s for 3s", s.Faults)
	}
	got := s.LoadStages()
	want := []load.Stage{{Name: "up", Duration: 10 * time.Second, From: 10, To: 100}, {Name: "flat", Duration: 5 * time.Second, From: 100, To: 100}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("LoadStages = %+v, want %+v", got, want)
	}
	if s.TotalDuration() != 15*time.Second || s.Peak() != 100 {
		t.Fatalf("total %v peak %v, want 15s 100", s.TotalDuration(), s.Peak())
	}

	// An explicit zero is kept (and judged), not replaced by the default.
	if _, err := Parse([]byte("name: z\ntimeout: 0s\nstages: [{name: a, duration: 1s, rate: 1}]\n"), "z.yaml"); err == nil ||
		!strings.Contains(err.Error(), "z.yaml:2: timeout: 0s must be positive") {
		t.Fatalf("timeout 0s: err = %v", err)
	}
	// drain: 0s is how a run skips the drain wait.
	s, err = Parse([]byte("name: z\ndrain: 0s\nstages: [{name: a, duration: 1s, rate: 1}]\n"), "z.yaml")
	if err != nil || s.Drain != 0 {
		t.Fatalf("drain 0s: %v, %v", s, err)
	}
	// Several mistakes are reported together.
	_, err = Parse([]byte("name: m\narrival: x\ntopology: y\nstages: [{name: a, duration: 1s, rate: 1}]\n"), "m.yaml")
	if err == nil || !strings.Contains(err.Error(), "arrival") || !strings.Contains(err.Error(), "topology") {
		t.Fatalf("want both arrival and topology reported, got %v", err)
	}
}

func TestRampExpansion(t *testing.T) {
	s := &Scenario{
		Name: "r", Arrival: load.Uniform, Timeout: time.Second, MaxInFlight: 1, Topology: "chain",
		Ramp: &RampSpec{StartRate: 100, Step: 100, StepDuration: 10 * time.Second, MaxRate: 500},
		SLO:  SLO{P99: 250 * time.Millisecond, MaxErrorRate: 0.01},
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	st := s.LoadStages()
	names := make([]string, len(st))
	for i, x := range st {
		names[i] = x.Name
		if x.From != x.To || x.Duration != 10*time.Second {
			t.Fatalf("step %+v: want constant, 10s", x)
		}
	}
	if got := strings.Join(names, ","); got != "step-100,step-200,step-300,step-400,step-500" {
		t.Fatalf("steps %s", got)
	}
	if s.TotalDuration() != 50*time.Second {
		t.Fatalf("total %v, want 50s", s.TotalDuration())
	}
	// A max_rate between steps is not exceeded.
	s.Ramp.MaxRate = 450
	if n := len(s.LoadStages()); n != 4 {
		t.Fatalf("%d steps up to 450, want 4", n)
	}
}

func TestOverride(t *testing.T) {
	spike := func() *Scenario {
		s, err := Load("../../scenarios/spike.yaml")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	s := spike()
	before := s.LoadStages()
	if err := s.Override(2500, 0); err != nil {
		t.Fatal(err)
	}
	after := s.LoadStages()
	k := 2500 / 1250.0
	for i := range after {
		if math.Abs(after[i].From-before[i].From*k) > 1e-9 || after[i].Duration != before[i].Duration {
			t.Fatalf("stage %d: %+v, want rate x%v and the same duration (from %+v)", i, after[i], k, before[i])
		}
	}
	if s.Peak() != 2500 {
		t.Fatalf("peak %v after --rate 2500", s.Peak())
	}

	s = spike()
	if err := s.Override(0, 80*time.Second); err != nil {
		t.Fatal(err)
	}
	if s.TotalDuration() != 80*time.Second {
		t.Fatalf("total %v after --duration 80s", s.TotalDuration())
	}
	if d := s.Stages[1].Duration; d != 10*time.Second { // 5s of 40s, doubled
		t.Fatalf("spike stage lasts %v, want 10s (proportional)", d)
	}

	soak, err := Load("../../scenarios/soak.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := soak.Override(500, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if soak.Stages[0].Rate != 500 || soak.TotalDuration() != 2*time.Minute {
		t.Fatalf("soak after --rate 500 --duration 2m: %+v", soak.Stages[0])
	}

	ramp, err := Load("../../scenarios/ramp.yaml")
	if err != nil {
		t.Fatal(err)
	}
	steps := len(ramp.LoadStages())
	if err := ramp.Override(1500, time.Duration(steps)*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := ramp.LoadStages(); len(got) != steps || got[len(got)-1].From != 1500 || ramp.Ramp.StepDuration != time.Second {
		t.Fatalf("ramp after --rate 1500: %d steps, top %v, step %v; want %d, 1500, 1s",
			len(got), got[len(got)-1].From, ramp.Ramp.StepDuration, steps)
	}

	for _, bad := range []struct {
		rate float64
		d    time.Duration
		want string
	}{
		{-1, 0, "--rate"},
		{math.NaN(), 0, "--rate"},
		{0, -time.Second, "--duration"},
		{1e9, 0, "above the limit"},
	} {
		err := spike().Override(bad.rate, bad.d)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("Override(%v, %v) = %v, want ErrInvalid mentioning %q", bad.rate, bad.d, err, bad.want)
		}
	}
}

func TestSLOMet(t *testing.T) {
	o := SLO{P99: 250 * time.Millisecond, MaxErrorRate: 0.01}
	for _, c := range []struct {
		p99  time.Duration
		errs float64
		want bool
	}{
		{100 * time.Millisecond, 0, true},
		{250 * time.Millisecond, 0.01, true},
		{251 * time.Millisecond, 0, false},
		{10 * time.Millisecond, 0.02, false},
	} {
		if got := o.Met(c.p99, c.errs); got != c.want {
			t.Errorf("Met(%v, %v) = %v, want %v", c.p99, c.errs, got, c.want)
		}
	}
}

// A scenario built in code has no file or lines; its errors still name
// the field.
func TestValidateInCode(t *testing.T) {
	s := &Scenario{Name: "c", Arrival: load.Poisson, Timeout: time.Second, MaxInFlight: 1, Topology: "chain",
		Stages: []StageSpec{{Name: "a", Duration: time.Second, Rate: 0}}}
	err := s.Validate()
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "stages[0].rate" || fe.Line != 0 || err.Error() != "stages[0].rate: 0 must be positive (requests per second)" {
		t.Fatalf("err = %v (%+v)", err, fe)
	}
}

func TestParseRejectsBadFaults(t *testing.T) {
	tests := []struct{ fault, want string }{
		{"{type: explode, target: payment, at: 1s, duration: 1s}", `faults[0].type: "explode" is not a fault`},
		{"{type: latency, target: payment, at: 1s, duration: 1s}", "faults[0].latency: missing"},
		{"{type: cut, target: payment, at: 1s, duration: 1s, mode: drop}", `faults[0].mode: cut mode "drop"`},
		{"{type: bandwidth, target: payment, at: 1s, duration: 1s}", "faults[0].rate_kbps: missing"},
		{"{type: cpu-starve, target: payment, at: 1s, duration: 1s, cores: 0}", "faults[0].cores"},
		{"{type: kill, target: billing, at: 1s, duration: 1s}", `faults[0].target: "billing"`},
		{"{type: kill, target: payment, at: 1s}", "faults[0].duration"},
		{"{type: pause, target: gateway, at: 30s, duration: 1s}", "faults[0].at: 30s is not before the load ends"},
		{"{type: slow-step, target: shipping, at: 1s, duration: 1s}", "faults[0].mean: missing"},
		{"{type: error-step, target: shipping, at: 1s, duration: 1s, error_prob: 2}", "faults[0].error_prob"},
		{"{type: kill, target: payment, at: 1s, duration: 1s, signal: 9}", "faults[0].signal: unknown field"},
	}
	for _, tt := range tests {
		src := "name: f\nstages:\n  - {name: s, duration: 10s, rate: 10}\nfaults:\n  - " + tt.fault + "\n"
		_, err := Parse([]byte(src), "f.yaml")
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrInvalid) {
			t.Errorf("fault %s: err = %v, want %q", tt.fault, err, tt.want)
		}
	}
}
