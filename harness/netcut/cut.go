package netcut

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Cut is one group cut off: its table is loaded until Heal.
type Cut struct {
	group string
}

// record is a table's owner: the process that loaded it, by pid and start
// time (a pid alone may be reused).
type record struct {
	PID        int    `json:"pid"`
	StartTicks uint64 `json:"start_ticks"`
	Table      string `json:"table"`
	Group      string `json:"group"`
}

func recordPath(table string) string { return filepath.Join(StateDir, table+".json") }

// CutPID cuts the group pid runs in off the network (see the package
// doc); the process must have been started in a group of its own (Into).
func CutPID(ctx context.Context, pid int) (*Cut, error) {
	g, err := GroupOf(pid)
	if err != nil {
		return nil, err
	}
	if g == "" {
		return nil, fmt.Errorf("netcut: pid %d runs in no %s* cgroup of its own, so it cannot be cut off alone: "+
			"start the node with this build (a node started before runs outside one; stop it and start it again)", pid, Prefix)
	}
	return CutGroup(ctx, g)
}

// CutGroup cuts the cgroup group off: every packet to or from one of its
// sockets is dropped, in both directions, until Heal.
func CutGroup(ctx context.Context, group string) (*Cut, error) {
	if _, err := exec.LookPath("nft"); err != nil {
		return nil, fmt.Errorf("netcut: nft (nftables) not found: install it (apt-get install -y nftables, or make deps): %w", err)
	}
	table := group
	rec := record{PID: os.Getpid(), Table: table, Group: group}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", rec.PID)); err == nil {
		rec.StartTicks, _ = startTicks(b)
	}
	if old, err := readRecord(table); err == nil && pidAlive(old.PID, old.StartTicks) {
		return nil, fmt.Errorf("netcut: %s is already cut off by pid %d", group, old.PID)
	}
	if err := writeRecord(rec); err != nil {
		return nil, err
	}
	c := &Cut{group: group}
	rule := fmt.Sprintf("socket cgroupv2 level 1 %q drop", group)
	script := fmt.Sprintf(`table inet %[1]s {
	chain in { type filter hook input priority filter - 10; policy accept; %[2]s; }
	chain out { type filter hook output priority filter - 10; policy accept; %[2]s; }
}
`, table, rule)
	if err := nft(ctx, script); err != nil {
		return nil, errors.Join(err, c.Heal(context.WithoutCancel(ctx)))
	}
	logger().InfoContext(ctx, "cut off", "group", group, "table", "inet "+table)
	return c, nil
}

// Heal removes the cut's table, then its record: the group's traffic
// flows again. Safe more than once.
func (c *Cut) Heal(ctx context.Context) error {
	if err := deleteTable(ctx, c.group); err != nil {
		return err
	}
	if err := os.Remove(recordPath(c.group)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("netcut: %w", err)
	}
	return nil
}

// Group is the cgroup the cut holds off.
func (c *Cut) Group() string { return c.group }

func writeRecord(r record) error {
	if err := os.MkdirAll(StateDir, 0o755); err != nil {
		return fmt.Errorf("netcut: %w", err)
	}
	b, _ := json.Marshal(r)
	if err := os.WriteFile(recordPath(r.Table), b, 0o644); err != nil {
		return fmt.Errorf("netcut: record the owner of %s: %w", r.Table, err)
	}
	return nil
}

func readRecord(table string) (record, error) {
	var r record
	b, err := os.ReadFile(recordPath(table))
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("netcut: %s: %w", recordPath(table), err)
	}
	return r, nil
}

// Tables lists the nftables tables of ours (inet edabench-*) loaded now.
func Tables(ctx context.Context) ([]string, error) {
	if _, err := exec.LookPath("nft"); err != nil {
		return nil, nil // no nft: nobody can have loaded one
	}
	out, err := nftOutput(ctx, "list", "tables", "inet")
	if err != nil {
		return nil, err
	}
	var ours []string
	for line := range strings.SplitSeq(out, "\n") {
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "table inet "); ok && strings.HasPrefix(name, Prefix) {
			ours = append(ours, name)
		}
	}
	return ours, nil
}

func deleteTable(ctx context.Context, table string) error {
	tables, err := Tables(ctx)
	if err != nil {
		return err
	}
	for _, t := range tables {
		if t == table {
			if _, err := nftOutput(ctx, "delete", "table", "inet", table); err != nil {
				return err
			}
		}
	}
	return nil
}

// nft loads script. nft resolves a rule's cgroup path under
// /sys/fs/cgroup; on a host whose cgroup v2 hierarchy is mounted elsewhere
// (hybrid: /sys/fs/cgroup/unified) it runs in a private mount namespace
// where that hierarchy is bind-mounted there, which nothing else sees.
func nft(ctx context.Context, script string) error {
	root, err := Root()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nft", "-f", "-")
	if filepath.Clean(root) != nftCgroupRoot {
		cmd = exec.CommandContext(ctx, "unshare", "--mount", "--propagation", "private", "sh", "-c",
			`mount --bind "$1" `+nftCgroupRoot+` && exec nft -f -`, "sh", root)
	}
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("netcut: nft -f: %w: %s (loading rules needs root or CAP_NET_ADMIN)\n%s", err, strings.TrimSpace(string(out)), script)
	}
	return nil
}

func nftOutput(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "nft", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("netcut: nft %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// Swept is what Sweep removed.
type Swept struct {
	Tables []string
	Groups []string
}

// Sweep removes what owners that are gone left: every edabench-* table
// whose recorded owner no longer runs (or that has no record: a record is
// written before its table), every record without its table, and every
// edabench-* cgroup left empty for a minute. Tables of live owners and
// groups holding a process are left alone.
func Sweep(ctx context.Context) (Swept, error) { return sweep(ctx, emptyAge) }

// sweep is Sweep removing groups left empty for age.
func sweep(ctx context.Context, age time.Duration) (Swept, error) {
	var s Swept
	var errs []error
	tables, err := Tables(ctx)
	errs = append(errs, err)
	loaded := map[string]bool{}
	for _, t := range tables {
		loaded[t] = true
		if r, err := readRecord(t); err == nil && pidAlive(r.PID, r.StartTicks) {
			continue
		}
		if err := (&Cut{group: t}).Heal(ctx); err != nil {
			errs = append(errs, err)
			continue
		}
		s.Tables = append(s.Tables, t)
	}
	recs, _ := filepath.Glob(filepath.Join(StateDir, Prefix+"*.json"))
	for _, p := range recs {
		if t := strings.TrimSuffix(filepath.Base(p), ".json"); !loaded[t] {
			if r, err := readRecord(t); err == nil && pidAlive(r.PID, r.StartTicks) {
				continue // its owner is loading it right now
			}
			_ = os.Remove(p)
		}
	}
	groups, err := sweepGroups(age)
	s.Groups = groups
	errs = append(errs, err)
	if len(s.Tables)+len(s.Groups) > 0 {
		logger().InfoContext(ctx, "removed what dead owners left", "tables", s.Tables, "cgroups", s.Groups)
	}
	return s, errors.Join(errs...)
}

func sweepGroups(age time.Duration) ([]string, error) {
	root, err := Root()
	if err != nil {
		return nil, nil // no cgroup v2: nobody can have made a group
	}
	dirs, _ := filepath.Glob(filepath.Join(root, Prefix+"*"))
	var removed []string
	var errs []error
	for _, d := range dirs {
		fi, err := os.Stat(d)
		if err != nil || !fi.IsDir() || populated(d) || time.Since(fi.ModTime()) < age {
			continue
		}
		if err := RemoveGroup(filepath.Base(d)); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, filepath.Base(d))
	}
	return removed, errors.Join(errs...)
}
