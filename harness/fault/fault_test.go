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
func (f *fakeTwin) HTTPAddr(string) string { return "127.0.0.1:1" }
func (f *fakeTwin) Hops() *hops.Set        { return f.hops }

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
	for _, spec := range []Spec{
		{Type: Pause}, {Type: Kill}, {Type: Latency, Latency: 50 * time.Millisecond},
		{Type: Cut}, {Type: Cut, Mode: "timeout"}, {Type: Bandwidth, RateKBps: 8}, {Type: CPUStarve, Cores: 0.1},
	} {
		typ := spec.Type
		t.Run(string(typ)+spec.Mode, func(t *testing.T) {
			if typ == CPUStarve {
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
			spec.Target, spec.Duration = "payment", time.Hour
			in := New([]Spec{spec}, tw, nil, nil)
			in.Start(context.Background(), time.Now())
			deadline := time.Now().Add(10 * time.Second)
			for len(in.Active()) == 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if got := in.Active(); len(got) != 1 || got[0] != string(typ)+":payment" {
				t.Fatalf("active = %v", got)
			}
			if typ == Kill && !in.Deliberate("payment") {
				t.Fatal("a killed service is not marked deliberate")
			}
			if err := in.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(in.Active()) != 0 {
				t.Fatalf("still active after Stop: %v", in.Active())
			}
			switch typ {
			case Pause:
				if s := state(t, first.PID()); s == "T" {
					t.Fatal("the paused process is still stopped after Stop")
				}
			case Kill:
				if tw.restarts != 1 || tw.p == first || tw.p.Exited() {
					t.Fatalf("restarts %d: the killed service was not started again", tw.restarts)
				}
				if in.Deliberate("payment") {
					t.Fatal("still marked deliberate after its restart")
				}
			case Latency, Cut, Bandwidth:
				if left := tw.hops.Toxics(); len(left) > 0 {
					t.Fatalf("toxics left on the proxy after Stop: %v", left)
				}
			case CPUStarve:
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

func TestValidate(t *testing.T) {
	tests := []struct {
		s     Spec
		field string
	}{
		{Spec{Type: "partition", Target: "payment", Duration: time.Second}, "type"},
		{Spec{Type: Cut, Target: "payment", Duration: time.Second, Mode: "drop"}, "mode"},
		{Spec{Type: Latency, Target: "payment", Duration: time.Second}, "latency"},
		{Spec{Type: Latency, Target: "broker", Duration: time.Second, Latency: time.Millisecond}, "target"},
		{Spec{Type: Bandwidth, Target: "payment", Duration: time.Second}, "rate_kbps"},
		{Spec{Type: CPUStarve, Target: "payment", Duration: time.Second}, "cores"},
		{Spec{Type: Kill, Target: "broker", Duration: time.Second}, "target"},
		{Spec{Type: Pause, Target: "shipping"}, "duration"},
		{Spec{Type: SlowStep, Target: "gateway", Duration: time.Second, Mean: time.Millisecond}, "target"},
		{Spec{Type: ErrorStep, Target: "shipping", Duration: time.Second}, "error_prob"},
		{Spec{Type: BrokerRestart, At: -time.Second, Duration: time.Second}, "at"},
	}
	for _, tt := range tests {
		if _, bad := tt.s.Validate()[tt.field]; !bad {
			t.Errorf("%+v: want a complaint about %s, got %v", tt.s, tt.field, tt.s.Validate())
		}
	}
	if errs := (Spec{Type: Kill, Target: "payment", Duration: time.Second}).Validate(); len(errs) != 0 {
		t.Fatalf("a valid spec: %v", errs)
	}
}
