package fault

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/cpucap"
	"github.com/edabench/edabench/harness/hops"
	"github.com/edabench/edabench/harness/supervise"
)

// fakeTwin is one real child process standing in for a service: what is
// under test is the injector's undo, not a twin.
type fakeTwin struct {
	t        *testing.T
	p        *supervise.Process
	restarts int
	hops     *hops.Set
	http     string // the services' ops address
}

func (f *fakeTwin) start() {
	p, err := supervise.Start(context.Background(), supervise.Spec{Name: "svc", Path: "/bin/sh",
		Args: []string{"-c", `echo 'EDABENCH_READY {}'; exec sleep 60`}, LogPath: filepath.Join(f.t.TempDir(), "svc.log")})
	if err != nil {
		f.t.Fatal(err)
	}
	f.p = p
	f.t.Cleanup(func() { p.Kill() })
}
func (f *fakeTwin) Process(string) *supervise.Process { return f.p }
func (f *fakeTwin) Restart(context.Context, string) error {
	f.restarts++
	f.start()
	return nil
}
func (f *fakeTwin) HTTPAddr(string) string {
	if f.http != "" {
		return f.http
	}
	return "127.0.0.1:1"
}
func (f *fakeTwin) Hops() *hops.Set { return f.hops }

func state(t *testing.T, pid int) string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return "gone"
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+2:])[0]
}

// TestStopUndoesActiveFaults: the run ends while a pause and a kill are in
// effect; Stop must thaw the one and restart the other at once.
func TestStopUndoesActiveFaults(t *testing.T) {
	for _, typ := range []Type{
		&pause{}, &kill{}, &latency{Latency: 50 * time.Millisecond},
		&cut{}, &cut{Mode: "timeout"}, &bandwidth{RateKBps: 8}, &cpuStarve{Cores: 0.1},
	} {
		name := typ.Name()
		if c, ok := typ.(*cut); ok {
			name += c.Mode
		}
		t.Run(name, func(t *testing.T) {
			if _, ok := typ.(*cpuStarve); ok {
				if _, err := cpucap.Detect(); err != nil || os.Geteuid() != 0 {
					t.Skipf("SKIPPED LOUDLY: cpu-starve needs root and a cgroup cpu controller: %v", err)
				}
			}
			tw := &fakeTwin{t: t, hops: hops.New(nil)}
			t.Cleanup(func() { tw.hops.Close(context.Background()) })
			if _, err := tw.hops.Add("payment", "127.0.0.1:1"); err != nil {
				t.Fatal(err)
			}
			tw.start()
			first := tw.p
			cgroupBefore, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(first.PID()), "cgroup"))
			in := New([]Spec{{Type: typ, Target: "payment", Duration: time.Hour}}, tw, nil, nil)
			in.Start(context.Background(), time.Now())
			deadline := time.Now().Add(10 * time.Second)
			for len(in.Active()) == 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if got := in.Active(); len(got) != 1 || got[0] != typ.Name()+":payment" {
				t.Fatalf("active = %v", got)
			}
			if _, ok := typ.(*kill); ok && !in.Deliberate("payment") {
				t.Fatal("a killed service is not marked deliberate")
			}
			if err := in.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(in.Active()) != 0 {
				t.Fatalf("still active after Stop: %v", in.Active())
			}
			switch typ.(type) {
			case *pause:
				if s := state(t, first.PID()); s == "T" {
					t.Fatal("the paused process is still stopped after Stop")
				}
			case *kill:
				if tw.restarts != 1 || tw.p == first || tw.p.Exited() {
					t.Fatalf("restarts %d: the killed service was not started again", tw.restarts)
				}
				if in.Deliberate("payment") {
					t.Fatal("still marked deliberate after its restart")
				}
			case hopFault:
				if left := tw.hops.Toxics(); len(left) > 0 {
					t.Fatalf("toxics left on the proxy after Stop: %v", left)
				}
			case *cpuStarve:
				now, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(first.PID()), "cgroup"))
				if string(now) != string(cgroupBefore) {
					t.Fatalf("still capped after Stop: cgroups\n%s\nwere\n%s", now, cgroupBefore)
				}
			}
			w := in.Windows()
			if len(w) != 1 || w[0].End.IsZero() || w[0].Err != "" {
				t.Fatalf("windows %+v", w)
			}
			if err := in.Stop(context.Background()); err != nil {
				t.Fatalf("a second Stop: %v", err)
			}
		})
	}
}
