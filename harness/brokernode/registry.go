package brokernode

import (
	"fmt"
	"strings"
)

// Registry is the broker nodes edabench can run, by name.
type Registry struct{ kinds []Kind }

// NewRegistry lists kinds in the order given; the first is the one a
// command offers by default. A duplicate or nameless kind is a programming
// error, caught by the registry's test.
func NewRegistry(kinds ...Kind) Registry {
	return Registry{kinds: kinds}
}

// Lookup returns the kind called name.
func (r Registry) Lookup(name string) (Kind, error) {
	for _, k := range r.kinds {
		if k.Name == name {
			return k, nil
		}
	}
	return Kind{}, fmt.Errorf("broker %q: not a broker node edabench can run; use one of %s", name, strings.Join(r.Names(), ", "))
}

// Names lists the registered brokers.
func (r Registry) Names() []string {
	out := make([]string, 0, len(r.kinds))
	for _, k := range r.kinds {
		out = append(out, k.Name)
	}
	return out
}
