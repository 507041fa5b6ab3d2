// Package scenario reads the load scenarios in scenarios/*.yaml: the shape
// of the offered load (stages, a stepped ramp or a knee search), the SLOs
// a ramp or a search judges its steps against, and the run's settings (deadline, in-flight bound, drain, twin
// topology, workflow length and step cost). A scenario names its own mistakes: every
// validation error carries the file, line, field and what is accepted, and
// wraps ErrInvalid so the CLI can exit 2 on a bad scenario rather than 1.
package scenario

import (
	"errors"
	"fmt"
	"github.com/edabench/edabench/harness/fault"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edabench/edabench/harness/isolate"
	"github.com/edabench/edabench/harness/load"
	"github.com/edabench/edabench/harness/netprofile"
	"github.com/edabench/edabench/targets/workflow"
)

// ErrInvalid is wrapped by every error about a scenario's content.
var ErrInvalid = errors.New("invalid scenario")

// Defaults for settings a file leaves out.
const (
	DefaultArrival     = load.Poisson
	DefaultTimeout     = 5 * time.Second
	DefaultMaxInFlight = load.DefaultMaxInFlight
	DefaultDrain       = 60 * time.Second
	DefaultTopology    = "chain"
	DefaultSteps       = workflow.MaxSteps
	// maxRampSteps keeps a ramp's expansion, and its report, readable.
	maxRampSteps = 1000
	// maxInFlightLimit: each in-flight call holds a goroutine and a
	// connection stream; beyond this the generator, not the twin, is what
	// a run would measure.
	maxInFlightLimit = 100_000
)

// Topologies lists the topologies the twins implement.
func Topologies() []string { return []string{"chain", "fanout"} }

// Scenario is one load scenario. Parse fills defaults for omitted settings;
// Validate checks the fields as they are.
type Scenario struct {
	Name, Description string
	Arrival           load.Arrival
	// Stages, Ramp or Search shape the load; exactly one is set.
	Stages []StageSpec
	Ramp   *RampSpec
	Search *SearchSpec
	SLO    SLO
	// Timeout is the per-request deadline: it bounds how long a run waits
	// for a stalled call, so it also bounds the run's tail.
	Timeout     time.Duration
	MaxInFlight int
	// Drain is the longest wait, after the load ends, for the EDA twin's
	// backlog to be processed; the RR twin has none and returns at once.
	Drain    time.Duration
	Topology string
	// Steps is how many steps of the workflow the twins run, payment first
	// (1 to 4; 0 means 4): each one is one more hop in the RR chain.
	Steps int
	// Cost is the twins' step cost, in workflow.ParseCost's syntax; empty
	// means the twins' default.
	Cost string
	// Broker names the backbone of the EDA and hybrid twins ("rabbitmq",
	// "kafka"); empty means the runner's default. --broker overrides it.
	Broker string
	// BrokerNodes is the size of the broker's private cluster (the
	// brokers: {nodes: N} key): 0 or 1 runs the single node, 3 a
	// replicated cluster; --cluster overrides it.
	BrokerNodes int
	Seed        uint64
	// Faults are injected on the load's timeline, each undone when its
	// window ends.
	Faults []fault.Spec
	// Network is what every hop carries for the whole run (default
	// loopback: nothing, no proxies); --network overrides it.
	Network netprofile.Profile
	// Deployment is shared (every process competes for the cores) or
	// isolated (each tier capped at its CPU budget); --deployment
	// overrides it.
	Deployment string

	source string
	lines  map[string]int // field path → line, for messages
}

// StageSpec is one phase: Rate req/s for Duration, or a linear ramp from
// Rate to *To when To is set.
type StageSpec struct {
	Name     string
	Duration time.Duration
	Rate     float64
	To       *float64
}

// RampSpec is a staircase for finding a twin's knee: StepDuration at
// StartRate, then at StartRate+Step, and so on up to MaxRate.
type RampSpec struct {
	StartRate    float64
	Step         float64
	StepDuration time.Duration
	MaxRate      float64
}

// SLO is the service level a ramp step must meet. P99 zero means none.
type SLO struct {
	P99          time.Duration
	MaxErrorRate float64
}

// Met reports whether a step with that p99 and error rate meets the SLO.
func (o SLO) Met(p99 time.Duration, errorRate float64) bool {
	return (o.P99 <= 0 || p99 <= o.P99) && errorRate <= o.MaxErrorRate
}

// FieldError is one problem with one field.
type FieldError struct {
	Source string // file name, or empty
	Line   int    // 0 when unknown (a scenario built in code)
	Field  string // e.g. "stages[1].rate"
	Msg    string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Source != "" {
		b.WriteString(e.Source)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func (e *FieldError) Unwrap() error { return ErrInvalid }

// Source is the file the scenario came from ("" when built in code).
func (s *Scenario) Source() string { return s.source }

func (s *Scenario) fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Source: s.source, Line: s.lineOf(field), Field: field, Msg: fmt.Sprintf(format, args...)}
}

// lineOf finds the line of a field, or of its nearest enclosing one, so a
// missing field is reported where its parent is.
func (s *Scenario) lineOf(field string) int {
	for f := field; f != ""; {
		if l, ok := s.lines[f]; ok {
			return l
		}
		i := strings.LastIndexAny(f, ".[")
		if i < 0 {
			break
		}
		f = f[:i]
	}
	return 0
}

// Validate checks every field and returns all problems at once, each a
// *FieldError wrapping ErrInvalid.
func (s *Scenario) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) { errs = append(errs, s.fieldErr(field, format, args...)) }

	if strings.TrimSpace(s.Name) == "" {
		add("name", "missing; name the scenario (it labels the results)")
	}
	if load.CheckArrival(s.Arrival) != nil {
		add("arrival", "%q is not allowed; use uniform, poisson or on-off (bursts at 4x the rate a quarter of each second)", s.Arrival)
	}
	switch shapes := btoi(len(s.Stages) > 0) + btoi(s.Ramp != nil) + btoi(s.Search != nil); {
	case shapes == 0:
		add("stages", "missing; give stages (a list of name, duration, rate), a ramp or a search")
	case shapes > 1 && s.Search != nil:
		add("search", "cannot be combined with stages or a ramp; use one of the three")
	case shapes > 1:
		add("ramp", "cannot be combined with stages; use one or the other")
	}
	s.checkStages(add)
	s.checkRamp(add)
	s.checkSearch(add)
	s.checkFaults(add)
	// Empty (a scenario built in code) means the default.
	if err := s.Network.Check(); s.Network.Name != "" && err != nil {
		add("network", "%v", err)
	}
	if err := isolate.CheckMode(s.Deployment); s.Deployment != "" && err != nil {
		add("deployment", "%v", err)
	}
	if s.SLO.P99 < 0 {
		add("slo.p99", "%v must not be negative", s.SLO.P99)
	}
	if s.SLO.MaxErrorRate < 0 || s.SLO.MaxErrorRate > 1 || math.IsNaN(s.SLO.MaxErrorRate) {
		add("slo.max_error_rate", "%v must be a fraction in [0, 1] (0.01 is 1%%)", s.SLO.MaxErrorRate)
	}
	if s.Timeout <= 0 {
		add("timeout", "%v must be positive: it is each request's deadline", s.Timeout)
	}
	if s.MaxInFlight < 1 || s.MaxInFlight > maxInFlightLimit {
		add("max_in_flight", "%d must be between 1 and %d", s.MaxInFlight, maxInFlightLimit)
	}
	if s.Drain < 0 {
		add("drain", "%v must not be negative (0 skips the drain wait)", s.Drain)
	}
	if !slices.Contains(Topologies(), s.Topology) {
		add("topology", "%q is not allowed; use %s", s.Topology, strings.Join(Topologies(), " or "))
	}
	if s.BrokerNodes < 0 || s.BrokerNodes > MaxBrokerNodes {
		add("brokers.nodes", "%d is not allowed; use 1 (the single node) or 3 (a replicated cluster), at most %d", s.BrokerNodes, MaxBrokerNodes)
	}
	if s.Steps != 0 {
		if err := workflow.CheckStepCount(s.Steps); err != nil {
			add("steps", "%d is not allowed; use 1 to %d (payment, then inventory, shipping, notification)", s.Steps, workflow.MaxSteps)
		}
	}
	if _, err := workflow.ParseCost(workflow.DefaultCost(), s.Cost); err != nil {
		// workflow's messages start with their own "cost" label.
		msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "cost: "), "cost ")
		add("cost", "%s (keys: dist, mean, cap, mode, sigma, error)", msg)
	}
	if len(errs) == 0 {
		// The shape is sound; what is left is its size.
		if _, err := load.NewSchedule(s.LoadStages(), s.Arrival, s.Seed); err != nil {
			field := "stages"
			if s.Ramp != nil {
				field = "ramp"
			} else if s.Search != nil {
				field = "search"
			}
			add(field, "%s", strings.TrimPrefix(err.Error(), load.ErrSchedule.Error()+": "))
		}
	}
	slices.SortStableFunc(errs, func(a, b error) int { return a.(*FieldError).Line - b.(*FieldError).Line })
	return errors.Join(errs...)
}

// MaxBrokerNodes bounds brokers.nodes: each member is a broker process
// of its own on one machine.
const MaxBrokerNodes = 5

// addFunc records one problem with a field.
type addFunc func(field, format string, args ...any)

func (s *Scenario) checkStages(add addFunc) {
	seen := map[string]int{}
	for i, st := range s.Stages {
		p := fmt.Sprintf("stages[%d]", i)
		if strings.TrimSpace(st.Name) == "" {
			add(p+".name", "missing; every stage needs a phase label")
		} else if j, dup := seen[st.Name]; dup {
			add(p+".name", "%q is already the name of stages[%d]; phase labels must be unique", st.Name, j)
		} else {
			seen[st.Name] = i
		}
		if st.Duration <= 0 {
			add(p+".duration", "%v must be positive (e.g. 30s)", st.Duration)
		}
		if !positive(st.Rate) {
			add(p+".rate", "%v must be positive (requests per second)", st.Rate)
		}
		if st.To != nil && (*st.To < 0 || math.IsNaN(*st.To) || math.IsInf(*st.To, 0)) {
			add(p+".to", "%v must be a rate >= 0 (requests per second)", *st.To)
		}
	}
}

func (s *Scenario) checkRamp(add addFunc) {
	r := s.Ramp
	if r == nil {
		return
	}
	if !positive(r.StartRate) {
		add("ramp.start_rate", "%v must be positive (requests per second)", r.StartRate)
	}
	if !positive(r.Step) {
		add("ramp.step", "%v must be positive: each step adds this many req/s", r.Step)
	}
	if r.StepDuration <= 0 {
		add("ramp.step_duration", "%v must be positive (e.g. 10s)", r.StepDuration)
	}
	if !positive(r.MaxRate) || r.MaxRate < r.StartRate {
		add("ramp.max_rate", "%v must be at least start_rate (%v)", r.MaxRate, r.StartRate)
	} else if positive(r.Step) && positive(r.StartRate) && r.steps() > maxRampSteps {
		add("ramp.step", "%v gives %d steps from %v to %v; at most %d: raise step", r.Step, r.steps(), r.StartRate, r.MaxRate, maxRampSteps)
	}
	if s.SLO.P99 <= 0 {
		add("slo.p99", "missing; a ramp stops a twin at the first step that breaks its SLO, so it needs one (e.g. slo: {p99: 250ms, max_error_rate: 0.01})")
	}
}

// checkFaults judges each fault by its type, and its window against the
// load's length.
func (s *Scenario) checkFaults(add addFunc) {
	for i, f := range s.Faults {
		p := fmt.Sprintf("faults[%d]", i)
		for _, pr := range f.Validate() {
			add(p+"."+pr.Field, "%s", pr.Msg)
		}
		if total := s.TotalDuration(); f.At >= total && total > 0 {
			add(p+".at", "%v is not before the load ends (%v): the fault would never run", f.At, total)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func positive(f float64) bool { return f > 0 && !math.IsInf(f, 0) && !math.IsNaN(f) }

// steps counts the ramp's stages; the epsilon keeps a max_rate that is an
// exact multiple of the step from losing its last step to rounding.
func (r *RampSpec) steps() int {
	return int(math.Floor((r.MaxRate-r.StartRate)/r.Step+1e-9)) + 1
}

// Executor names the load executor (harness/executor's registry) that runs
// this scenario's shape: "search" brackets the knees by growth then
// bisection, "ramp" climbs fixed steps to the first that breaks, "stages"
// runs the stages as one schedule.
func (s *Scenario) Executor() string {
	if s.Search != nil {
		return "search"
	}
	if s.Ramp != nil {
		return "ramp"
	}
	return "stages"
}

// LoadStages expands the scenario into the load generator's stages.
// A search's stages are its step slots (SearchSpec.slots): the phases it
// may use, at the most it may offer.
func (s *Scenario) LoadStages() []load.Stage {
	if s.Search != nil {
		return s.Search.slots()
	}
	if r := s.Ramp; r != nil {
		if !positive(r.Step) || !positive(r.StartRate) || r.MaxRate < r.StartRate {
			return nil
		}
		n := min(r.steps(), maxRampSteps)
		out := make([]load.Stage, n)
		for i := range out {
			rate := r.StartRate + float64(i)*r.Step
			out[i] = load.Stage{Name: "step-" + formatRate(rate), Duration: r.StepDuration, From: rate, To: rate}
		}
		return out
	}
	out := make([]load.Stage, len(s.Stages))
	for i, st := range s.Stages {
		to := st.Rate
		if st.To != nil {
			to = *st.To
		}
		out[i] = load.Stage{Name: st.Name, Duration: st.Duration, From: st.Rate, To: to}
	}
	return out
}

// formatRate keeps step names short after --rate scaling ("step-137.5",
// not "step-137.49999999").
func formatRate(r float64) string {
	return strconv.FormatFloat(math.Round(r*100)/100, 'f', -1, 64)
}

// StepCount is how many steps of the workflow the twins run (Steps, with
// 0 meaning all of them).
func (s *Scenario) StepCount() int {
	if s.Steps == 0 {
		return DefaultSteps
	}
	return s.Steps
}

// NetworkProfile is the scenario's network, loopback when unset.
func (s *Scenario) NetworkProfile() netprofile.Profile {
	if s.Network.Name == "" {
		return netprofile.Profile{Name: netprofile.Loopback}
	}
	return s.Network
}

// DeploymentMode is the scenario's deployment, shared when unset.
func (s *Scenario) DeploymentMode() string {
	if s.Deployment == "" {
		return isolate.Shared
	}
	return s.Deployment
}

// OverrideSteps applies the CLI's --steps (0 keeps the scenario's).
func (s *Scenario) OverrideSteps(n int) error {
	if n == 0 {
		return nil
	}
	if err := workflow.CheckStepCount(n); err != nil {
		return &FieldError{Field: "--steps", Msg: fmt.Sprintf("%d must be 1 to %d: run the first N of payment, inventory, shipping, notification (0 keeps the scenario's)", n, workflow.MaxSteps)}
	}
	s.Steps = n
	return nil
}

// Schedule is the scenario's load schedule for a seed (normally s.Seed;
// a CLI --seed overrides it).
func (s *Scenario) Schedule(seed uint64) (*load.Schedule, error) {
	sch, err := load.NewSchedule(s.LoadStages(), s.Arrival, seed)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, s.source, err)
	}
	return sch, nil
}

// TotalDuration is how long the load lasts (the drain excluded).
func (s *Scenario) TotalDuration() time.Duration {
	var d time.Duration
	for _, st := range s.LoadStages() {
		d += st.Duration
	}
	return d
}

// PlannedDuration is the most one twin's run of the scenario takes: the
// load, then the longest drain wait. A ramp can take less, since it stops
// a twin at its knee.
func (s *Scenario) PlannedDuration() time.Duration { return s.TotalDuration() + s.Drain }

// Peak is the highest rate the scenario offers, in req/s.
func (s *Scenario) Peak() float64 {
	var p float64
	for _, st := range s.LoadStages() {
		p = max(p, st.From, st.To)
	}
	return p
}

// Override applies the CLI's --rate and --duration (zero leaves either as
// it is). rate rescales every rate so the peak equals it, keeping the
// scenario's shape (for a one-stage constant scenario, it simply sets the
// rate; for a ramp, start, step and max scale together). duration rescales
// the stage durations (or a ramp's step duration) proportionally to the new
// total, which is how a 30-minute soak becomes a short one. The result is
// validated again.
func (s *Scenario) Override(rate float64, duration time.Duration) error {
	if rate < 0 || math.IsNaN(rate) || math.IsInf(rate, 0) {
		return &FieldError{Field: "--rate", Msg: fmt.Sprintf("%v must be a positive rate in req/s (0 keeps the scenario's)", rate)}
	}
	if duration < 0 {
		return &FieldError{Field: "--duration", Msg: fmt.Sprintf("%v must be positive (0 keeps the scenario's)", duration)}
	}
	if rate > 0 {
		peak := s.Peak()
		if peak <= 0 {
			return s.fieldErr("stages", "has no positive rate to scale to --rate %v", rate)
		}
		k := rate / peak
		for i := range s.Stages {
			s.Stages[i].Rate *= k
			if s.Stages[i].To != nil {
				to := *s.Stages[i].To * k
				s.Stages[i].To = &to
			}
		}
		if s.Search != nil {
			s.Search.override(k, 0)
		}
		if r := s.Ramp; r != nil {
			n := r.steps()
			r.StartRate *= k
			r.Step *= k
			// Pin the top step to exactly rate, whatever the rounding.
			r.MaxRate = r.StartRate + float64(n-1)*r.Step
		}
	}
	if duration > 0 {
		total := s.TotalDuration()
		if total <= 0 {
			return s.fieldErr("stages", "has no duration to scale to --duration %v", duration)
		}
		if s.Search != nil {
			s.Search.override(0, duration)
		} else if r := s.Ramp; r != nil {
			r.StepDuration = roundMS(duration / time.Duration(r.steps()))
		} else {
			var sum time.Duration
			for i := range s.Stages {
				if i == len(s.Stages)-1 {
					// The last stage takes the rounding, so the total is exact.
					s.Stages[i].Duration = max(duration-sum, time.Millisecond)
					break
				}
				d := roundMS(time.Duration(float64(s.Stages[i].Duration) * float64(duration) / float64(total)))
				s.Stages[i].Duration = d
				sum += d
			}
		}
	}
	return s.Validate()
}

func roundMS(d time.Duration) time.Duration { return max(d.Round(time.Millisecond), time.Millisecond) }
