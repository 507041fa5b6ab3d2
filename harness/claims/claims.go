// Package claims keeps the records by which processes claim a topology on
// a shared private broker node (harness/broker, harness/kafkanode): one
// JSON file per claim in the node's claims folder, naming the owner's PID
// and process start time, so that what a killed run declared can be found
// and deleted by the next node start. What deleting means is each
// broker's own business; this package only says who claims what and which
// owners are gone.
package claims

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/nodeproc"
)

// Record is one claim on disk: a Topology and the process that owns it.
// StartTicks (field 22 of /proc/PID/stat) tells a live owner from a later
// process that happens to get the same PID.
type Record struct {
	PID        int                 `json:"pid"`
	StartTicks uint64              `json:"start_ticks"`
	Command    string              `json:"command"`
	Created    time.Time           `json:"created"`
	Topology   brokernode.Topology `json:"topology"`

	// Path is the record's file, set when read.
	Path string `json:"-"`
}

// Alive reports whether the process that wrote r still runs. A record
// whose start time cannot be read is judged by its PID alone, erring
// towards alive: deleting a running test's queues is worse than keeping
// garbage.
func (r Record) Alive() bool { return nodeproc.SameProcess(r.PID, r.StartTicks) }

// Write records that this process claims t, in dir, under a temporary
// name renamed into place, so a reader never sees half a record. The
// file's name starts with the owner's PID so a listing shows who claimed
// what. It returns the record's path.
func Write(dir string, t brokernode.Topology) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	pid := os.Getpid()
	ticks, err := nodeproc.StartTicks(pid)
	if err != nil {
		slog.Debug("claims: own start time unknown; the claim is judged by pid alone", "err", err)
	}
	r := Record{PID: pid, StartTicks: ticks, Command: strings.Join(os.Args, " "), Created: time.Now().UTC(), Topology: t}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	tag := make([]byte, 4)
	_, _ = rand.Read(tag)
	path := filepath.Join(dir, fmt.Sprintf("%d-%d-%s.json", pid, ticks, hex.EncodeToString(tag)))
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return "", err
	}
	return path, nil
}

// Read reads every claim in dir (none when dir does not exist). A file
// that cannot be parsed is named in the error and skipped, never treated
// as dead: its owner may be running.
func Read(dir string) ([]Record, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read claims: %w", err)
	}
	var recs []Record
	var errs []error
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		r := Record{Path: filepath.Join(dir, e.Name())}
		b, err := os.ReadFile(r.Path)
		if errors.Is(err, os.ErrNotExist) {
			continue // released meanwhile
		}
		if err == nil {
			err = json.Unmarshal(b, &r)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("claim record %s: %w (delete the file if it is garbage)", r.Path, err))
			continue
		}
		recs = append(recs, r)
	}
	return recs, errors.Join(errs...)
}

// Remove deletes a released or swept record; one already gone is no error.
func Remove(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// LiveTopologies is the topologies of the live records other than the one
// at path (the caller's own; "" for none): what a delete must keep.
func LiveTopologies(recs []Record, path string) []brokernode.Topology {
	var out []brokernode.Topology
	for _, r := range recs {
		if r.Path != path && r.Alive() {
			out = append(out, r.Topology)
		}
	}
	return out
}

// UnderPrefix reports whether name is one of prefixes or below one
// (PREFIX.*), as a Topology's Prefixes claim it.
func UnderPrefix(name string, prefixes []string) bool {
	for _, p := range prefixes {
		if p != "" && (name == p || strings.HasPrefix(name, p+".")) {
			return true
		}
	}
	return false
}

// Claim writes t's record in dir before the caller declares any of it (a
// run killed between declaring and recording would otherwise leave a
// topology nobody knows about) and returns the release: del deletes what
// is left of t, given the record's own path ("" when it could not be
// written) so it can keep what other live claims cover, and then the
// record goes. Failures are logged, prefixed with who (e.g. "kafka"),
// never returned: a run must not fail because its bookkeeping did. A
// record whose delete failed stays, so the next node start retries;
// noRecordHint says what cleans up when the record cannot be written.
func Claim(ctx context.Context, log *slog.Logger, who, noRecordHint, dir string, t brokernode.Topology,
	del func(ctx context.Context, own string) error) (release func(context.Context)) {
	if t.Empty() {
		return func(context.Context) {}
	}
	path, err := Write(dir, t)
	if err != nil {
		log.WarnContext(ctx, who+": could not record the topology this process declares"+noRecordHint, "topology", t, "err", err)
	}
	return func(ctx context.Context) {
		// Often called as the run ends, its ctx done; the delete must run.
		ctx = context.WithoutCancel(ctx)
		if err := del(ctx, path); err != nil {
			log.WarnContext(ctx, who+": could not delete the topology this process declared; the next node start retries",
				"topology", t, "err", err)
			return
		}
		if path != "" {
			if err := Remove(path); err != nil {
				log.WarnContext(ctx, who+": remove claim record", "path", path, "err", err)
			}
		}
	}
}
