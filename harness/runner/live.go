package runner

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/edabench/edabench/harness/cpubill"
	"github.com/edabench/edabench/harness/output"
	"github.com/edabench/edabench/internal/loopback"
	"github.com/edabench/edabench/internal/profiling"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// liveMetrics is the harness's own /metrics, so a dashboard shows a run as
// it happens.
type liveMetrics struct {
	requests                       *prometheus.GaugeVec
	inFlight, depth, lagS          *prometheus.GaugeVec
	ackP50, ackP99, e2eP50, e2eP99 *prometheus.GaugeVec
	fault                          *prometheus.GaugeVec
	seenFaults                     map[string]bool // only the ticker goroutine of one twin at a time
	run                            *runCollector   // latency histograms and calls by code (promlive.go)
	addr                           string
}

// Names of the gauges the harness sets each second, labelled twin.
const (
	MetricRequests    = "edabench_harness_requests"
	MetricInFlight    = "edabench_harness_in_flight"
	MetricQueueDepth  = "edabench_harness_queue_depth"
	MetricConsumerLag = "edabench_harness_consumer_lag_seconds"
	MetricAckP50      = "edabench_harness_ack_p50_seconds"
	MetricAckP99      = "edabench_harness_ack_p99_seconds"
	MetricE2EP50      = "edabench_harness_e2e_p50_seconds"
	MetricE2EP99      = "edabench_harness_e2e_p99_seconds"
	// MetricFaultActive is 1 while its fault label's fault is injected.
	MetricFaultActive = "edabench_harness_fault_active"
)

func startLiveMetrics(ctx context.Context, addr string) (*liveMetrics, string, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	g := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, append([]string{"twin"}, labels...))
	}
	lm := &liveMetrics{
		requests:   g(MetricRequests, "Requests of the run so far, by outcome (sent, replies, failures).", "outcome"),
		inFlight:   g(MetricInFlight, "PlaceOrder calls under way."),
		depth:      g(MetricQueueDepth, "Messages ready or unacked in the twin's queues (EDA), last sample."),
		lagS:       g(MetricConsumerLag, "Largest consumer time lag of the twin's queues, last sample."),
		ackP50:     g(MetricAckP50, "Ack latency p50 over the last second, from intended send times."),
		ackP99:     g(MetricAckP99, "Ack latency p99 over the last second, from intended send times."),
		e2eP50:     g(MetricE2EP50, "End-to-end latency p50 over the last second."),
		e2eP99:     g(MetricE2EP99, "End-to-end latency p99 over the last second."),
		fault:      g(MetricFaultActive, "1 while a fault is injected (dashboards shade these windows).", "fault"),
		seenFaults: map[string]bool{},
		run:        newRunCollector(),
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(lm.requests, lm.inFlight, lm.depth, lm.lagS, lm.ackP50, lm.ackP99, lm.e2eP50, lm.e2eP99, lm.fault, lm.run)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("%w: --metrics-addr %s: %v (pick another port, 127.0.0.1:0, or off)", ErrInvalid, addr, err)
	}
	mux := http.NewServeMux()
	metricsH := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	acct := cpubill.From(ctx).Account(cpubill.LiveMetrics)
	mux.Handle("GET /metrics", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		sp := acct.Start()
		defer sp.End()
		metricsH.ServeHTTP(w, req)
	}))
	// The heap of a soak, while it runs: go tool pprof http://ADDR/debug/pprof/heap.
	// Only on loopback: a --metrics-addr open to a remote Prometheus must not
	// also hand out the process's memory.
	if loopback.Check(ln.Addr().String()) == nil {
		profiling.Register(mux)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	lm.addr = ln.Addr().String()
	go srv.Serve(ln)
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	return lm, ln.Addr().String(), nil
}

func (lm *liveMetrics) update(twin string, row output.Row, sent, replies, failures int64) {
	lm.requests.WithLabelValues(twin, "sent").Set(float64(sent))
	lm.requests.WithLabelValues(twin, "replies").Set(float64(replies))
	lm.requests.WithLabelValues(twin, "failures").Set(float64(failures))
	lm.inFlight.WithLabelValues(twin).Set(float64(row.InFlight))
	lm.depth.WithLabelValues(twin).Set(float64(row.Depth))
	lm.lagS.WithLabelValues(twin).Set(row.LagMs / 1000)
	lm.ackP50.WithLabelValues(twin).Set(row.AckP50 / 1000)
	lm.ackP99.WithLabelValues(twin).Set(row.AckP99 / 1000)
	lm.e2eP50.WithLabelValues(twin).Set(row.E2EP50 / 1000)
	lm.e2eP99.WithLabelValues(twin).Set(row.E2EP99 / 1000)
}

// faults sets each fault seen so far to 1 while active, 0 after.
func (lm *liveMetrics) faults(twin string, active []string) {
	on := map[string]bool{}
	for _, f := range active {
		on[f] = true
		lm.seenFaults[twin+"\x00"+f] = true
	}
	for k := range lm.seenFaults {
		t, f, _ := strings.Cut(k, "\x00")
		if t != twin {
			continue
		}
		v := 0.0
		if on[f] {
			v = 1
		}
		lm.fault.WithLabelValues(twin, f).Set(v)
	}
}
