package broker

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/targets/bus"
)

// Topology is what a process claims on the node; the type is brokernode's.
type Topology = brokernode.Topology

// claimsQueue reports whether t covers the queue name, its dead-letter
// queue included.
func claimsQueue(t Topology, name string) bool {
	for _, q := range t.Queues {
		if name == q || name == bus.DLQName(q) {
			return true
		}
	}
	return underPrefix(name, t.Prefixes)
}

// claimsExchange reports whether t covers the exchange name, its
// dead-letter exchange included.
func claimsExchange(t Topology, name string) bool {
	for _, e := range t.Exchanges {
		if name == e || name == e+".dlx" {
			return true
		}
	}
	return underPrefix(name, t.Prefixes)
}

func underPrefix(name string, prefixes []string) bool {
	for _, p := range prefixes {
		if p != "" && (name == p || strings.HasPrefix(name, p+".")) {
			return true
		}
	}
	return false
}

// Record is one claim on disk: a Topology and the process that owns it.
// StartTicks (field 22 of /proc/PID/stat) tells a live owner from a later
// process that happens to get the same PID.
type Record struct {
	PID        int       `json:"pid"`
	StartTicks uint64    `json:"start_ticks"`
	Command    string    `json:"command"`
	Created    time.Time `json:"created"`
	Topology   Topology  `json:"topology"`

	path string // the record's file, set when read
}

// Alive reports whether the process that wrote r still runs. A record whose
// start time could not be read is judged by its PID alone, erring towards
// alive: deleting a running test's queues is worse than keeping garbage.
func (r Record) Alive() bool {
	if !processAlive(r.PID) {
		return false
	}
	if r.StartTicks == 0 {
		return true
	}
	ticks, err := procStartTicks(r.PID)
	return err != nil || ticks == r.StartTicks
}

// claimsDir holds one file per claim; its name starts with the owner's PID
// so a listing shows who claimed what.
func (c Config) claimsDir() string { return filepath.Join(c.DataDir, "claims") }

// Claim records that this process owns t on the node, before it declares
// any of it: a run killed between declaring and recording would otherwise
// leave queues nobody knows about. The returned release deletes what is
// left of t on the node and then the record; call it once the topology's
// users have stopped. A failure either way is logged, never returned: a
// run must not fail because its bookkeeping did. A nil Node claims nothing.
func (n *Node) Claim(ctx context.Context, t Topology) (release func(context.Context)) {
	if n == nil || t.Empty() {
		return func(context.Context) {}
	}
	path, err := n.writeRecord(t)
	if err != nil {
		logger().WarnContext(ctx, "broker: could not record the topology this process declares; if it is killed, `brokerctl clean --unclaimed` removes it",
			"topology", t, "err", err)
		path = ""
	}
	return func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), mgmtTimeout+30*time.Second)
		defer cancel()
		own := func(r Record) bool { return r.path == path }
		if err := n.deleteTopology(ctx, t, own); err != nil {
			logger().WarnContext(ctx, "broker: could not delete the topology this process declared; the next node start retries",
				"topology", t, "err", err)
			return // the record stays, so the next Start deletes it
		}
		if path != "" {
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				logger().WarnContext(ctx, "broker: remove claim record", "path", path, "err", err)
			}
		}
	}
}

// writeRecord writes the record under a temporary name and renames it, so a
// reader never sees half of one.
func (n *Node) writeRecord(t Topology) (string, error) {
	dir := n.cfg.claimsDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	pid := os.Getpid()
	ticks, err := procStartTicks(pid)
	if err != nil {
		logger().Debug("broker: own start time unknown; the claim is judged by pid alone", "err", err)
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

// Records reads every claim on the node. A file that cannot be parsed is
// reported in the error and skipped, never treated as dead.
func (n *Node) Records() ([]Record, error) {
	ents, err := os.ReadDir(n.cfg.claimsDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("broker: read claims: %w", err)
	}
	var recs []Record
	var errs []error
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		path := filepath.Join(n.cfg.claimsDir(), e.Name())
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue // released meanwhile
		}
		var r Record
		if err == nil {
			err = json.Unmarshal(b, &r)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("claim record %s: %w (delete the file if it is garbage)", path, err))
			continue
		}
		r.path = path
		recs = append(recs, r)
	}
	return recs, errors.Join(errs...)
}

// procStartTicks is the process's start time in clock ticks since boot,
// which no later process with the same PID can share.
func procStartTicks(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	return parseStartTicks(b)
}

func parseStartTicks(stat []byte) (uint64, error) {
	// The command name (field 2) may hold spaces and parentheses: count
	// fields from after the last ')', where field 3 (state) is index 0.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("no ')' in /proc/PID/stat")
	}
	f := strings.Fields(string(stat[i+1:]))
	const startIdx = 22 - 3
	if len(f) <= startIdx {
		return 0, fmt.Errorf("/proc/PID/stat has %d fields after the command, want more than %d", len(f), startIdx)
	}
	return strconv.ParseUint(f[startIdx], 10, 64)
}
