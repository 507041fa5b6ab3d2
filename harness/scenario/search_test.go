package scenario

import (
	"strings"
	"testing"
	"time"
)

const searchYAML = `name: k
search:
  start: 50
  max_rate: 800
  max_steps: 6
  max_duration: 1m
  slo: {ack_p99: 250ms, e2e_p99: 1s}
`

func TestSearchParses(t *testing.T) {
	s, err := Parse([]byte(searchYAML), "k.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Executor() != "search" {
		t.Errorf("executor %q, want search", s.Executor())
	}
	sp := s.Search
	if sp.Factor != DefaultFactor || sp.Precision != DefaultPrecision || sp.MinRequests != DefaultMinRequests || sp.MaxErrorRate != 0.01 {
		t.Errorf("defaults not filled: %+v", sp)
	}
	if s.SLO.P99 != 250*time.Millisecond || s.SLO.MaxErrorRate != 0.01 {
		t.Errorf("scenario SLO %+v, want the search's ack SLO", s.SLO)
	}
	st := s.LoadStages()
	if len(st) != 6 || st[0].Name != "search-01" || st[5].To != 800 || s.TotalDuration() != time.Minute {
		t.Errorf("slots %+v, total %v: want 6 slots at 800/s filling 1m", st, s.TotalDuration())
	}
	// 2,000 requests: 40 s at 50/s bounded to 10 s, 2.5 s at 800/s raised to 3 s.
	if d := sp.StepDuration(50); d != DefaultMaxStep {
		t.Errorf("step at 50/s %v", d)
	}
	if d := sp.StepDuration(800); d != DefaultMinStep {
		t.Errorf("step at 800/s %v", d)
	}
	if d := sp.StepDuration(400); d != 5*time.Second {
		t.Errorf("step at 400/s %v", d)
	}
	if err := s.Override(1600, 2*time.Minute); err != nil || sp.MaxRate != 1600 || sp.Start != 100 || sp.MaxDuration != 2*time.Minute {
		t.Errorf("override: %v, %+v", err, sp)
	}
}

func TestSearchValidation(t *testing.T) {
	for _, c := range []struct{ edit, field, want string }{
		{"start: 50", "search.start", "must be positive"},
		{"max_rate: 800", "search.max_rate", "at least start"},
		{"max_steps: 6", "search.max_steps", "between 2 and"},
		{"slo: {ack_p99: 250ms, e2e_p99: 1s}", "search.slo.e2e_p99", "missing"},
	} {
		bad := map[string]string{
			"start: 50":                          "start: 0",
			"max_rate: 800":                      "max_rate: 10",
			"max_steps: 6":                       "max_steps: 1",
			"slo: {ack_p99: 250ms, e2e_p99: 1s}": "slo: {ack_p99: 250ms}",
		}[c.edit]
		_, err := Parse([]byte(strings.Replace(searchYAML, c.edit, bad, 1)), "k.yaml")
		if err == nil || !strings.Contains(err.Error(), c.field+": ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %s: ...%s", bad, err, c.field, c.want)
		}
	}
	_, err := Parse([]byte(searchYAML+"stages: [{name: a, duration: 1s, rate: 1}]\n"), "k.yaml")
	if err == nil || !strings.Contains(err.Error(), "search: cannot be combined") {
		t.Errorf("search with stages: %v", err)
	}
	_, err = Parse([]byte(searchYAML+"slo: {p99: 1s, max_error_rate: 0.01}\n"), "k.yaml")
	if err == nil || !strings.Contains(err.Error(), "search.slo") {
		t.Errorf("search with a top-level slo: %v", err)
	}
}
