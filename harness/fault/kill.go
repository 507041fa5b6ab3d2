package fault

import (
	"context"
	"syscall"
)

// kill sends SIGKILL to a service; the window's end starts it again.
type kill struct{}

func (*kill) Name() string                  { return "kill" }
func (*kill) Bind(Binder)                   {}
func (*kill) Check(target string) []Problem { return serviceTarget(target) }

func (*kill) Apply(_ context.Context, env *Env, target string) (Undo, error) {
	p, err := running(env, target)
	if err != nil {
		return nil, err
	}
	up := env.MarkDown(target)
	if err := p.Signal(syscall.SIGKILL); err != nil {
		up()
		return nil, err
	}
	<-p.Done()
	return func(ctx context.Context) error {
		defer up()
		return env.Twin.Restart(ctx, target)
	}, nil
}
