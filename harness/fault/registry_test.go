package fault

import (
	"slices"
	"strings"
	"testing"
)

func TestBuiltinRegistry(t *testing.T) {
	r := Builtin()
	want := []string{"kill", "pause", "latency", "cut", "bandwidth", "broker-restart", "cpu-starve", "slow-step", "error-step", "kill-node", "pause-node", "restart-node", "partition-node"}
	if got := r.Names(); !slices.Equal(got, want) {
		t.Fatalf("names %v, want %v", got, want)
	}
	// Every key a scenario file could carry before the registry still is.
	for _, k := range []string{"type", "at", "duration", "target", "mean", "error_prob", "latency", "jitter", "mode", "rate_kbps", "cores"} {
		if !slices.Contains(r.Keys(), k) {
			t.Errorf("key %s not allowed; keys %v", k, r.Keys())
		}
	}
	if n := len(r.Keys()); n != 11 {
		t.Errorf("%d keys %v, want 11", n, r.Keys())
	}
}

func TestRegistryDecode(t *testing.T) {
	tests := []struct {
		e     entry
		field string // the problem's key; "" for none
		msg   string
	}{
		{entry{"type": "latency", "latency": "5ms"}, "", ""},
		{entry{"type": "partition"}, "type", `"partition" is not a fault; use kill, pause, latency, cut, bandwidth, broker-restart, cpu-starve, slow-step, error-step, kill-node, pause-node, restart-node or partition-node`},
		{entry{"target": "payment"}, "type", "missing; use kill, pause"},
	}
	for _, tt := range tests {
		s, problems := Builtin().Decode(entryBinder{t, tt.e})
		switch {
		case tt.field == "" && len(problems) > 0:
			t.Errorf("%v: %v", tt.e, problems)
		case tt.field != "" && (len(problems) != 1 || problems[0].Field != tt.field || !strings.Contains(problems[0].Msg, tt.msg)):
			t.Errorf("%v: problems %v, want %s: %s", tt.e, problems, tt.field, tt.msg)
		case tt.field == "" && s.Type.Name() != tt.e["type"]:
			t.Errorf("%v: decoded as %s", tt.e, s.Name())
		}
	}
}

// TestRegistryRejectsMistakes: a list with a name twice, or a type that
// claims a common key, is a programming error caught at once.
func TestRegistryRejectsMistakes(t *testing.T) {
	for name, types := range map[string][]func() Type{
		"twice":      {func() Type { return &kill{} }, func() Type { return &kill{} }},
		"common key": {func() Type { return &claimsTarget{} }},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			NewRegistry(types...)
		}()
	}
}

type claimsTarget struct {
	kill
	target string
}

func (c *claimsTarget) Name() string  { return "claims-target" }
func (c *claimsTarget) Bind(b Binder) { b.Text("target", &c.target) }
