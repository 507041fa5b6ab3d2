package dashboards

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/edabench/edabench/harness/broker/brokertest"
	"github.com/edabench/edabench/targets/workflow"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/kafkanode/kafkatest"
	"github.com/edabench/edabench/harness/launch"
	"github.com/edabench/edabench/harness/natsnode/natstest"
	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/harness/runner"
	"github.com/edabench/edabench/harness/scenario"
	"github.com/edabench/edabench/targets/bus/kafka"
	natsbus "github.com/edabench/edabench/targets/bus/nats"
)

// liveScenario is short, on both twins, with a business error rate (so
// compensations happen) and a pause of shipping (a fault window).
const liveScenario = `
name: dashboards-live
description: Every panel of every dashboard must show data.
arrival: poisson
stages:
  - name: steady
    duration: 14s
    rate: 80
faults:
  - type: pause
    target: shipping
    at: 5s
    duration: 2s
timeout: 2s
max_in_flight: 512
drain: 10s
topology: chain
cost: dist=exponential,mean=1ms,cap=10ms,error=0.02
seed: 3
`

// ensureTool installs Debian's prometheus package (prometheus, promtool)
// when missing.
func ensureTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, args := range [][]string{{"update"}, {"install", "-y", "--no-install-recommends", "prometheus"}} {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s missing and apt-get %s failed: %v\n%s", name, args[0], err, out)
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s still missing after installing Debian's prometheus package", name)
	}
	return p
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startPrometheus runs Prometheus with deploy/prometheus.yml (scraping
// every second) in dir, on a free loopback port.
func startPrometheus(t *testing.T, dir string) string {
	t.Helper()
	bin := ensureTool(t, "prometheus")
	cfg, err := os.ReadFile("../deploy/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	c := strings.NewReplacer("scrape_interval: 2s", "scrape_interval: 1s", "scrape_timeout: 2s", "scrape_timeout: 1s",
		"refresh_interval: 2s", "refresh_interval: 1s").Replace(string(cfg))
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(c), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr,
		"--web.enable-remote-write-receiver")
	logf, _ := os.Create(filepath.Join(dir, "prometheus.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait(); logf.Close() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return "http://" + addr
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
			t.Fatalf("prometheus not ready on %s: %v\n%s", addr, err, b)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// lintTargets runs promtool check metrics on every target of the file-SD
// files once it has served a few seconds, until ctx ends.
type linter struct {
	mu       sync.Mutex
	checked  map[string]string // url -> promtool's output ("" clean)
	firstSee map[string]time.Time
}

func (l *linter) run(ctx context.Context, t *testing.T, promtool, sdDir string) {
	tk := time.NewTicker(500 * time.Millisecond)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		files, _ := filepath.Glob(filepath.Join(sdDir, "*.json"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			var groups []struct{ Targets []string }
			if json.Unmarshal(b, &groups) != nil {
				continue
			}
			for _, g := range groups {
				for _, tg := range g.Targets {
					u := "http://" + tg + "/metrics"
					l.mu.Lock()
					_, done := l.checked[u]
					first, seen := l.firstSee[u]
					if !seen {
						l.firstSee[u] = time.Now()
					}
					l.mu.Unlock()
					if done || !seen || time.Since(first) < 6*time.Second {
						continue
					}
					resp, err := http.Get(u)
					if err != nil {
						continue
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					cmd := exec.Command(promtool, "check", "metrics")
					cmd.Stdin = bytes.NewReader(body)
					out, _ := cmd.CombinedOutput()
					l.mu.Lock()
					l.checked[u] = strings.TrimSpace(string(out)) + fmt.Sprintf(" [%s, %d bytes]", filepath.Base(f), len(body))
					if strings.TrimSpace(string(out)) == "" {
						l.checked[u] = ""
					}
					l.mu.Unlock()
				}
			}
		}
	}
}

type promResp struct {
	Status string `json:"status"`
	Error  string `json:"error"`
	Data   struct {
		Result []json.RawMessage `json:"result"`
	} `json:"data"`
}

func queryRange(prom, expr string, start, end time.Time) (int, error) {
	v := url.Values{"query": {expr}, "start": {fmt.Sprint(start.Unix())}, "end": {fmt.Sprint(end.Unix())}, "step": {"1"}}
	resp, err := http.PostForm(prom+"/api/v1/query_range", v)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var r promResp
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return 0, err
	}
	if r.Status != "success" {
		return 0, fmt.Errorf("%s", r.Error)
	}
	return len(r.Data.Result), nil
}

func TestEveryPanelShowsData(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the live dashboards test needs the broker, Prometheus, both twins and k6 (a few minutes); run it without -short")
	}
	t0 := time.Now()
	dir := t.TempDir()
	sdDir := filepath.Join(dir, "sd")
	os.MkdirAll(sdDir, 0o755)
	t.Setenv(launch.EnvSDDir, sdDir)
	prom := startPrometheus(t, dir)
	promtool := ensureTool(t, "promtool")

	sc, err := scenario.Parse([]byte(liveScenario), "live_test.go")
	if err != nil {
		t.Fatal(err)
	}
	lctx, stopLint := context.WithCancel(context.Background())
	l := &linter{checked: map[string]string{}, firstSee: map[string]time.Time{}}
	lintDone := make(chan struct{})
	go func() { l.run(lctx, t, promtool, sdDir); close(lintDone) }()

	start := time.Now().Add(-5 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sum, runDir, err := runner.Run(ctx, runner.WithTwins("rr", "eda"), runner.WithScenario(sc),
		runner.WithOutDir(filepath.Join(dir, "results")), runner.WithMetricsAddr(freePort(t)), runner.WithSeed(3))
	if err != nil {
		stopLint()
		<-lintDone
		t.Fatalf("run: %v", err)
	}
	t.Logf("run %s took %s", sum.RunID, time.Since(t0))
	// The EDA twin again, over the real Kafka node: the Kafka panels read
	// its clients' metrics, and every other panel must still read the run
	// above (the figures are held against its summary alone).
	kafkatest.Require(t)
	kctx, kcancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer kcancel()
	ksum, _, err := runner.Run(kctx, runner.WithTwins("eda"), runner.WithScenario(sc), runner.WithBroker(kafka.Name),
		runner.WithOutDir(filepath.Join(dir, "results-kafka")), runner.WithMetricsAddr(freePort(t)), runner.WithSeed(3))
	if err != nil {
		stopLint()
		<-lintDone
		t.Fatalf("run over Kafka: %v", err)
	}
	t.Logf("run %s over Kafka done at %s", ksum.RunID, time.Since(t0))
	// And over NATS: its row reads the node's /varz and /jsz through the
	// harness's own exporter (natsnode.Collector on the run's /metrics).
	natstest.Require(t)
	nctx, ncancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer ncancel()
	nsum, _, err := runner.Run(nctx, runner.WithTwins("eda"), runner.WithScenario(sc), runner.WithBroker(natsbus.Name),
		runner.WithOutDir(filepath.Join(dir, "results-nats")), runner.WithMetricsAddr(freePort(t)), runner.WithSeed(3))
	stopLint()
	<-lintDone
	if err != nil {
		t.Fatalf("run over NATS: %v", err)
	}
	t.Logf("run %s over NATS done at %s", nsum.RunID, time.Since(t0))
	time.Sleep(2 * time.Second) // the last scrapes
	end := time.Now()

	t.Run("promtool", func(t *testing.T) {
		l.mu.Lock()
		defer l.mu.Unlock()
		// The harness and five services per twin, twice for EDA.
		if len(l.checked) < 17 {
			t.Errorf("promtool checked %d /metrics endpoints, want the harness's twice and 15 services'", len(l.checked))
		}
		for u, out := range l.checked {
			if out != "" {
				t.Errorf("promtool check metrics %s:\n%s", u, out)
			}
		}
	})

	summaries := map[string]map[string]any{}
	if f, err := results.ReadSummary(runDir); err != nil {
		t.Errorf("the run's summary: %v", err)
	} else {
		summaries[harnessSummary] = f.Tree
	}
	k6ok := t.Run("k6", func(t *testing.T) {
		k6 := buildK6(t)
		for _, twin := range []string{"rr", "eda"} {
			if doc := runK6(t, k6, prom, twin); doc != nil {
				summaries[k6Summary(twin)] = doc
			}
		}
	})
	// The k6 runs come after the harness's: the window must cover them too.
	time.Sleep(2 * time.Second)
	end = time.Now()

	values := map[string]string{"run": sum.RunID, "scenario": sc.Name, "twin": "rr|eda", "testid": k6TestID + ".*", "broker": ".*"}
	// Every panel shows data over the runs: the RabbitMQ and RR panels
	// from the first, the Kafka ones from the second, the NATS ones from
	// the third.
	both := map[string]string{}
	for k, v := range values {
		both[k] = v
	}
	both["run"], both["broker"] = sum.RunID+"|"+ksum.RunID+"|"+nsum.RunID, "rabbitmq|kafka|nats"
	for _, d := range loadDashboards(t) {
		t.Run(d.file, func(t *testing.T) {
			if d.UID == "edabench-k6" && !k6ok {
				t.Fatalf("no k6 data: the k6 subtest failed (see above)")
			}
			vars := parseVars(d, both)
			for _, p := range d.allPanels() {
				for _, q := range p.Targets {
					e := fill(q.Expr, vars)
					n, err := queryRange(prom, e, start, end)
					if err != nil {
						t.Errorf("panel %q (%s): %v: %s", p.Title, q.RefID, err, e)
					} else if n == 0 {
						t.Errorf("panel %q (%s) shows no data: %s", p.Title, q.RefID, e)
					}
				}
			}
			for _, v := range d.Templating.List {
				m := labelValuesRE.FindStringSubmatch(fill(v.Definition, vars))
				if m == nil {
					continue
				}
				if n, err := queryRange(prom, "count by ("+m[2]+") ("+m[1]+")", start, end); err != nil || n == 0 {
					t.Errorf("variable %s has no values (%v): %s", v.Name, err, v.Definition)
				}
			}
			for _, a := range d.Annotations.List {
				if a.Expr == "" {
					continue
				}
				if n, err := queryRange(prom, fill(a.Expr, vars), start, end); err != nil || n == 0 {
					t.Errorf("annotation %q shows no window (%v)", a.Name, err)
				}
			}
		})
	}
	lr := &liveRun{prom: prom, start: start, end: end, values: values, summaries: summaries}
	t.Run("figures agree with the summaries", func(t *testing.T) { lr.checkFigures(t) })
	t.Run("a broken panel fails", func(t *testing.T) { lr.checkBroken(t) })
	t.Logf("total %s", time.Since(t0))
}

// buildK6 is bin/k6 with xk6-eda, built by `make k6` when missing; it
// fails, never skips, when it cannot be built.
func buildK6(t *testing.T) string {
	k6 := "../bin/k6"
	if _, err := os.Stat(k6); err != nil {
		cmd := exec.Command("make", "k6")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("the k6 dashboard needs bin/k6 with xk6-eda, and `make k6` failed (%v):\n%s", err, tail(out))
		}
	}
	return k6
}

// k6TestID is the testid tag of the live test's k6 runs, one per twin.
const k6TestID = "dashboards-live-"

// runK6 runs smoke.js with k6 against a twin of its own (the k6
// dashboard's queue panels only have data for an EDA twin) with the
// Prometheus remote-write output and the hdr option, and returns k6's own
// end-of-test summary (--summary-export), nil when k6 failed.
func runK6(t *testing.T, k6, prom, twin string) map[string]any {
	script := "../xk6-eda/examples/smoke.js"
	if _, err := os.Stat(script); err != nil {
		t.Fatalf("bin/k6 is there, but not %s: nothing to send to the k6 dashboard", script)
	}
	ctx := context.Background()
	bin, err := launch.BuildTarget(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	spec := launch.Spec{Twin: twin, Topology: workflow.Chain, Binary: bin, Dir: t.TempDir(), Seed: 1}
	env := []string{"TWIN=" + twin}
	if twin == "eda" {
		node := brokertest.Shared(t)
		// Deleted, k6's queue with the twin's, when the test ends.
		spec.URL, spec.Prefix = node.AMQPURL(), brokertest.Prefix(t, node, "k6dash")
		env = append(env, "AMQP="+node.AMQPURL(), "PREFIX="+spec.Prefix, "MGMT="+node.MgmtURL())
	}
	tw, err := launch.Start(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer tw.Stop(ctx)
	var metrics []string
	for _, svc := range launch.Services(workflow.Chain) {
		metrics = append(metrics, "http://"+tw.HTTPAddr(svc)+"/metrics")
	}
	dir := t.TempDir()
	export := filepath.Join(dir, "k6-summary.json")
	cmd := exec.Command(k6, "run", "--duration", "8s", "--tag", "testid="+k6TestID+twin, "-o", "experimental-prometheus-rw",
		"--summary-export", export, "--summary-trend-stats", "avg,p(50),p(99),max", script)
	cmd.Env = append(os.Environ(), append(env, "K6_PROMETHEUS_RW_SERVER_URL="+prom+"/api/v1/write",
		"K6_PROMETHEUS_RW_TREND_STATS=p(50),p(99),p(99.9),max", "K6_PROMETHEUS_RW_PUSH_INTERVAL=1s",
		"GRPC="+tw.GatewayAddr(), "HDR="+dir, "METRICS="+strings.Join(metrics, ","))...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("k6 run (%s): %v\n%s", twin, err, tail(out))
		return nil
	}
	b, err := os.ReadFile(export)
	var doc map[string]any
	if err == nil {
		err = json.Unmarshal(b, &doc)
	}
	if err != nil {
		t.Errorf("k6's summary export (%s): %v", twin, err)
		return nil
	}
	return doc
}

func tail(b []byte) string {
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}
