package scenario

import (
	"fmt"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/edabench/edabench/harness/fault"
)

// faults decodes the faults list; each entry's keys are the fault
// registry's, and its type reads its own.
func (d *decoder) faults(n *yaml.Node, path string) []fault.Spec {
	items := d.list(n, path)
	out := make([]fault.Spec, len(items))
	for i, item := range items {
		p := fmt.Sprintf("%s[%d]", path, i)
		e := &faultEntry{d: d, path: p, nodes: map[string]*yaml.Node{}, failed: map[string]bool{}}
		d.fields(item, p, d.faultTypes.Keys(), func(key string, v *yaml.Node, _ string) { e.nodes[key] = v })
		if resolve(item).Kind != yaml.MappingNode {
			continue // fields reported it
		}
		spec, problems := d.faultTypes.Decode(e)
		for _, pr := range problems {
			if !e.failed[pr.Field] {
				// At the key's line, or the entry's when it is missing.
				d.errs = append(d.errs, d.s.fieldErr(join(p, pr.Field), "%s", pr.Msg))
			}
		}
		out[i] = spec
	}
	return out
}

// faultEntry is one fault entry's keys, read for the fault registry with
// the decoder's typed reads, so each bad value is reported with its line.
type faultEntry struct {
	d     *decoder
	path  string
	nodes map[string]*yaml.Node // key -> value
	// failed keys were reported already.
	failed map[string]bool
}

// read runs decode on key's value, if the entry has the key.
func (e *faultEntry) read(key string, decode func(n *yaml.Node, path string)) {
	n, ok := e.nodes[key]
	if !ok {
		return
	}
	before := len(e.d.errs)
	decode(n, join(e.path, key))
	e.failed[key] = len(e.d.errs) > before
}

func (e *faultEntry) Text(key string, v *string) {
	e.read(key, func(n *yaml.Node, p string) { *v = e.d.str(n, p) })
}

func (e *faultEntry) Duration(key string, v *time.Duration) {
	e.read(key, func(n *yaml.Node, p string) { *v = e.d.duration(n, p) })
}

func (e *faultEntry) Number(key string, v *float64) {
	e.read(key, func(n *yaml.Node, p string) { *v = e.d.float(n, p) })
}

func (e *faultEntry) Count(key string, v *int64) {
	e.read(key, func(n *yaml.Node, p string) { *v = int64(e.d.uint(n, p)) })
}
