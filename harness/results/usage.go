package results

import (
	"fmt"
	"strings"

	"github.com/edabench/edabench/harness/procstat"
)

// UsageBroker is the broker's entry in a twin's usage: on a cluster, the
// sum of its members, each of which also has an entry of its own
// (UsageMember). UsageHarness is the load generator's own.
const (
	UsageBroker  = "broker"
	UsageHarness = "harness"
)

// usageMemberPrefix starts a cluster member's usage entry.
const usageMemberPrefix = UsageBroker + ".node-"

// UsageMember names cluster member i's (from 0) usage entry: "broker.node-1".
func UsageMember(i int) string { return fmt.Sprintf("%s%d", usageMemberPrefix, i+1) }

// IsUsageMember says whether a usage entry is a cluster member's.
func IsUsageMember(name string) bool { return strings.HasPrefix(name, usageMemberPrefix) }

// TwinCPUSeconds is the CPU seconds of a twin's processes, the broker's
// included (a cluster's members once, through the broker's sum), the
// harness's apart: what CPU per order divides.
func TwinCPUSeconds(u map[string]procstat.Usage) float64 {
	var cpu float64
	for name, x := range u {
		if name != UsageHarness && !IsUsageMember(name) {
			cpu += x.CPUSeconds
		}
	}
	return cpu
}
