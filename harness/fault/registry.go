package fault

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// The keys every fault entry has, before its type's own.
var commonKeys = []string{"type", "at", "duration", "target"}

// Registry is the fault types a build can inject, by name. It does not
// change once made.
type Registry struct {
	names []string
	types map[string]func() Type
	keys  []string
}

// Builtin is every fault type this build has. A new type is one file and
// one line here.
func Builtin() *Registry {
	return NewRegistry(
		func() Type { return &kill{} },
		func() Type { return &pause{} },
		func() Type { return &latency{} },
		func() Type { return &cut{} },
		func() Type { return &bandwidth{} },
		func() Type { return &brokerRestart{} },
		func() Type { return &cpuStarve{} },
		func() Type { return &slowStep{} },
		func() Type { return &errorStep{} },
		func() Type { return &killNode{} },
		func() Type { return &pauseNode{} },
		func() Type { return &restartNode{} },
		func() Type { return &partitionNode{} },
	)
}

// NewRegistry lists types, each given as the function that makes a zero
// one. Two types of one name, or a type that claims a key every fault has,
// is a mistake in the list and panics.
func NewRegistry(types ...func() Type) *Registry {
	r := &Registry{types: map[string]func() Type{}, keys: slices.Clone(commonKeys)}
	for _, newType := range types {
		t := newType()
		if _, dup := r.types[t.Name()]; dup || t.Name() == "" {
			panic(fmt.Sprintf("fault: type %q registered twice or unnamed", t.Name()))
		}
		r.names = append(r.names, t.Name())
		r.types[t.Name()] = newType
		var keys keyList
		t.Bind(&keys)
		for _, k := range keys {
			if slices.Contains(commonKeys, k) {
				panic(fmt.Sprintf("fault: type %q binds %q, a key every fault has", t.Name(), k))
			}
			if !slices.Contains(r.keys, k) {
				r.keys = append(r.keys, k)
			}
		}
	}
	return r
}

// Names lists the types in the order they were registered.
func (r *Registry) Names() []string { return slices.Clone(r.names) }

// Keys lists every key a fault entry may have: the common ones, then each
// type's own. An entry may carry a key of another type; its type ignores it.
func (r *Registry) Keys() []string { return slices.Clone(r.keys) }

// Decode reads one scenario entry through b: the keys every fault has, then
// its type's own. A problem is returned when the type names none this
// registry has; the entry's values are judged later, by Spec.Validate.
func (r *Registry) Decode(b Binder) (Spec, []Problem) {
	var s Spec
	var name string
	b.Text("type", &name)
	b.Duration("at", &s.At)
	b.Duration("duration", &s.Duration)
	b.Text("target", &s.Target)
	newType, ok := r.types[name]
	if !ok {
		use := "use " + list(r.names)
		if name == "" {
			return s, []Problem{{"type", "missing; " + use}}
		}
		return s, []Problem{{"type", fmt.Sprintf("%q is not a fault; %s", name, use)}}
	}
	s.Type = newType()
	s.Type.Bind(b)
	return s, nil
}

// list joins names as "a, b or c".
func list(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// keyList collects the keys a type binds.
type keyList []string

func (k *keyList) Text(key string, _ *string)            { *k = append(*k, key) }
func (k *keyList) Duration(key string, _ *time.Duration) { *k = append(*k, key) }
func (k *keyList) Number(key string, _ *float64)         { *k = append(*k, key) }
func (k *keyList) Count(key string, _ *int64)            { *k = append(*k, key) }
