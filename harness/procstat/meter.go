package procstat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultInterval is the Meter's period when none is given. CPU time is
// read cumulatively, so the interval only bounds what a killed process's
// last moments can hide, and how short an RSS spike of a process older than
// the Meter can be and still be seen.
const DefaultInterval = time.Second

// Meter follows named processes through a run. Each name may be served by
// several incarnations in turn (a service killed by a fault and restarted):
// its CPU time adds up across them, and its peak RSS is the largest any of
// them reached.
//
// Incarnations that started before Run count only the CPU they use after
// Run started, and their peak RSS is the largest VmRSS sampled: their VmHWM
// may date from an earlier run (a reused broker). Later incarnations count
// from birth, with their exact VmHWM.
type Meter struct {
	interval time.Duration
	logger   *slog.Logger

	mu      sync.Mutex
	tracks  []*track
	byName  map[string]*track
	began   bool
	startAt float64 // seconds since boot when Run started
}

type track struct {
	name string
	pid  func() int
	tree bool

	// Only Run writes these; Usage reads them. Both hold Meter.mu.
	cur     incarnation
	doneCPU float64 // CPU of the incarnations before cur
	lastRSS int64
	peakRSS int64
}

// incarnation is one process: a pid is reused by the kernel, pid plus start
// time is not.
type incarnation struct {
	pid   int
	start uint64
	base  float64 // CPU before Run started, not ours to count
	cpu   float64 // latest (largest) reading
}

// NewMeter samples every interval (DefaultInterval when <= 0).
func NewMeter(interval time.Duration) *Meter {
	if interval <= 0 {
		interval = DefaultInterval
	}
	return &Meter{interval: interval, byName: map[string]*track{}, logger: slog.Default().With("component", "procstat")}
}

// Track measures the process pid returns, read anew each tick, as name; 0
// means not running. pid should return 0 once its process exited rather
// than a stale pid, which the kernel may have handed to an unrelated
// process. Tracking a name again replaces its pid function and keeps what
// was measured. Track may be called before or during Run.
func (m *Meter) Track(name string, pid func() int) { m.track(name, pid, false) }

// TrackTree is Track with each reading taken by ReadTree: for a process
// whose helpers do part of its work, like the broker's Erlang VM
// (erl_child_setup, inet_gethost). Not for the harness itself, whose
// children are the services under test.
func (m *Meter) TrackTree(name string, pid func() int) { m.track(name, pid, true) }

func (m *Meter) track(name string, pid func() int, tree bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.byName[name]; ok {
		t.pid, t.tree = pid, tree
		return
	}
	t := &track{name: name, pid: pid, tree: tree}
	m.tracks = append(m.tracks, t)
	m.byName[name] = t
}

// Run samples at once, every interval, and a last time when ctx ends, then
// returns nil. It fails only if it cannot read the boot clock or Run was
// called before: a Meter measures one run.
func (m *Meter) Run(ctx context.Context) error {
	up, err := sinceBoot()
	if err != nil {
		return err
	}
	m.mu.Lock()
	if m.began {
		m.mu.Unlock()
		return errors.New("procstat: Meter.Run called twice: use a new Meter for each run")
	}
	m.began, m.startAt = true, up
	m.mu.Unlock()

	t := time.NewTicker(m.interval)
	defer t.Stop()
	for {
		m.tick(ctx)
		select {
		case <-ctx.Done():
			// The final reading is what makes the CPU totals end at Stop
			// rather than at the last tick.
			m.tick(context.WithoutCancel(ctx))
			return nil
		case <-t.C:
		}
	}
}

func (m *Meter) tick(ctx context.Context) {
	m.mu.Lock()
	tracks := append([]*track(nil), m.tracks...)
	m.mu.Unlock()
	for _, t := range tracks {
		m.mu.Lock()
		pidFn, tree := t.pid, t.tree
		m.mu.Unlock()
		pid := pidFn()
		if pid <= 0 {
			continue
		}
		var (
			u    Usage
			root stat
			err  error
		)
		if tree {
			u, root, err = readTree(pid)
		} else {
			u, root, err = readOne(pid)
		}
		if err != nil {
			// A fault may have just killed it: keep the last reading.
			if !errors.Is(err, ErrNotRunning) {
				m.logger.DebugContext(ctx, "procstat: reading failed, keeping the last one", "name", t.name, "pid", pid, "err", err)
			}
			continue
		}
		m.mu.Lock()
		m.update(t, pid, root.starttime, u)
		m.mu.Unlock()
	}
}

func (m *Meter) update(t *track, pid int, start uint64, u Usage) {
	born := ticksToSeconds(start)
	if t.cur.pid != pid || t.cur.start != start {
		t.doneCPU += t.cur.cpu - t.cur.base
		t.cur = incarnation{pid: pid, start: start}
		if born < m.startAt {
			t.cur.base = u.CPUSeconds
		}
	}
	// A tree's total can drop when a descendant is reparented away; what
	// was used stays used.
	t.cur.cpu = max(t.cur.cpu, u.CPUSeconds)
	t.lastRSS = u.RSSBytes
	if born < m.startAt {
		t.peakRSS = max(t.peakRSS, u.RSSBytes)
	} else {
		t.peakRSS = max(t.peakRSS, u.PeakRSSBytes)
	}
}

// Usage reports per tracked name the CPU seconds used since Run started (up
// to its end, once it returned), the latest RSS (the last reading of a
// process that has since died) and the peak RSS. A name never seen running
// reports zeros.
func (m *Meter) Usage() map[string]Usage {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]Usage, len(m.tracks))
	for _, t := range m.tracks {
		out[t.name] = Usage{
			CPUSeconds:   t.doneCPU + t.cur.cpu - t.cur.base,
			RSSBytes:     t.lastRSS,
			PeakRSSBytes: t.peakRSS,
		}
	}
	return out
}

// sinceBoot is the clock of a process's start time in /proc/PID/stat.
// CLOCK_BOOTTIME rather than /proc/uptime: container tools such as LXCFS
// rewrite the latter to the container's age, while start times stay
// relative to the host's boot.
func sinceBoot() (float64, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0, fmt.Errorf("procstat: clock_gettime(CLOCK_BOOTTIME): %w", err)
	}
	return float64(ts.Sec) + float64(ts.Nsec)/1e9, nil
}
