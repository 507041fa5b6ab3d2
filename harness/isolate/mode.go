// Package isolate gives each tier of a run (the generator, which is the
// harness process itself; every service of the twin; the broker) a CPU
// budget of its own with a cgroup quota (harness/cpucap), so no tier can
// take another's CPU, as if each ran on its own host. The budgets are the
// documented defaults of Budgets, the same total for every twin.
package isolate

import (
	"fmt"
	"slices"
	"strings"
)

// The deployments.
const (
	// Shared lets every process compete for the machine's cores: the
	// harness's historical setting.
	Shared = "shared"
	// Isolated caps every tier at its budget.
	Isolated = "isolated"
)

// Modes lists the deployments.
func Modes() []string { return []string{Shared, Isolated} }

// CheckMode reports a deployment that is not one.
func CheckMode(m string) error {
	if !slices.Contains(Modes(), m) {
		return fmt.Errorf("deployment %q: want %s", m, strings.Join(Modes(), " or "))
	}
	return nil
}
