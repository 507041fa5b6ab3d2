package dashboards

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/edabench/edabench/harness/natsnode"
	"github.com/edabench/edabench/harness/runner"
	"github.com/edabench/edabench/targets/bus/kafka"
	"github.com/edabench/edabench/targets/eda"
	"github.com/edabench/edabench/targets/hybrid"
	"github.com/edabench/edabench/targets/resilience"
	"github.com/edabench/edabench/targets/rr"
	"github.com/edabench/edabench/targets/workflow"
)

// exportedNames is every edabench_ metric name, as the package that
// produces it exports it: a dashboard querying any other edabench_ name (a
// renamed or misspelt one) shows nothing, which this finds without a live
// run.
func exportedNames() map[string]bool {
	return map[string]bool{
		eda.MetricBusEvents: true, eda.MetricPublishConfirm: true, eda.MetricHandle: true,
		eda.MetricConsumerLag: true, eda.MetricConsumerLagLast: true,
		eda.MetricQueuePublished: true, eda.MetricQueueSettled: true,
		hybrid.MetricPendingHandoffs: true,
		workflow.MetricStepDuration:  true, workflow.MetricStepApplied: true, workflow.MetricStepDuplicates: true,
		workflow.MetricStepFailures: true, workflow.MetricStepCompensations: true,
		resilience.MetricRPCRetries: true, resilience.MetricBreakerState: true, resilience.MetricBreakerTransitions: true,
		resilience.MetricBreakerRejected: true, resilience.MetricRPCClientDuration: true,
		rr.MetricInflight: true, rr.MetricCompensations: true, rr.MetricCompensationsBackground: true,
		rr.MetricGatewayOrders: true, rr.MetricGatewayReplays: true,
		runner.MetricRequests: true, runner.MetricInFlight: true, runner.MetricQueueDepth: true,
		runner.MetricConsumerLag: true, runner.MetricAckP50: true, runner.MetricAckP99: true,
		runner.MetricE2EP50: true, runner.MetricE2EP99: true, runner.MetricFaultActive: true,
		runner.MetricLatency: true, runner.MetricCalls: true, runner.MetricLoadStart: true,
		runner.MetricLoadSeconds: true, runner.MetricOrdersUnfinished: true,
		kafka.MetricProduceRecords: true, kafka.MetricProduceBytes: true, kafka.MetricFetchRecords: true,
		kafka.MetricFetchBytes: true, kafka.MetricRequestDuration: true, kafka.MetricConsumerLag: true,
		natsnode.MetricServerMessages: true, natsnode.MetricServerBytes: true, natsnode.MetricServerConnections: true,
		natsnode.MetricServerMemory: true, natsnode.MetricStreamMessages: true, natsnode.MetricStreamBytes: true,
		natsnode.MetricConsumerPending: true, natsnode.MetricConsumerAckPending: true, natsnode.MetricConsumerRedelivered: true,
	}
}

// checkMetricNames: every edabench_ series an expression selects is one a
// producer exports (a histogram by its _bucket, _sum or _count series).
func checkMetricNames(t *testing.T, where, expr string) {
	t.Helper()
	for _, name := range unknownNames(expr) {
		t.Errorf("%s: %s is no metric edabench exports (see docs/metrics.md; the names are the producers' Metric* constants)", where, name)
	}
}

// unknownNames are the edabench_ names expr selects that no producer
// exports; nil when it does not parse (checkExpr reports that).
func unknownNames(expr string) []string {
	e, err := promql.ParseExpr(expr)
	if err != nil {
		return nil
	}
	exported := exportedNames()
	var out []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok && !knownName(exported, vs.Name) {
			out = append(out, vs.Name)
		}
		return nil
	})
	return out
}

func knownName(exported map[string]bool, name string) bool {
	if !strings.HasPrefix(name, "edabench_") || exported[name] {
		return true
	}
	for _, s := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, s); ok && exported[base] {
			return true
		}
	}
	return false
}

// TestMetricNameCheck: the check accepts the exported names, a histogram's
// series and other namespaces, and rejects a name no producer exports, such
// as the protocol-named one the bus metrics had before.
func TestMetricNameCheck(t *testing.T) {
	for _, c := range []struct {
		expr string
		want []string
	}{
		{`sum(rate(` + eda.MetricBusEvents + `{kind="acked"}[1m]))`, nil},
		{`histogram_quantile(0.99, sum by (le) (rate(` + eda.MetricHandle + `_bucket[1m])))`, nil},
		{`rabbitmq_queue_messages / on() ` + runner.MetricInFlight, nil},
		{`sum(rate(edabench_amqp_events_total[1m])) or ` + eda.MetricBusEvents, []string{"edabench_amqp_events_total"}},
		{`edabench_bus_handle_seconds_total`, []string{"edabench_bus_handle_seconds_total"}},
	} {
		t.Run(c.expr, func(t *testing.T) {
			if got := unknownNames(c.expr); fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("unknown %v, want %v", got, c.want)
			}
		})
	}
}

var docRowRE = regexp.MustCompile("^\\| (`edabench_[^|]*)\\|[^|]*\\|([^|]*)\\|")

// TestMetricsDocNamesExported: docs/metrics.md's tables list exactly the
// exported names, and each messaging metric with its broker label.
func TestMetricsDocNamesExported(t *testing.T) {
	raw, err := os.ReadFile("../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	exported := exportedNames()
	bus := map[string]bool{eda.MetricBusEvents: true, eda.MetricPublishConfirm: true, eda.MetricHandle: true,
		eda.MetricConsumerLag: true, eda.MetricConsumerLagLast: true,
		eda.MetricQueuePublished: true, eda.MetricQueueSettled: true}
	documented := map[string]bool{}
	for _, line := range strings.Split(string(raw), "\n") {
		m := docRowRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		for _, cell := range strings.Split(m[1], ",") {
			name := strings.Trim(strings.TrimSpace(cell), "`")
			documented[name] = true
			if !exported[name] {
				t.Errorf("docs/metrics.md documents %s, which no package exports", name)
			}
			if bus[name] && !strings.Contains(m[2], "`"+eda.LabelBroker+"`") {
				t.Errorf("docs/metrics.md: %s's labels %q leave out %s", name, strings.TrimSpace(m[2]), eda.LabelBroker)
			}
		}
	}
	for name := range exported {
		if !documented[name] {
			t.Errorf("%s is exported but not in docs/metrics.md's tables", name)
		}
	}
}
