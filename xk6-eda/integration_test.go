package eda

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/broker/brokertest"
	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/kafkanode/kafkatest"
	"github.com/edabench/edabench/harness/natsnode/natstest"
	"github.com/edabench/edabench/targets/workflow"
	"github.com/edabench/edabench/xk6-eda/internal/k6build"
	"github.com/edabench/edabench/xk6-eda/internal/twins"
)

// buildK6 builds the custom k6 binary as `make k6` does (internal/k6build)
// into a temporary directory, once per test binary. The first build
// compiles k6's whole dependency tree; later ones hit the build cache.
var buildK6 = sync.OnceValues(func() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp(buildDir, "k6-")
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "k6")
	return out, k6build.Build(ctx, k6build.Options{Out: out})
})

// summary is the part of k6's --summary-export the test reads.
type summary struct {
	Metrics map[string]map[string]any `json:"metrics"`
}

func (s summary) num(t *testing.T, metric, field string) float64 {
	t.Helper()
	m, ok := s.Metrics[metric]
	if !ok {
		t.Fatalf("metric %s missing from the summary", metric)
	}
	v, ok := m[field].(float64)
	if !ok {
		t.Fatalf("metric %s has no numeric %q: %v", metric, field, m)
	}
	return v
}

// bin/k6 runs examples/smoke.js for 15 s against each twin; what it
// reports completed is what the twin's last step applied, and nothing is
// lost. Every twin runs under a queue prefix of its own (not the default):
// the hybrid's orders, like EDA's, end with an event under that prefix, so
// examples/common.js must pass it on for the hybrid too.
func TestK6SmokeAgainstEveryTwin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds k6, starts every twin and the broker: not with -short")
	}
	k6, err := buildK6()
	if err != nil {
		t.Fatal(err)
	}
	target, err := buildTarget()
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join("examples", "smoke.js")
	node := brokertest.Shared(t)
	for _, name := range []string{"rr", "eda", "hybrid"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runSmoke(t, node, "", k6, target, script, name)
		})
	}
}

// bin/k6 runs examples/smoke.js against the EDA and hybrid twins over the
// real Kafka node, with BROKER=kafka and BROKER_URL: the same accounting
// as over RabbitMQ (every order completed, none lost, as many as the
// twin's last step applied), the ends read from the PREFIX.k6 end queue
// the twin declared.
func TestK6SmokeOverKafka(t *testing.T) {
	if testing.Short() {
		t.Skip("builds k6, starts the twins over the Kafka node: not with -short")
	}
	node := kafkatest.Shared(t)
	k6, err := buildK6()
	if err != nil {
		t.Fatal(err)
	}
	target, err := buildTarget()
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join("examples", "smoke.js")
	for _, name := range []string{"eda", "hybrid"} {
		t.Run(name, func(t *testing.T) { runSmoke(t, node, "kafka", k6, target, script, name) })
	}
}

// bin/k6 runs examples/smoke.js against the EDA and hybrid twins over the
// real NATS node, with BROKER=nats and BROKER_URL: the same accounting as
// over Kafka, the ends read from the PREFIX.k6 end queue (a durable
// consumer) the twin declared.
func TestK6SmokeOverNATS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds k6, starts the twins over the NATS node: not with -short")
	}
	node := natstest.Shared(t)
	k6, err := buildK6()
	if err != nil {
		t.Fatal(err)
	}
	target, err := buildTarget()
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join("examples", "smoke.js")
	for _, name := range []string{"eda", "hybrid"} {
		t.Run(name, func(t *testing.T) { runSmoke(t, node, "nats", k6, target, script, name) })
	}
}

func runSmoke(t *testing.T, node brokernode.Node, broker, k6, target, script, name string) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	r, err := twins.StartOver(ctx, node, broker, target, dir, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), time.Minute)
		defer scancel()
		if err := r.Stop(sctx); err != nil {
			t.Errorf("stopping the %s twin: %v", name, err)
		}
	})
	export := filepath.Join(dir, "summary.json")
	hdr := filepath.Join(dir, "hdr")
	cmd := exec.CommandContext(ctx, k6, "run", "--quiet", "--no-usage-report", "--summary-export", export, script)
	cmd.Env = append(os.Environ(), r.Env()...)
	cmd.Env = append(cmd.Env, "DURATION=15s", "RATE=20", "HDR="+hdr, "K6_NO_USAGE_REPORT=true")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("k6 run against the %s twin: %v\n%s", name, err, out.String())
	}
	b, err := os.ReadFile(export)
	if err != nil {
		t.Fatal(err)
	}
	var s summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	placed := s.num(t, MetricPlaced, "count")
	completed := s.num(t, MetricCompleted, "count")
	if lost := s.num(t, MetricLost, "count"); lost != 0 {
		t.Errorf("%s: %v orders lost", name, lost)
	}
	s.num(t, MetricAck, "med")
	s.num(t, MetricE2E, "p(95)")
	s.num(t, MetricRejected, "count")
	// Every counter is zero-pushed at the end, so count==0 thresholds on
	// it have a value to judge.
	for _, m := range []string{MetricErrored, MetricLateComplete} {
		if n := s.num(t, m, "count"); n != 0 {
			t.Errorf("%s: %s = %v, want 0", name, m, n)
		}
	}
	if name == "eda" {
		// Over Kafka and NATS the depth is the consumers' backlog (no mgmt).
		s.num(t, MetricQueueDepth, "max")
		s.num(t, MetricConsumerLag, "max")
	}
	// ~300 orders at 20/s for 15 s; a bound, not a timing assertion.
	t.Logf("%s over %s: placed %v, completed %v, e2e p95 %.1f ms", name, r.Broker, placed, completed, s.num(t, MetricE2E, "p(95)"))
	if placed < 100 || completed != placed {
		t.Errorf("%s: placed %v, completed %v", name, placed, completed)
	}
	applied, err := r.Applied(ctx, workflow.Notification)
	if err != nil {
		t.Fatal(err)
	}
	if float64(applied) != completed {
		t.Errorf("%s: k6 counted %v orders completed, the twin's audit %d", name, completed, applied)
	}
	for _, kind := range []string{"ack", "e2e"} {
		if _, err := os.Stat(filepath.Join(hdr, "k6."+name+"."+kind+".hgrm")); err != nil {
			t.Errorf("HDR option: %v", err)
		}
	}
	if t.Failed() {
		t.Logf("k6 output:\n%s", out.String())
	}
}
