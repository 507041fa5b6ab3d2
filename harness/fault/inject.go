package fault

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
)

// Window is one fault as it happened.
type Window struct {
	Spec
	Start, End time.Time
	Err        string `json:"error,omitempty"`
	// Marks is a broker fault's own timeline (see NodeMarks); nil for
	// other faults.
	Marks *NodeMarks `json:"marks,omitempty"`
	// Node is what a node fault on a cluster measured; nil for the others.
	Node *NodeReport `json:"node,omitempty"`
}

// Injector applies a scenario's faults to one twin.
type Injector struct {
	specs []Spec
	env   *Env
	log   *slog.Logger

	mu      sync.Mutex
	windows []Window
	winOf   map[int]int        // spec index -> its window
	nodes   map[int]NodeReport // spec index -> what its node fault measured
	undo    map[int]Undo       // active faults
	killed  map[string]int     // services down on purpose
	// beforeDown runs as a fault is about to take a service down.
	beforeDown func(svc string)
	stopped    bool
	wg         sync.WaitGroup
	cancel     context.CancelFunc
}

// New prepares the faults; node may be nil.
func New(specs []Spec, twin Target, node brokernode.Node, log *slog.Logger) *Injector {
	if log == nil {
		log = slog.Default()
	}
	in := &Injector{specs: specs, log: log, undo: map[int]Undo{}, killed: map[string]int{}, winOf: map[int]int{}, nodes: map[int]NodeReport{}}
	in.env = &Env{Twin: twin, Broker: node, HTTP: &http.Client{Timeout: 5 * time.Second}, down: in.markDown}
	return in
}

// BeforeDown sets f to run each time a fault is about to take a service
// down on purpose, before it does: the queue depth reads the service's
// counters one last time there. The fault waits for f, so f must be quick.
func (in *Injector) BeforeDown(f func(svc string)) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.beforeDown = f
}

// markDown counts svc down on purpose until up runs, once.
func (in *Injector) markDown(svc string) (up func()) {
	in.mu.Lock()
	in.killed[svc]++
	before := in.beforeDown
	in.mu.Unlock()
	if before != nil {
		before(svc)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			in.mu.Lock()
			in.killed[svc]--
			in.mu.Unlock()
		})
	}
}

func (in *Injector) apply(ctx context.Context, i int, s Spec) (Undo, error) {
	if s.Type == nil {
		return nil, errors.New("the fault has no type")
	}
	env := *in.env // the window's own report
	env.bg = &in.wg
	env.node = func(r NodeReport) {
		in.mu.Lock()
		defer in.mu.Unlock()
		in.nodes[i] = r
	}
	return s.Type.Apply(ctx, &env, s.Target)
}

// Start schedules every fault relative to start and returns at once.
func (in *Injector) Start(ctx context.Context, start time.Time) {
	ctx, in.cancel = context.WithCancel(ctx)
	for i, s := range in.specs {
		in.wg.Add(1)
		go func() {
			defer in.wg.Done()
			in.window(ctx, i, s, start)
		}()
	}
}

func (in *Injector) window(ctx context.Context, i int, s Spec, start time.Time) {
	if !sleepUntil(ctx, start.Add(s.At)) {
		return
	}
	in.mu.Lock()
	if in.stopped {
		in.mu.Unlock()
		return
	}
	in.mu.Unlock()
	w := Window{Spec: s, Start: time.Now()}
	undo, err := in.apply(ctx, i, s)
	if err != nil {
		w.Err = err.Error()
		w.End = time.Now()
		in.log.Warn("fault not applied", "fault", s.Name(), "err", err)
		in.record(i, w, nil)
		return
	}
	// A broker fault's window runs from when the node was asked to stop:
	// on a loaded machine the steps before it (reading the node's pid)
	// took 0.24 s once, which would have started the node that much
	// before the window's duration had passed since its stop was asked.
	if m, ok := s.Type.(NodeMarker); ok {
		if nm := m.NodeMarks(); nm != nil && nm.StopAsked.After(w.Start) {
			w.Start = nm.StopAsked
		}
	}
	in.log.Info("fault applied", "fault", s.Name(), "for", s.Duration)
	in.record(i, w, undo)
	if !sleepUntil(ctx, w.Start.Add(s.Duration)) {
		return // Stop undoes it
	}
	in.finish(context.WithoutCancel(ctx), i)
}

func (in *Injector) record(i int, w Window, undo Undo) {
	in.mu.Lock()
	defer in.mu.Unlock()
	w.Spec = in.specs[i]
	in.winOf[i] = len(in.windows)
	in.windows = append(in.windows, w)
	if undo != nil {
		in.undo[i] = undo
	}
}

// finish undoes fault i once, and closes its window.
func (in *Injector) finish(ctx context.Context, i int) error {
	in.mu.Lock()
	undo := in.undo[i]
	delete(in.undo, i)
	in.mu.Unlock()
	if undo == nil {
		return nil
	}
	err := undo(ctx)
	in.mu.Lock()
	defer in.mu.Unlock()
	if j, ok := in.winOf[i]; ok {
		in.windows[j].End = time.Now()
		if err != nil {
			in.windows[j].Err = "undo: " + err.Error()
		}
	}
	if err != nil {
		in.log.Error("fault not undone", "fault", in.specs[i].Name(), "err", err)
	} else {
		in.log.Info("fault undone", "fault", in.specs[i].Name())
	}
	return err
}

// Stop cancels the faults not yet started and undoes the active ones. Safe
// to call on every exit path, more than once.
func (in *Injector) Stop(ctx context.Context) error {
	in.mu.Lock()
	in.stopped = true
	in.mu.Unlock()
	if in.cancel != nil {
		in.cancel()
	}
	in.wg.Wait()
	var errs []error
	for i := range in.specs {
		errs = append(errs, in.finish(ctx, i))
	}
	return errors.Join(errs...)
}

// Windows returns the faults that ran, in start order.
func (in *Injector) Windows() []Window {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := append([]Window(nil), in.windows...)
	for i := range out {
		if m, ok := out[i].Type.(NodeMarker); ok {
			out[i].Marks = m.NodeMarks()
		}
	}
	for i, j := range in.winOf {
		if r, ok := in.nodes[i]; ok {
			out[j].Node = &r
		}
	}
	return out
}

// Active names the faults in effect now.
func (in *Injector) Active() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []string
	for i := range in.specs {
		if in.undo[i] != nil {
			out = append(out, in.specs[i].Name())
		}
	}
	return out
}

// Deliberate reports whether svc is down because a fault killed it, so the
// runner does not take its exit for a crash.
func (in *Injector) Deliberate(svc string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.killed[svc] > 0
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}
