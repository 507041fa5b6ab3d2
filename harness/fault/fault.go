// Package fault injects failures into a twin while the load runs, each on a
// window of the scenario's timeline, and undoes every one when its window
// ends, or at once when the run stops for any reason: no service is left
// stopped, no step left slowed, no broker left down.
package fault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/edabench/edabench/harness/broker"
	"github.com/edabench/edabench/harness/cpucap"
	"github.com/edabench/edabench/harness/hops"
	"github.com/edabench/edabench/harness/supervise"
)

// Type is a kind of fault.
type Type string

const (
	// Kill sends SIGKILL to a service; the window's end starts it again.
	Kill Type = "kill"
	// Pause freezes a service (SIGSTOP) until the window ends (SIGCONT):
	// a GC pause or a stuck disk. Longer than twice the AMQP heartbeat, the
	// broker drops the frozen consumer's connection and redelivers.
	Pause Type = "pause"
	// BrokerRestart stops the private broker node; the window's end starts it.
	BrokerRestart Type = "broker-restart"
	// SlowStep raises a step's mean service time through its admin endpoint.
	SlowStep Type = "slow-step"
	// ErrorStep raises a step's error probability through its admin endpoint.
	ErrorStep Type = "error-step"
	// Latency adds latency and jitter, each way, on one hop.
	Latency Type = "latency"
	// Cut breaks one hop: connections reset, or held open with no data.
	Cut Type = "cut"
	// Bandwidth throttles one hop.
	Bandwidth Type = "bandwidth"
	// CPUStarve caps one service's CPU with a cgroup quota.
	CPUStarve Type = "cpu-starve"
)

// Types lists the fault types this build can inject.
func Types() []Type {
	return []Type{Kill, Pause, BrokerRestart, SlowStep, ErrorStep, Latency, Cut, Bandwidth, CPUStarve}
}

// Network reports whether t acts on a hop, so the twin needs proxies.
func (t Type) Network() bool { return t == Latency || t == Cut || t == Bandwidth }

// NeedsProxies reports whether any of specs acts on a hop.
func NeedsProxies(specs []Spec) bool {
	for _, s := range specs {
		if s.Type.Network() {
			return true
		}
	}
	return false
}

// Spec is one fault on the timeline.
type Spec struct {
	Type     Type          `json:"type"`
	At       time.Duration `json:"-"` // from the start of the load
	Duration time.Duration `json:"-"`
	// Target is a service (gateway, payment, inventory, shipping,
	// notification); broker-restart needs none.
	Target string `json:"target,omitempty"`
	// Mean is slow-step's service time; ErrorProb is error-step's probability.
	Mean      time.Duration `json:"-"`
	ErrorProb float64       `json:"error_prob,omitempty"`
	// Latency and Jitter are a latency fault's, added each way on the hop.
	Latency, Jitter time.Duration `json:"-"`
	// Mode is a cut's: reset (the default) or timeout.
	Mode string `json:"mode,omitempty"`
	// RateKBps is a bandwidth fault's limit, each way.
	RateKBps int64 `json:"rate_kbps,omitempty"`
	// Cores is cpu-starve's cap: 0.1 is a tenth of one CPU.
	Cores float64 `json:"cores,omitempty"`
}

// Name labels the fault in tables, CSV and metrics.
func (s Spec) Name() string {
	if s.Target == "" {
		return string(s.Type)
	}
	return string(s.Type) + ":" + s.Target
}

// MarshalJSON writes durations as the scenario files do.
func (s Spec) MarshalJSON() ([]byte, error) {
	type wire Spec
	out := struct {
		wire
		At       string `json:"at"`
		Duration string `json:"duration"`
		Mean     string `json:"mean,omitempty"`
		Latency  string `json:"latency,omitempty"`
		Jitter   string `json:"jitter,omitempty"`
	}{wire: wire(s), At: s.At.String(), Duration: s.Duration.String()}
	for _, f := range []struct {
		d   time.Duration
		out *string
	}{{s.Mean, &out.Mean}, {s.Latency, &out.Latency}, {s.Jitter, &out.Jitter}} {
		if f.d > 0 {
			*f.out = f.d.String()
		}
	}
	return json.Marshal(out)
}

// Validate checks one spec; field errors name the field.
func (s Spec) Validate() map[string]string {
	errs := map[string]string{}
	known := false
	for _, t := range Types() {
		known = known || s.Type == t
	}
	if !known {
		errs["type"] = fmt.Sprintf("%q is not a fault; use kill, pause, latency, cut, bandwidth, broker-restart, cpu-starve, slow-step or error-step", s.Type)
	}
	if s.At < 0 {
		errs["at"] = fmt.Sprintf("%v must not be negative", s.At)
	}
	if s.Duration <= 0 {
		errs["duration"] = fmt.Sprintf("%v must be positive: the fault is undone when its window ends", s.Duration)
	}
	services := map[string]bool{"gateway": true, "payment": true, "inventory": true, "shipping": true, "notification": true}
	steps := map[string]bool{"payment": true, "inventory": true, "shipping": true, "notification": true}
	switch s.Type {
	case Kill, Pause, CPUStarve:
		if !services[s.Target] {
			errs["target"] = fmt.Sprintf("%q: use gateway, payment, inventory, shipping or notification", s.Target)
		}
	case SlowStep, ErrorStep:
		if !steps[s.Target] {
			errs["target"] = fmt.Sprintf("%q: use payment, inventory, shipping or notification (a step)", s.Target)
		}
	case Latency, Cut, Bandwidth:
		if !services[s.Target] {
			errs["target"] = fmt.Sprintf("%q: name the service whose hop to degrade: payment, inventory, shipping or notification "+
				"(RR: the link from its caller; EDA: its link to the broker), or gateway (EDA only)", s.Target)
		}
	case BrokerRestart:
		if s.Target != "" && s.Target != "broker" {
			errs["target"] = fmt.Sprintf("%q: broker-restart takes no target (or broker)", s.Target)
		}
	}
	if s.Type == SlowStep && s.Mean <= 0 {
		errs["mean"] = "missing; slow-step needs the slowed mean service time, e.g. mean: 50ms"
	}
	if s.Type == Latency && s.Latency <= 0 {
		errs["latency"] = "missing; a latency fault needs the latency added each way, e.g. latency: 50ms (and optionally jitter: 10ms)"
	}
	if s.Jitter < 0 || s.Latency < 0 {
		errs["jitter"] = "latency and jitter must not be negative"
	}
	if s.Type == Cut {
		if _, err := hops.ParseCutMode(s.Mode); err != nil {
			errs["mode"] = err.Error()
		}
	}
	if s.Type == Bandwidth && s.RateKBps <= 0 {
		errs["rate_kbps"] = "missing; a bandwidth fault needs the limit in KB/s each way, e.g. rate_kbps: 64"
	}
	if s.Type == CPUStarve && (s.Cores <= 0 || s.Cores > 64) {
		errs["cores"] = fmt.Sprintf("%v: cpu-starve needs the CPU cap in cores, e.g. cores: 0.1 for a tenth of one CPU", s.Cores)
	}
	if s.Type == ErrorStep && (s.ErrorProb <= 0 || s.ErrorProb > 1) {
		errs["error_prob"] = fmt.Sprintf("%v: error-step needs a probability in (0, 1]", s.ErrorProb)
	}
	return errs
}

// Target is the twin the faults act on.
type Target interface {
	Process(svc string) *supervise.Process
	Restart(ctx context.Context, svc string) error
	HTTPAddr(svc string) string
	// Hops are the twin's network proxies; nil when it was started without.
	Hops() *hops.Set
}

// Window is one fault as it happened.
type Window struct {
	Spec
	Start, End time.Time
	Err        string `json:"error,omitempty"`
}

// Injector applies a scenario's faults to one twin.
type Injector struct {
	specs []Spec
	twin  Target
	node  *broker.Node // nil: the twin uses no broker (RR)
	log   *slog.Logger
	http  *http.Client

	mu      sync.Mutex
	windows []Window
	winOf   map[int]int                         // spec index -> its window
	undo    map[int]func(context.Context) error // active faults
	killed  map[string]int                      // services down on purpose
	stopped bool
	wg      sync.WaitGroup
	cancel  context.CancelFunc
}

// New prepares the faults; node may be nil.
func New(specs []Spec, twin Target, node *broker.Node, log *slog.Logger) *Injector {
	if log == nil {
		log = slog.Default()
	}
	return &Injector{specs: specs, twin: twin, node: node, log: log, http: &http.Client{Timeout: 5 * time.Second},
		undo: map[int]func(context.Context) error{}, killed: map[string]int{}, winOf: map[int]int{}}
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
	undo, err := in.apply(ctx, s)
	if err != nil {
		w.Err = err.Error()
		w.End = time.Now()
		in.log.Warn("fault not applied", "fault", s.Name(), "err", err)
		in.record(i, w, nil)
		return
	}
	in.log.Info("fault applied", "fault", s.Name(), "for", s.Duration)
	in.record(i, w, undo)
	if !sleepUntil(ctx, w.Start.Add(s.Duration)) {
		return // Stop undoes it
	}
	in.finish(context.WithoutCancel(ctx), i)
}

func (in *Injector) record(i int, w Window, undo func(context.Context) error) {
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
	return append([]Window(nil), in.windows...)
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

func (in *Injector) apply(ctx context.Context, s Spec) (func(context.Context) error, error) {
	switch s.Type {
	case Kill:
		p := in.twin.Process(s.Target)
		if p == nil || p.Exited() {
			return nil, fmt.Errorf("%s is not running", s.Target)
		}
		in.mu.Lock()
		in.killed[s.Target]++
		in.mu.Unlock()
		if err := p.Signal(syscall.SIGKILL); err != nil {
			return nil, err
		}
		<-p.Done()
		return func(ctx context.Context) error {
			defer func() {
				in.mu.Lock()
				in.killed[s.Target]--
				in.mu.Unlock()
			}()
			return in.twin.Restart(ctx, s.Target)
		}, nil
	case Pause:
		p := in.twin.Process(s.Target)
		if p == nil || p.Exited() {
			return nil, fmt.Errorf("%s is not running", s.Target)
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
	case BrokerRestart:
		if in.node == nil {
			return nil, errors.New("this twin uses no broker: nothing to restart")
		}
		// Not cut short when the run ends: a broker stopped half-way is
		// worse than a window that ends late. Stop escalates to SIGKILL
		// within its own bounds; a loaded machine can need all of them.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		if err := in.node.Stop(sctx); err != nil {
			return nil, fmt.Errorf("stop the broker: %w", err)
		}
		cfg := in.node.Config()
		return func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel()
			_, err := broker.Start(ctx, cfg)
			return err
		}, nil
	case SlowStep, ErrorStep:
		before, err := in.cost(ctx, s.Target)
		if err != nil {
			return nil, err
		}
		change := map[string]any{"mean": s.Mean.String()}
		if s.Type == ErrorStep {
			change = map[string]any{"error_prob": s.ErrorProb}
		} else if cp, ok := before["cap"].(string); ok {
			// A cap below the new mean would refuse the change.
			if c, err := time.ParseDuration(cp); err == nil && c > 0 && c < s.Mean {
				change["cap"] = (10 * s.Mean).String()
			}
		}
		if err := in.putCost(ctx, s.Target, change); err != nil {
			return nil, err
		}
		return func(ctx context.Context) error { return in.putCost(ctx, s.Target, before) }, nil
	case Latency, Cut, Bandwidth:
		h := in.twin.Hops()
		if h == nil {
			return nil, errors.New("the twin was started without network proxies (edabench places them when a scenario has a latency, cut or bandwidth fault)")
		}
		mode := hops.CutMode("")
		if s.Type == Cut {
			var err error
			if mode, err = hops.ParseCutMode(s.Mode); err != nil {
				return nil, err
			}
		}
		d := hops.Degradation{Cut: mode}
		if s.Type == Latency {
			d.Latency, d.Jitter = s.Latency, s.Jitter
		}
		if s.Type == Bandwidth {
			d.RateKBps = s.RateKBps
		}
		return h.Degrade(ctx, s.Target, d)
	case CPUStarve:
		p := in.twin.Process(s.Target)
		if p == nil || p.Exited() {
			return nil, fmt.Errorf("%s is not running", s.Target)
		}
		h, err := cpucap.Detect()
		if err != nil {
			return nil, err
		}
		undo, err := h.Cap(p.PID(), fmt.Sprintf("%s-%d", p.Name(), p.PID()), s.Cores)
		if err != nil {
			return nil, err
		}
		return func(context.Context) error { return undo() }, nil
	}
	return nil, fmt.Errorf("fault type %q is not implemented", s.Type)
}

func (in *Injector) cost(ctx context.Context, step string) (map[string]any, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+in.twin.HTTPAddr(step)+"/admin/cost", nil)
	resp, err := in.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read %s's cost model: %w", step, err)
	}
	defer resp.Body.Close()
	var all map[string]map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&all); err != nil {
		return nil, fmt.Errorf("read %s's cost model: %w", step, err)
	}
	c, ok := all[step]
	if !ok {
		return nil, fmt.Errorf("%s's admin endpoint has no cost model for %s", step, step)
	}
	return c, nil
}

func (in *Injector) putCost(ctx context.Context, step string, c map[string]any) error {
	b, _ := json.Marshal(c)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+in.twin.HTTPAddr(step)+"/admin/cost?step="+step, bytes.NewReader(b))
	resp, err := in.http.Do(req)
	if err != nil {
		return fmt.Errorf("change %s's cost model: %w", step, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("change %s's cost model: %s: %s", step, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
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
