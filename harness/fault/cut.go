package fault

import (
	"context"

	"github.com/edabench/edabench/harness/hops"
)

// cut breaks one hop: connections reset, or held open with no data.
type cut struct {
	// Mode is reset (the default) or timeout.
	Mode string
}

func (*cut) Name() string    { return "cut" }
func (c *cut) Bind(b Binder) { b.Text("mode", &c.Mode) }

func (c *cut) Check(target string) []Problem {
	out := hopTarget(target)
	if _, err := hops.ParseCutMode(c.Mode); err != nil {
		out = append(out, Problem{"mode", err.Error()})
	}
	return out
}

func (c *cut) degradation() (hops.Degradation, error) {
	mode, err := hops.ParseCutMode(c.Mode)
	return hops.Degradation{Cut: mode}, err
}

func (c *cut) Apply(ctx context.Context, env *Env, target string) (Undo, error) {
	return degradeHop(ctx, env, target, c)
}
