package netns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/edabench/edabench/harness/nodeproc"
)

// record is a live Net's owner: the process whose exit makes its
// namespaces stale. The start time guards against a reused pid.
type record struct {
	PID   int    `json:"pid"`
	Ticks uint64 `json:"start_ticks"`
}

// runID is the id in a name this package made: edab-<6 hex>-...
var runID = regexp.MustCompile(`^` + Prefix + `([0-9a-f]{6})-`)

func recordPath(id string) string { return filepath.Join(StateDir, id+".json") }

// writeRecord comes before anything it covers is made: a name without a
// record is then always an orphan.
func writeRecord(id string) error {
	if err := os.MkdirAll(StateDir, 0o755); err != nil {
		return fmt.Errorf("netns: %w (needs root, like the namespaces)", err)
	}
	ticks, _ := nodeproc.StartTicks(os.Getpid())
	b, err := json.Marshal(record{PID: os.Getpid(), Ticks: ticks})
	if err != nil {
		return err
	}
	if err := os.WriteFile(recordPath(id), b, 0o644); err != nil {
		return fmt.Errorf("netns: record net %s: %w", id, err)
	}
	return nil
}

// ownerAlive reports whether the record for id names a live process.
func ownerAlive(id string) bool {
	b, err := os.ReadFile(recordPath(id))
	if err != nil {
		return false
	}
	var r record
	if json.Unmarshal(b, &r) != nil {
		return false
	}
	return nodeproc.SameProcess(r.PID, r.Ticks)
}

// Sweep removes the namespaces and host links of every Net whose owner is
// gone (killed, crashed, or never recorded) and their records, and leaves
// live owners' alone. Every start that may make a Net runs it first, as
// harness/broker sweeps stale nodes. It returns the names removed.
func Sweep(ctx context.Context) ([]string, error) {
	names, err := ours()
	if err != nil {
		return nil, err
	}
	stale := map[string]bool{}
	var removed []string
	var errs []error
	for _, name := range names {
		m := runID.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		id := m[1]
		if _, seen := stale[id]; !seen {
			stale[id] = !ownerAlive(id)
		}
		if !stale[id] {
			continue
		}
		var err error
		if isNS(name) {
			err = removeNS(ctx, name)
		} else {
			err = removeLink(ctx, name)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, name)
	}
	errs = append(errs, sweepRecords(stale))
	if len(removed) > 0 {
		logger().InfoContext(ctx, "removed stale network namespaces and links", "names", removed)
	}
	return removed, errors.Join(errs...)
}

// sweepRecords removes the records of swept nets and of dead owners that
// left no names at all.
func sweepRecords(stale map[string]bool) error {
	ents, err := os.ReadDir(StateDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("netns: sweep records: %w", err)
	}
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || (!stale[id] && ownerAlive(id)) {
			continue
		}
		_ = os.Remove(filepath.Join(StateDir, e.Name()))
	}
	return nil
}

// ours lists the namespaces (first, so that a veth goes with its
// namespace) and host interfaces named with Prefix.
func ours() ([]string, error) {
	var out []string
	for _, dir := range []string{"/run/netns", "/sys/class/net"} {
		ents, err := os.ReadDir(dir)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("netns: list %s: %w", dir, err)
		}
		var names []string
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), Prefix) {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		out = append(out, names...)
	}
	return out, nil
}

func isNS(name string) bool {
	_, err := os.Stat(filepath.Join("/run/netns", name))
	return err == nil
}
