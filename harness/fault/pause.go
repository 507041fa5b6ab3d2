package fault

import (
	"context"
	"syscall"
)

// pause freezes a service (SIGSTOP) until the window ends (SIGCONT): a GC
// pause or a stuck disk. Longer than twice the AMQP heartbeat, the broker
// drops the frozen consumer's connection and redelivers.
type pause struct{}

func (*pause) Name() string                  { return "pause" }
func (*pause) Bind(Binder)                   {}
func (*pause) Check(target string) []Problem { return serviceTarget(target) }

func (*pause) Apply(_ context.Context, env *Env, target string) (Undo, error) {
	p, err := running(env, target)
	if err != nil {
		return nil, err
	}
	if err := p.Signal(syscall.SIGSTOP); err != nil {
		return nil, err
	}
	return func(context.Context) error {
		if p.Exited() {
			return nil
		}
		return p.Signal(syscall.SIGCONT)
	}, nil
}
