package dashboards

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/launch"
	"github.com/edabench/edabench/harness/natsnode/natstest"
	"github.com/edabench/edabench/harness/runner"
	"github.com/edabench/edabench/harness/scenario"
	natsbus "github.com/edabench/edabench/targets/bus/nats"
)

// TestNATSRowShowsData runs the EDA twin over the private NATS node with
// the real Prometheus scraping the run, and holds every panel of the NATS
// row to data: the row reads the node's /varz and /jsz through the
// harness's exporter, which only a run over NATS serves. It is the NATS
// row's part of TestEveryPanelShowsData, on its own, so it runs without
// Kafka, RR or k6.
func TestNATSRowShowsData(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: needs the NATS node, Prometheus and an EDA twin; run it without -short")
	}
	natstest.Require(t)
	dir := t.TempDir()
	sdDir := filepath.Join(dir, "sd")
	if err := os.MkdirAll(sdDir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(launch.EnvSDDir, sdDir)
	prom := startPrometheus(t, dir)
	sc, err := scenario.Parse([]byte(liveScenario), "nats_live_test.go")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-5 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sum, _, err := runner.Run(ctx, runner.WithTwins("eda"), runner.WithScenario(sc), runner.WithBroker(natsbus.Name),
		runner.WithOutDir(filepath.Join(dir, "results")), runner.WithMetricsAddr(freePort(t)), runner.WithSeed(3))
	if err != nil {
		t.Fatalf("run over NATS: %v", err)
	}
	time.Sleep(2 * time.Second) // the last scrapes
	end := time.Now()
	values := map[string]string{"run": sum.RunID, "scenario": sc.Name, "twin": "eda", "testid": ".*", "broker": "nats"}
	seen := 0
	for _, d := range loadDashboards(t) {
		vars := parseVars(d, values)
		for _, p := range d.allPanels() {
			if !strings.HasPrefix(p.Title, "NATS: ") {
				continue
			}
			seen++
			for _, q := range p.Targets {
				e := fill(q.Expr, vars)
				if n, err := queryRange(prom, e, start, end); err != nil {
					t.Errorf("panel %q (%s): %v: %s", p.Title, q.RefID, err, e)
				} else if n == 0 {
					t.Errorf("panel %q (%s) shows no data: %s", p.Title, q.RefID, e)
				}
			}
		}
	}
	if seen == 0 {
		t.Fatal("no dashboard has a panel titled NATS: ...")
	}
	t.Logf("%d NATS panels show data for run %s", seen, sum.RunID)
}
