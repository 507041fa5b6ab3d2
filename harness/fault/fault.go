// Package fault injects failures into a twin while the load runs, each on a
// window of the scenario's timeline, and undoes every one when its window
// ends, or at once when the run stops for any reason: no service is left
// stopped, no step left slowed, no broker left down.
//
// Each fault type lives in a file of its own and owns its keys in a
// scenario file, their checks, and how it is applied and undone; a Registry
// lists the types a build knows (Builtin).
package fault

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/hops"
	"github.com/edabench/edabench/harness/supervise"
)

// Type is one kind of fault. A value of it also holds the settings of one
// scenario entry of that kind: the registry makes a zero one per entry and
// the entry's own keys fill it through Bind.
type Type interface {
	// Name is the value of the entry's type key.
	Name() string
	// Bind names the type's own keys (beyond type, at, duration and
	// target) and the field each fills; decoding, the JSON of a run and
	// the list of allowed keys all go through it.
	Bind(b Binder)
	// Check judges the target and the type's own settings.
	Check(target string) []Problem
	// Apply injects the fault on target and returns how to undo it.
	Apply(ctx context.Context, env *Env, target string) (Undo, error)
}

// Undo ends a fault's effect.
type Undo func(context.Context) error

// Binder reads or writes one key of a fault entry, by the kind of its value.
// A key the entry leaves out leaves its field at zero.
type Binder interface {
	Text(key string, v *string)
	Duration(key string, v *time.Duration)
	Number(key string, v *float64)
	// Count is a whole number >= 0.
	Count(key string, v *int64)
}

// Problem is one thing wrong with a fault entry: the key at fault and why.
type Problem struct{ Field, Msg string }

// Target is the twin the faults act on.
type Target interface {
	Process(svc string) *supervise.Process
	Restart(ctx context.Context, svc string) error
	HTTPAddr(svc string) string
	// Hops are the twin's network proxies; nil when it was started without.
	Hops() *hops.Set
}

// Env is what a fault acts on.
type Env struct {
	Twin   Target
	Broker brokernode.Node // nil: the twin uses no broker (RR)
	HTTP   *http.Client
	// down marks a service down on purpose until the returned func runs.
	down func(svc string) (up func())
	// node records what a node fault measured, for its window.
	node func(NodeReport)
	// bg tracks work a fault leaves running past its Apply (a leader
	// watch), so the injector's Stop waits for it; nil runs it untracked.
	bg *sync.WaitGroup
}

// NodeReport is what a fault on one node of a cluster measured: the
// member it hit, the queue (or partition) that member led when the fault
// began, if it led the one aimed at, and how long after the fault began
// another member led it (-1: none within the window).
type NodeReport struct {
	Node        string  `json:"node"`
	Queue       string  `json:"queue,omitempty"`
	NewLeaderMs float64 `json:"new_leader_ms,omitempty"`
}

// background runs f on its own goroutine, tracked by the injector.
func (e *Env) background(f func()) {
	if e.bg == nil {
		go f()
		return
	}
	e.bg.Go(f)
}

// ReportNode records r as the window's node report (the latest wins).
func (e *Env) ReportNode(r NodeReport) {
	if e.node != nil {
		e.node(r)
	}
}

// MarkDown records that svc goes down on purpose, so the runner does not
// take its exit for a crash, until up is called.
func (e *Env) MarkDown(svc string) (up func()) {
	if e.down == nil {
		return func() {}
	}
	return e.down(svc)
}

// Spec is one fault on the timeline.
type Spec struct {
	Type     Type
	At       time.Duration // from the start of the load
	Duration time.Duration
	// Target is a service (gateway, payment, inventory, shipping,
	// notification); broker-restart needs none.
	Target string
}

// Name labels the fault in tables, CSV and metrics.
func (s Spec) Name() string {
	name := "?"
	if s.Type != nil {
		name = s.Type.Name()
	}
	if s.Target == "" {
		return name
	}
	return name + ":" + s.Target
}

// Validate checks one spec; each problem names its key.
func (s Spec) Validate() []Problem {
	var out []Problem
	if s.Type == nil {
		out = append(out, Problem{"type", "missing; name the fault's type"})
	}
	if s.At < 0 {
		out = append(out, Problem{"at", fmt.Sprintf("%v must not be negative", s.At)})
	}
	if s.Duration <= 0 {
		out = append(out, Problem{"duration", fmt.Sprintf("%v must be positive: the fault is undone when its window ends", s.Duration)})
	}
	if s.Type != nil {
		out = append(out, s.Type.Check(s.Target)...)
	}
	return out
}

// NeedsProxies reports whether any of specs acts on a hop, so the twin
// needs network proxies.
func NeedsProxies(specs []Spec) bool {
	for _, s := range specs {
		if _, ok := s.Type.(hopFault); ok {
			return true
		}
	}
	return false
}

// MarshalJSON writes the spec with the keys and duration notation of the
// scenario files, in the order summary.json files have always had.
func (s Spec) MarshalJSON() ([]byte, error) {
	var own jsonFields
	if s.Type != nil {
		s.Type.Bind(&own)
	}
	var b bytes.Buffer
	b.WriteString("{")
	name := ""
	if s.Type != nil {
		name = s.Type.Name()
	}
	fields := []jsonField{{"type", name}}
	if s.Target != "" {
		fields = append(fields, jsonField{"target", s.Target})
	}
	fields = append(fields, own.plain...)
	fields = append(fields, jsonField{"at", s.At.String()}, jsonField{"duration", s.Duration.String()})
	fields = append(fields, own.durations...)
	for i, f := range fields {
		if i > 0 {
			b.WriteString(",")
		}
		k, _ := json.Marshal(f.key)
		v, err := json.Marshal(f.value)
		if err != nil {
			return nil, fmt.Errorf("fault %s: %s: %w", s.Name(), f.key, err)
		}
		b.Write(k)
		b.WriteString(":")
		b.Write(v)
	}
	b.WriteString("}")
	return b.Bytes(), nil
}

type jsonField struct {
	key   string
	value any
}

// jsonFields collects a type's own keys that are set; durations apart,
// since they follow at and duration.
type jsonFields struct{ plain, durations []jsonField }

func (j *jsonFields) Text(key string, v *string) {
	if *v != "" {
		j.plain = append(j.plain, jsonField{key, *v})
	}
}

func (j *jsonFields) Duration(key string, v *time.Duration) {
	if *v > 0 {
		j.durations = append(j.durations, jsonField{key, v.String()})
	}
}

func (j *jsonFields) Number(key string, v *float64) {
	if *v != 0 {
		j.plain = append(j.plain, jsonField{key, *v})
	}
}

func (j *jsonFields) Count(key string, v *int64) {
	if *v != 0 {
		j.plain = append(j.plain, jsonField{key, *v})
	}
}
