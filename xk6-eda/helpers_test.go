package eda

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/broker/brokertest"
	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/xk6-eda/internal/twins"
	"github.com/grafana/sobek"
	"go.k6.io/k6/js/modulestest"
	"go.k6.io/k6/lib"
	"go.k6.io/k6/metrics"
)

// Twins started by the tests that need them, once per test binary, and
// stopped by TestMain.
var (
	fixMu   sync.Mutex
	started = map[string]*twins.Running{}
	fixDir  string
	// buildDir holds the binaries the tests build (the target, k6), made
	// by TestMain and removed after the tests: each k6 is ~80 MB.
	buildDir string
)

func TestMain(m *testing.M) {
	var err error
	if buildDir, err = os.MkdirTemp("", "xk6-eda-build-"); err != nil {
		fmt.Fprintln(os.Stderr, "temporary directory for the test binaries:", err)
		os.Exit(1)
	}
	code := m.Run()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	for _, r := range started {
		if err := r.Stop(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "stopping twin:", err)
		}
	}
	cancel()
	if fixDir != "" {
		os.RemoveAll(fixDir)
	}
	os.RemoveAll(buildDir) // after the twins that run its target stopped
	os.Exit(code)
}

var buildTarget = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp(buildDir, "target-")
	if err != nil {
		return "", err
	}
	return twins.BuildTarget(context.Background(), dir)
})

// twin returns a running twin (rr or eda), starting it on first use.
func twin(t *testing.T, name string) *twins.Running {
	t.Helper()
	if testing.Short() {
		t.Skipf("needs the %s twin (and for EDA the broker): not with -short", name)
	}
	var node brokernode.Node // nil: the RR twin uses no broker
	if name == "eda" {
		node = brokertest.Shared(t)
	}
	fixMu.Lock()
	defer fixMu.Unlock()
	if r, ok := started[name]; ok {
		return r
	}
	bin, err := buildTarget()
	if err != nil {
		t.Fatal(err)
	}
	if fixDir == "" {
		if fixDir, err = os.MkdirTemp("", "xk6-eda-twins-"); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := twins.Start(ctx, node, bin, fixDir+"/"+name, name)
	if err != nil {
		t.Fatal(err)
	}
	started[name] = r
	return r
}

// env reads a twin's environment (as the examples get it) into a map.
func env(r *twins.Running) map[string]string {
	out := map[string]string{}
	for _, kv := range r.Env() {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}

// vu is one k6 VU of k6's module test runtime, with the module imported as
// the global `eda`, in its init context.
type vu struct {
	t       *testing.T
	rt      *modulestest.Runtime
	root    *RootModule
	reg     *metrics.Registry
	samples chan metrics.SampleContainer
}

func newVU(t *testing.T) *vu {
	t.Helper()
	rt := modulestest.NewRuntime(t)
	root := New()
	mi := root.NewModuleInstance(rt.VU)
	if err := rt.VU.Runtime().Set("eda", mi.Exports().Named); err != nil {
		t.Fatal(err)
	}
	v := &vu{t: t, rt: rt, root: root, reg: rt.VU.InitEnvField.Registry, samples: make(chan metrics.SampleContainer, 10000)}
	t.Cleanup(func() {
		// What k6's end of test does for clients never closed.
		root.mu.Lock()
		var all []*shared
		for _, s := range root.clients {
			all = append(all, s)
		}
		root.mu.Unlock()
		for _, s := range all {
			root.finish(s, true)
		}
	})
	return v
}

// run evaluates JS on the VU's runtime (k6's event loop).
func (v *vu) run(code string) (sobek.Value, error) {
	v.t.Helper()
	return v.rt.RunOnEventLoop(code)
}

func (v *vu) mustRun(code string) sobek.Value {
	v.t.Helper()
	val, err := v.run(code)
	if err != nil {
		v.t.Fatalf("%s: %v", code, err)
	}
	return val
}

// toVUContext leaves the init context, as k6 does before the first iteration.
func (v *vu) toVUContext() {
	v.rt.MoveToVUContext(&lib.State{
		Samples: v.samples,
		Tags:    lib.NewVUStateTags(v.reg.RootTagSet().With("scenario", "unit")),
	})
}

// collect drains samples until pred has seen what it wants or the budget
// runs out (a bound against a hang, not a timing assertion).
func (v *vu) collect(budget time.Duration, done func([]metrics.Sample) bool) []metrics.Sample {
	v.t.Helper()
	var got []metrics.Sample
	deadline := time.After(budget)
	for !done(got) {
		select {
		case c := <-v.samples:
			got = append(got, c.GetSamples()...)
		case <-deadline:
			return got
		}
	}
	return got
}

func count(ss []metrics.Sample, name string) (n int, sum float64) {
	for _, s := range ss {
		if s.Metric.Name == name {
			n++
			sum += s.Value
		}
	}
	return n, sum
}

func find(ss []metrics.Sample, name string) (metrics.Sample, bool) {
	for _, s := range ss {
		if s.Metric.Name == name {
			return s, true
		}
	}
	return metrics.Sample{}, false
}

// listener is a reachable gRPC-looking address for tests that never get
// as far as an RPC.
func listener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// counting is a loopback listener that counts the connections it accepts
// and hangs up on each.
type counting struct {
	addr string
	n    atomic.Int64
}

func (c *counting) accepted() int64 { return c.n.Load() }

func countingListener(t *testing.T) *counting {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	c := &counting{addr: ln.Addr().String()}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.n.Add(1)
			conn.Close()
		}
	}()
	return c
}
