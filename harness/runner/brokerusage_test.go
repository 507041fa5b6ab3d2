package runner

import (
	"testing"

	"github.com/edabench/edabench/harness/procstat"
	"github.com/edabench/edabench/harness/results"
)

// TestBrokerUsage: a cluster's members are summed into the broker's
// entry, and the twin's CPU counts each member once.
func TestBrokerUsage(t *testing.T) {
	for _, tt := range []struct {
		name       string
		usage      map[string]procstat.Usage
		wantBroker float64
		wantCPU    float64
	}{
		{"one node", map[string]procstat.Usage{"harness": {CPUSeconds: 9}, "gateway": {CPUSeconds: 1}, "broker": {CPUSeconds: 2}}, 2, 3},
		{"three members", map[string]procstat.Usage{"harness": {CPUSeconds: 9}, "gateway": {CPUSeconds: 1},
			results.UsageMember(0): {CPUSeconds: 2, RSSBytes: 10}, results.UsageMember(1): {CPUSeconds: 1.5, RSSBytes: 10}, results.UsageMember(2): {CPUSeconds: 0.5, RSSBytes: 10}}, 4, 5},
		{"no broker (RR)", map[string]procstat.Usage{"harness": {CPUSeconds: 9}, "gateway": {CPUSeconds: 1}}, 0, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			foldMembers(tt.usage)
			if got := tt.usage[results.UsageBroker].CPUSeconds; got != tt.wantBroker {
				t.Errorf("broker CPU %g, want %g", got, tt.wantBroker)
			}
			if got := results.TwinCPUSeconds(tt.usage); got != tt.wantCPU {
				t.Errorf("twin CPU %g, want %g", got, tt.wantCPU)
			}
		})
	}
	if results.UsageMember(2) != "broker.node-3" {
		t.Errorf("results.UsageMember(2) = %q", results.UsageMember(2))
	}
}
