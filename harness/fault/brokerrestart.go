package fault

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/nodeproc"
)

// NodeMarks is a broker fault's own timeline, so that a run tells how long
// the node itself was away from how long the twin took to use it again: a
// slow restart and a slow reconnect look alike from the load alone. A zero
// time is a step not reached.
type NodeMarks struct {
	// StopAsked is when the node was asked to stop (SIGTERM), Gone when
	// its OS process had ended.
	StopAsked time.Time `json:"stop_asked"`
	Gone      time.Time `json:"gone"`
	// StartAsked is when the node was started again, Back when its new OS
	// process was up, Serving when it first confirmed a publish through a
	// fresh client (brokernode.ServeProber; for a node without one, when
	// its Start returned).
	StartAsked time.Time `json:"start_asked"`
	Back       time.Time `json:"back"`
	Serving    time.Time `json:"serving"`
}

// NodeMarker is a fault type that records a node's timeline; the
// injector copies it into the fault's window.
type NodeMarker interface {
	NodeMarks() *NodeMarks
}

// markPoll is how often a mark's condition is checked: a small part of a
// stop or boot of seconds, and cheap (/proc reads, a refused connection).
const markPoll = 10 * time.Millisecond

// serveProbeTimeout bounds one serve probe (the node's own probe may bound
// it tighter): long enough that an attempt begun while the node boots
// retries inside until the node takes the message, rather than being cut
// and begun again (a Kafka topic created anew each time), which on a
// loaded machine put the mark seconds late; short enough that a probe
// stuck on a half-open connection does not hide the next one.
const serveProbeTimeout = 10 * time.Second

// brokerRestart stops the private broker node; the window's end starts it.
type brokerRestart struct {
	mu    sync.Mutex
	marks NodeMarks
}

func (*brokerRestart) Name() string { return "broker-restart" }
func (*brokerRestart) Bind(Binder)  {}

func (*brokerRestart) Check(target string) []Problem {
	if target != "" && target != "broker" {
		return []Problem{{"target", fmt.Sprintf("%q: broker-restart takes no target (or broker)", target)}}
	}
	return nil
}

// NodeMarks returns a copy of the marks so far; nil before the fault ran.
func (f *brokerRestart) NodeMarks() *NodeMarks {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.marks.StopAsked.IsZero() {
		return nil
	}
	m := f.marks
	return &m
}

func (f *brokerRestart) mark(set func(m *NodeMarks)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	set(&f.marks)
}

func (f *brokerRestart) Apply(ctx context.Context, env *Env, _ string) (Undo, error) {
	if env.Broker == nil {
		return nil, errors.New("this twin uses no broker: nothing to restart")
	}
	node := env.Broker
	// Not cut short when the run ends: a broker stopped half-way is worse
	// than a window that ends late. Stop escalates to SIGKILL within its
	// own bounds; a loaded machine can need all of them.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	old := node.PID()
	f.mark(func(m *NodeMarks) { m.StopAsked = time.Now() })
	gone := watch(sctx, func() bool { return old == 0 || !nodeproc.Alive(old) })
	err := node.Stop(sctx)
	goneAt := gone.stop()
	f.mark(func(m *NodeMarks) { m.Gone = orNow(goneAt, err == nil) })
	if err != nil {
		return nil, fmt.Errorf("stop the broker: %w", err)
	}
	return func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		return f.start(ctx, node, old)
	}, nil
}

// start starts the node again and marks when its process is back and when
// it serves; it returns once it serves (or cannot), so that the window's
// end is never before the node is usable.
func (f *brokerRestart) start(ctx context.Context, node brokernode.Node, old int) error {
	f.mark(func(m *NodeMarks) { m.StartAsked = time.Now() })
	back := watch(ctx, func() bool { p := node.PID(); return p > 0 && p != old })
	prober, _ := node.(brokernode.ServeProber)
	var serving *watcher
	if prober != nil {
		// Probing from the start on, not after Start returns: Start also
		// sweeps dead runs' topologies after the node is ready, and the
		// mark is the node's, not the sweep's.
		serving = watch(ctx, func() bool {
			pctx, cancel := context.WithTimeout(ctx, serveProbeTimeout)
			defer cancel()
			return prober.ProbeServe(pctx) == nil
		})
	}
	err := node.Start(ctx)
	backAt := back.stop()
	f.mark(func(m *NodeMarks) { m.Back = orNow(backAt, err == nil) })
	if err != nil {
		if serving != nil {
			serving.stop()
		}
		return fmt.Errorf("start the broker: %w", err)
	}
	at := time.Now()
	if serving != nil {
		if at = serving.wait(ctx); at.IsZero() {
			return fmt.Errorf("the broker started but confirmed no publish: %w", context.Cause(ctx))
		}
	}
	f.mark(func(m *NodeMarks) { m.Serving = at })
	return nil
}

// watcher checks a condition every markPoll in a goroutine of its own
// until it holds or it is stopped, and keeps when it first held.
type watcher struct {
	cancel context.CancelFunc
	done   chan struct{}
	at     time.Time // set before done closes; zero: never held
}

func watch(ctx context.Context, cond func() bool) *watcher {
	ctx, cancel := context.WithCancel(ctx)
	w := &watcher{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			if cond() {
				w.at = time.Now()
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(markPoll):
			}
		}
	}()
	return w
}

// stop ends the watch and gives when the condition first held, zero if
// it had not.
func (w *watcher) stop() time.Time {
	w.cancel()
	<-w.done
	return w.at
}

// wait waits for the condition or ctx's end, then stops the watch.
func (w *watcher) wait(ctx context.Context) time.Time {
	select {
	case <-w.done:
	case <-ctx.Done():
	}
	return w.stop()
}

// orNow is at, or now when at was missed but the step is known done (the
// process ended between two checks of a watch already stopped).
func orNow(at time.Time, done bool) time.Time {
	if at.IsZero() && done {
		return time.Now()
	}
	return at
}
