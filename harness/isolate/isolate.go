package isolate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edabench/edabench/harness/cpucap"
)

// The default budgets, as shares of the machine's cores: a quarter for the
// generator, a quarter for the broker, the rest split evenly among the
// services. A twin without a broker (RR) spends the broker's quarter on its
// services: every twin gets the same total, the whole machine, as the same
// hardware bill would.
const (
	GeneratorShare = 0.25
	BrokerShare    = 0.25
)

// The tiers that are not services.
const (
	Generator = "generator"
	Broker    = "broker"
)

// reconcileEvery is how often the tiers' processes are checked: a service
// restarted by a fault is started by the harness, so it first lands in the
// generator's group, and is moved to its own within this.
const reconcileEvery = time.Second

// groupPrefix starts every group's name; the harness's pid follows, so a
// sweep can tell a live run's groups from those a killed one left behind.
const groupPrefix = "edabench-iso-"

// Budgets are the default CPU budgets, in cores, of a twin's tiers on a
// machine of cores CPUs: the generator, each service, and the broker if
// the twin uses one.
func Budgets(cores float64, services []string, broker bool) map[string]float64 {
	out := map[string]float64{Generator: GeneratorShare * cores}
	rest := (1 - GeneratorShare) * cores
	if broker {
		out[Broker] = BrokerShare * cores
		rest -= out[Broker]
	}
	for _, s := range services {
		out[s] = rest / float64(len(services))
	}
	return out
}

// Tier is one tier to isolate: its budget and how to find its processes
// now (a restarted service has a new pid).
type Tier struct {
	Name  string
	Cores float64
	PIDs  func() []int
}

// Deployment holds the tiers' groups until Stop.
type Deployment struct {
	h      cpucap.Hierarchy
	log    *slog.Logger
	tiers  []Tier
	groups []*cpucap.Group

	stopOnce sync.Once
	stopErr  error
	cancel   context.CancelFunc
	done     chan struct{}
}

// Available reports, with the fix, why isolated cannot run here.
func Available() (cpucap.Hierarchy, error) {
	h, err := cpucap.Detect()
	if err != nil {
		return h, fmt.Errorf("deployment isolated caps each tier with a cgroup cpu quota, and %w; mount one "+
			"(cgroup v1: mount -t cgroup -o cpu cgroup /sys/fs/cgroup/cpu; v2: echo +cpu > /sys/fs/cgroup/cgroup.subtree_control) or run with --deployment shared", err)
	}
	if os.Geteuid() != 0 {
		return h, errors.New("deployment isolated creates cgroups, which needs root: run edabench as root, or with --deployment shared")
	}
	return h, nil
}

// Start puts every tier in a cgroup of its own, named after label (the
// twin), and keeps them there until Stop. Groups a killed run left behind
// are removed first. On error nothing is left in place.
func Start(ctx context.Context, h cpucap.Hierarchy, label string, tiers []Tier, log *slog.Logger) (*Deployment, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := Sweep(h); err != nil {
		log.Warn("removing the cgroups of an earlier run", "err", err)
	}
	d := &Deployment{h: h, log: log, tiers: tiers, done: make(chan struct{})}
	for _, t := range tiers {
		g, err := h.NewGroup(fmt.Sprintf("%s%d-%s-%s", groupPrefix, os.Getpid(), label, t.Name), t.Cores)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("tier %s: %w", t.Name, err), d.removeAll())
		}
		d.groups = append(d.groups, g)
	}
	if err := d.reconcile(); err != nil {
		return nil, errors.Join(err, d.removeAll())
	}
	ctx, d.cancel = context.WithCancel(context.WithoutCancel(ctx))
	go d.watch(ctx)
	return d, nil
}

func (d *Deployment) watch(ctx context.Context) {
	defer close(d.done)
	tk := time.NewTicker(reconcileEvery)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			if err := d.reconcile(); err != nil {
				d.log.Warn("keeping the tiers in their cgroups", "err", err)
			}
		}
	}
}

// reconcile moves every tier's processes, and their children, into its
// group. The services and the broker's node are the harness's children, so
// the generator's tier (the harness) comes last and takes only what no
// other tier claimed.
func (d *Deployment) reconcile() error {
	var errs []error
	claimed := map[int]bool{}
	order := make([]int, 0, len(d.tiers))
	for i, t := range d.tiers {
		if t.Name != Generator {
			order = append(order, i)
		}
	}
	for i, t := range d.tiers {
		if t.Name == Generator {
			order = append(order, i)
		}
	}
	for _, i := range order {
		t := d.tiers[i]
		for _, pid := range t.PIDs() {
			for _, p := range append([]int{pid}, d.h.Descendants(pid)...) {
				if claimed[p] {
					continue
				}
				claimed[p] = true
				if err := d.groups[i].Add(p); err != nil && processAlive(p) {
					errs = append(errs, fmt.Errorf("tier %s: %w", t.Name, err))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// Budgets are the cores each tier got, for the summary.
func (d *Deployment) Budgets() map[string]float64 {
	out := map[string]float64{}
	for _, t := range d.tiers {
		out[t.Name] = t.Cores
	}
	return out
}

// Stop moves every process back where it was and removes every group. Safe
// to call more than once, on every exit path.
func (d *Deployment) Stop() error {
	d.stopOnce.Do(func() {
		if d.cancel != nil {
			d.cancel()
			<-d.done
		}
		d.stopErr = d.removeAll()
	})
	return d.stopErr
}

func (d *Deployment) removeAll() error {
	var errs []error
	for _, g := range d.groups {
		errs = append(errs, g.Remove())
	}
	return errors.Join(errs...)
}

// Sweep removes the groups of runs whose harness is gone (killed before it
// could remove them itself).
func Sweep(h cpucap.Hierarchy) error {
	var errs []error
	for _, name := range h.Groups(groupPrefix) {
		pid, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(name, groupPrefix), "-", 2)[0])
		if err != nil || processAlive(pid) {
			continue
		}
		errs = append(errs, h.Adopt(name).Remove())
	}
	return errors.Join(errs...)
}

// Groups lists the groups of this hierarchy a run with harness pid holds,
// for tests and checks that a run left none behind.
func Groups(h cpucap.Hierarchy, pid int) []string {
	out := h.Groups(fmt.Sprintf("%s%d-", groupPrefix, pid))
	sort.Strings(out)
	return out
}

func processAlive(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return err == nil
}
