package executor

import (
	"fmt"
	"strings"
)

// Registry is the executors a build has, by name. It does not change once
// made.
type Registry struct {
	names  []string
	byName map[string]Executor
}

// Builtin is every executor this build has. A new one is one file and one
// line here.
func Builtin() *Registry {
	return NewRegistry(
		Stages{},
		Ramp{},
		Search{},
	)
}

// NewRegistry lists executors; two of one name, or an unnamed one, is a
// mistake in the list and panics.
func NewRegistry(execs ...Executor) *Registry {
	r := &Registry{byName: map[string]Executor{}}
	for _, e := range execs {
		if _, dup := r.byName[e.Name()]; dup || e.Name() == "" {
			panic(fmt.Sprintf("executor: %q registered twice or unnamed", e.Name()))
		}
		r.names = append(r.names, e.Name())
		r.byName[e.Name()] = e
	}
	return r
}

// Get returns the executor called name.
func (r *Registry) Get(name string) (Executor, error) {
	if e, ok := r.byName[name]; ok {
		return e, nil
	}
	return nil, fmt.Errorf("no load executor %q in this build; the executors are %s", name, strings.Join(r.names, ", "))
}

// Names lists the executors in registration order.
func (r *Registry) Names() []string { return append([]string(nil), r.names...) }
