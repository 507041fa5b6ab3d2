package fault

import (
	"fmt"
	"slices"

	"github.com/edabench/edabench/harness/supervise"
)

// The services a fault can name, and the ones of them that run a step.
var (
	services = []string{"gateway", "payment", "inventory", "shipping", "notification"}
	steps    = []string{"payment", "inventory", "shipping", "notification"}
)

// serviceTarget checks that target is one of the twin's services.
func serviceTarget(target string) []Problem {
	if slices.Contains(services, target) {
		return nil
	}
	return []Problem{{"target", fmt.Sprintf("%q: use %s", target, list(services))}}
}

// stepTarget checks that target runs a workflow step.
func stepTarget(target string) []Problem {
	if slices.Contains(steps, target) {
		return nil
	}
	return []Problem{{"target", fmt.Sprintf("%q: use %s (a step)", target, list(steps))}}
}

// running is target's process, if it is up.
func running(env *Env, target string) (*supervise.Process, error) {
	p := env.Twin.Process(target)
	if p == nil || p.Exited() {
		return nil, fmt.Errorf("%s is not running", target)
	}
	return p, nil
}
