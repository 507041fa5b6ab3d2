package fault

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/edabench/edabench/harness/hops"
)

// hopFault is a fault on one network hop: the twin needs proxies for it,
// and what it does is one degradation of its target's hop.
type hopFault interface {
	Type
	degradation() (hops.Degradation, error)
}

// hopTarget checks that target names a service whose hop can be degraded.
func hopTarget(target string) []Problem {
	if slices.Contains(services, target) {
		return nil
	}
	return []Problem{{"target", fmt.Sprintf("%q: name the service whose hop to degrade: %s "+
		"(RR: the link from its caller; EDA: its link to the broker), or gateway (EDA only)", target, list(steps))}}
}

// degradeHop applies f's degradation to target's hop.
func degradeHop(ctx context.Context, env *Env, target string, f hopFault) (Undo, error) {
	h := env.Twin.Hops()
	if h == nil {
		return nil, errors.New("the twin was started without network proxies (edabench places them when a scenario has a latency, cut or bandwidth fault)")
	}
	d, err := f.degradation()
	if err != nil {
		return nil, err
	}
	return h.Degrade(ctx, target, d)
}
