package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/edabench/edabench/harness/fault"
	"github.com/edabench/edabench/harness/isolate"
	"github.com/edabench/edabench/harness/load"
	"github.com/edabench/edabench/harness/netprofile"
)

// Allowed keys, in the order the messages list them.
var (
	topKeys       = []string{"name", "description", "arrival", "stages", "ramp", "search", "slo", "timeout", "max_in_flight", "drain", "topology", "steps", "cost", "broker", "brokers", "seed", "faults", "network", "deployment"}
	brokersKeys   = []string{"nodes"}
	stageKeys     = []string{"name", "duration", "rate", "to"}
	rampKeys      = []string{"start_rate", "step", "step_duration", "max_rate"}
	sloKeys       = []string{"p99", "max_error_rate"}
	searchKeys    = []string{"start", "factor", "max_rate", "precision", "min_requests", "min_step", "max_step", "settle", "max_steps", "max_duration", "slo"}
	searchSLOKeys = []string{"ack_p99", "e2e_p99", "max_error_rate"}
)

// Load reads and validates a scenario file.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return Parse(data, path)
}

// Parse decodes a scenario, fills the defaults of omitted settings and
// validates it. source names the data in errors (normally its path).
// Decoding walks yaml.v3's node tree rather than unmarshalling into
// structs, so that an unknown or mistyped field is reported with its line,
// its full path and the keys that are allowed there.
func Parse(data []byte, source string) (*Scenario, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &FieldError{Source: source, Msg: "empty file; a scenario needs at least name and stages"}
		}
		return nil, syntaxError(source, err)
	}
	if len(doc.Content) == 0 {
		return nil, &FieldError{Source: source, Msg: "empty file; a scenario needs at least name and stages"}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &FieldError{Source: source, Line: extra.Line, Msg: "more than one YAML document (---); put one scenario per file"}
	}

	s := &Scenario{source: source, lines: map[string]int{}}
	d := &decoder{s: s, faultTypes: fault.Builtin()}
	root := doc.Content[0]
	d.fields(root, "", topKeys, d.top)
	if len(d.errs) > 0 {
		return nil, errors.Join(d.errs...)
	}
	if s.Ramp != nil {
		// Zero is a legitimate error budget, so only the key's presence
		// tells a deliberate 0 from a forgotten one.
		if _, ok := s.lines["slo.max_error_rate"]; !ok {
			return nil, s.fieldErr("slo.max_error_rate", "missing; a ramp needs it to decide which step breaks the SLO (e.g. 0.01 for 1%%)")
		}
	}
	s.applyDefaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// top decodes one top-level field.
func (d *decoder) top(key string, v *yaml.Node, p string) {
	s := d.s
	switch key {
	case "name":
		s.Name = d.str(v, p)
	case "description":
		s.Description = d.str(v, p)
	case "arrival":
		s.Arrival = load.Arrival(d.str(v, p))
	case "stages":
		d.stages(v, p)
	case "ramp":
		d.ramp(v, p)
	case "search":
		d.search(v, p)
	case "slo":
		d.slo(v, p)
	case "timeout":
		s.Timeout = d.duration(v, p)
	case "max_in_flight":
		s.MaxInFlight = d.int(v, p)
	case "drain":
		s.Drain = d.duration(v, p)
	case "topology":
		s.Topology = d.str(v, p)
	case "steps":
		s.Steps = d.int(v, p)
	case "cost":
		s.Cost = d.str(v, p)
	case "broker":
		s.Broker = d.str(v, p)
	case "brokers":
		d.fields(v, p, brokersKeys, func(key string, v *yaml.Node, p string) {
			s.BrokerNodes = d.int(v, p)
		})
	case "seed":
		s.Seed = d.uint(v, p)
	case "faults":
		s.Faults = d.faults(v, p)
	case "network":
		d.network(v, p)
	case "deployment":
		s.Deployment = d.str(v, p)
	}
}

// network reads a profile's name, or a custom profile's figures.
func (d *decoder) network(v *yaml.Node, p string) {
	s := d.s
	if v.Kind == yaml.ScalarNode {
		name := d.str(v, p)
		np, err := netprofile.Named(name)
		if err != nil {
			d.fail(v, p, "%v", err)
		}
		s.Network = np
		return
	}
	s.Network = netprofile.Profile{Name: netprofile.Custom}
	d.fields(v, p, netprofile.Keys(), func(key string, v *yaml.Node, p string) {
		if val, ok := d.scalar(v, p, "a duration such as 1ms, or KB/s for bandwidth_kbps"); ok {
			if err := s.Network.Set(key, val); err != nil {
				d.fail(v, p, "%v", err)
			}
		}
	})
}

func (d *decoder) stages(v *yaml.Node, p string) {
	s := d.s
	items := d.list(v, p)
	s.Stages = make([]StageSpec, len(items))
	for i, item := range items {
		st := &s.Stages[i]
		d.fields(item, fmt.Sprintf("%s[%d]", p, i), stageKeys, func(key string, v *yaml.Node, p string) {
			switch key {
			case "name":
				st.Name = d.str(v, p)
			case "duration":
				st.Duration = d.duration(v, p)
			case "rate":
				st.Rate = d.float(v, p)
			case "to":
				to := d.float(v, p)
				st.To = &to
			}
		})
	}
}

func (d *decoder) ramp(v *yaml.Node, p string) {
	s := d.s
	s.Ramp = &RampSpec{}
	d.fields(v, p, rampKeys, func(key string, v *yaml.Node, p string) {
		switch key {
		case "start_rate":
			s.Ramp.StartRate = d.float(v, p)
		case "step":
			s.Ramp.Step = d.float(v, p)
		case "step_duration":
			s.Ramp.StepDuration = d.duration(v, p)
		case "max_rate":
			s.Ramp.MaxRate = d.float(v, p)
		}
	})
}

// search decodes a search: block over its defaults, and its own SLOs
// into the scenario's (the ack p99 is the scenario's p99).
func (d *decoder) search(v *yaml.Node, p string) {
	s := d.s
	sp := &SearchSpec{Factor: DefaultFactor, Precision: DefaultPrecision, MinRequests: DefaultMinRequests,
		MinStep: DefaultMinStep, MaxStep: DefaultMaxStep, Settle: DefaultSettle, MaxSteps: DefaultMaxSteps, MaxDuration: DefaultMaxDuration,
		MaxErrorRate: defaultSearchErrorRate}
	s.Search = sp
	s.SLO.MaxErrorRate = defaultSearchErrorRate
	d.fields(v, p, searchKeys, func(key string, v *yaml.Node, p string) {
		switch key {
		case "start":
			sp.Start = d.float(v, p)
		case "factor":
			sp.Factor = d.float(v, p)
		case "max_rate":
			sp.MaxRate = d.float(v, p)
		case "precision":
			sp.Precision = d.float(v, p)
		case "min_requests":
			sp.MinRequests = d.int(v, p)
		case "min_step":
			sp.MinStep = d.duration(v, p)
		case "max_step":
			sp.MaxStep = d.duration(v, p)
		case "settle":
			sp.Settle = d.duration(v, p)
		case "max_steps":
			sp.MaxSteps = d.int(v, p)
		case "max_duration":
			sp.MaxDuration = d.duration(v, p)
		case "slo":
			d.fields(v, p, searchSLOKeys, func(key string, v *yaml.Node, p string) {
				switch key {
				case "ack_p99":
					sp.AckP99 = d.duration(v, p)
					s.SLO.P99 = sp.AckP99
				case "e2e_p99":
					sp.E2EP99 = d.duration(v, p)
				case "max_error_rate":
					sp.MaxErrorRate = d.float(v, p)
					s.SLO.MaxErrorRate = sp.MaxErrorRate
				}
			})
		}
	})
}

func (d *decoder) slo(v *yaml.Node, p string) {
	s := d.s
	d.fields(v, p, sloKeys, func(key string, v *yaml.Node, p string) {
		switch key {
		case "p99":
			s.SLO.P99 = d.duration(v, p)
		case "max_error_rate":
			s.SLO.MaxErrorRate = d.float(v, p)
		}
	})
}

// applyDefaults fills only what the file left out: a value written as 0 is
// kept, and reported by Validate if it is wrong.
func (s *Scenario) applyDefaults() {
	has := func(k string) bool { _, ok := s.lines[k]; return ok }
	if !has("name") {
		s.Name = strings.TrimSuffix(filepath.Base(s.source), filepath.Ext(s.source))
	}
	if !has("arrival") {
		s.Arrival = DefaultArrival
	}
	if !has("timeout") {
		s.Timeout = DefaultTimeout
	}
	if !has("max_in_flight") {
		s.MaxInFlight = DefaultMaxInFlight
	}
	if !has("drain") {
		s.Drain = DefaultDrain
	}
	if !has("topology") {
		s.Topology = DefaultTopology
	}
	if !has("steps") {
		s.Steps = DefaultSteps
	}
	if !has("network") {
		s.Network = netprofile.Profile{Name: netprofile.Loopback}
	}
	if !has("deployment") {
		s.Deployment = isolate.Shared
	}
}

// yaml.v3 reports syntax errors as "yaml: line N: msg"; the line moves
// into the file:line prefix the other errors use.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func syntaxError(source string, err error) error {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &FieldError{Source: source, Line: line, Msg: "YAML syntax: " + m[2]}
	}
	return &FieldError{Source: source, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
}

// decoder collects every problem rather than stopping at the first, so one
// edit can fix a file.
type decoder struct {
	s          *Scenario
	faultTypes *fault.Registry
	errs       []error
}

func (d *decoder) fail(n *yaml.Node, field, format string, args ...any) {
	d.errs = append(d.errs, &FieldError{Source: d.s.source, Line: n.Line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fields walks a mapping, rejecting keys outside allowed and duplicates, and
// records each field's line for later messages.
func (d *decoder) fields(n *yaml.Node, path string, allowed []string, each func(key string, v *yaml.Node, path string)) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		where := path
		if where == "" {
			where = "scenario"
		}
		d.fail(n, path, "%s must be a mapping of key: value lines (keys: %s)", where, strings.Join(allowed, ", "))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		p := join(path, k.Value)
		if !slices.Contains(allowed, k.Value) {
			d.fail(k, p, "unknown field; allowed: %s", strings.Join(allowed, ", "))
			continue
		}
		if first, dup := d.s.lines[p]; dup {
			d.fail(k, p, "given twice (first on line %d)", first)
			continue
		}
		d.s.lines[p] = k.Line
		each(k.Value, v, p)
	}
}

func (d *decoder) list(n *yaml.Node, path string) []*yaml.Node {
	switch {
	case n.Kind == yaml.SequenceNode:
		out := make([]*yaml.Node, len(n.Content))
		for i, c := range n.Content {
			out[i] = resolve(c)
			d.s.lines[fmt.Sprintf("%s[%d]", path, i)] = c.Line
		}
		return out
	case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		return nil
	default:
		d.fail(n, path, "must be a list (lines starting with '- ')")
		return nil
	}
}

// scalar returns a scalar's text, failing on lists, mappings and empty values.
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "must be a single value (%s), not a list or mapping", want)
		return "", false
	}
	if n.Tag == "!!null" {
		d.fail(n, path, "has no value; want %s", want)
		return "", false
	}
	return n.Value, true
}

func (d *decoder) str(n *yaml.Node, path string) string {
	v, _ := d.scalar(n, path, "text")
	return v
}

func (d *decoder) float(n *yaml.Node, path string) float64 {
	v, ok := d.scalar(n, path, "a number")
	if !ok {
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		d.fail(n, path, "%q is not a number", v)
		return 0
	}
	return f
}

func (d *decoder) int(n *yaml.Node, path string) int {
	v, ok := d.scalar(n, path, "a whole number")
	if !ok {
		return 0
	}
	i, err := strconv.Atoi(v)
	if err != nil {
		d.fail(n, path, "%q is not a whole number", v)
	}
	return i
}

func (d *decoder) uint(n *yaml.Node, path string) uint64 {
	v, ok := d.scalar(n, path, "a whole number >= 0")
	if !ok {
		return 0
	}
	u, err := strconv.ParseUint(v, 0, 64)
	if err != nil {
		d.fail(n, path, "%q is not a whole number >= 0", v)
	}
	return u
}

func (d *decoder) duration(n *yaml.Node, path string) time.Duration {
	v, ok := d.scalar(n, path, "a duration such as 30s or 2m")
	if !ok {
		return 0
	}
	dur, err := time.ParseDuration(v)
	if err != nil {
		if _, numErr := strconv.ParseFloat(v, 64); numErr == nil {
			d.fail(n, path, "%s has no unit; write e.g. %ss or %sms", v, v, v)
		} else {
			d.fail(n, path, "%q is not a duration; write e.g. 30s, 2m or 1m30s", v)
		}
		return 0
	}
	return dur
}
