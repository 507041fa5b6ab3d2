// Package eda is xk6-eda: the k6 extension that registers the JS module
// "k6/x/eda". A script places orders on either edabench twin and gets, as k6
// metrics, what k6's own grpc module cannot see: when each order completed
// end to end (for the EDA twin, the OrderCompleted event on the broker), how
// many orders were lost, and how deep the twin's queues are and how far its
// consumers trail.
//
// Structure, as k6 v1 asks of an extension: one RootModule for the process
// (registered in init), one ModuleInstance per VU (NewModuleInstance), the
// metrics registered on the VU's init registry and pushed with the VU's
// tags. Work in the background (the completion consumer, the timeout sweeper,
// the gauge sampler) never touches the JS runtime: it pushes metric samples
// from Go straight into k6's sample channel.
package eda

import (
	"fmt"
	"reflect"
	"runtime/debug"
	"sync"

	"github.com/grafana/sobek"
	"go.k6.io/k6/ext"
	"go.k6.io/k6/js/common"
	"go.k6.io/k6/js/modules"
	"go.k6.io/k6/metrics"
)

// ImportPath is the module name scripts import.
const ImportPath = "k6/x/eda"

func init() {
	modules.Register(ImportPath, New())
	if info, ok := debug.ReadBuildInfo(); ok {
		correctExtensionInfo(ext.Get(ext.JSExtension)[ImportPath], info)
	}
}

// modulePath is this extension's Go module path: the package is the
// module's root.
var modulePath = reflect.TypeFor[RootModule]().PkgPath()

// correctExtensionInfo sets the module path and version that `k6 version`
// (and k6's `use k6 with k6/x/eda >= ...` check) show for the extension.
// k6 v1.8 takes the first dependency whose path is a prefix of the
// extension's package path, and build info lists dependencies sorted by
// path: github.com/edabench/edabench (whose packages xk6-eda imports) comes
// first and is a prefix of github.com/edabench/edabench/xk6-eda, so k6
// would name the parent module and its version. Here only an exact module
// match counts. For a module replaced by a local directory (`make k6`,
// `xk6 build --with ...=./xk6-eda`) Go records "(devel)" as the
// replacement's version; the version shown is then the one required, which
// k6build (and xk6) take from the release the source declares.
func correctExtensionInfo(e *ext.Extension, info *debug.BuildInfo) {
	if e == nil || info == nil {
		return
	}
	version := ""
	if info.Main.Path == modulePath {
		version = info.Main.Version // the extension's own tests: "(devel)"
	}
	for _, dep := range info.Deps {
		if dep.Path != modulePath {
			continue
		}
		version = dep.Version
		if r := dep.Replace; r != nil && r.Version != "" && r.Version != "(devel)" {
			version = r.Version
		}
	}
	if version == "" {
		return
	}
	e.Path, e.Version = modulePath, version
}

// RootModule is the process-wide module: it owns the clients that VUs share
// (one per twin, gRPC address, AMQP URL and prefix), so that a test with a
// thousand VUs still has one completion consumer and one gauge sampler.
type RootModule struct {
	mu      sync.Mutex
	clients map[string]*shared
}

// ModuleInstance is one VU's view of the module.
type ModuleInstance struct {
	root    *RootModule
	vu      modules.VU
	metrics *edaMetrics
	// last is the most recent client this VU constructed: eda.queueDepth and
	// eda.consumerLag use its broker and services unless told otherwise.
	last *Client
}

var (
	_ modules.Module   = &RootModule{}
	_ modules.Instance = &ModuleInstance{}
)

// New returns the root module.
func New() *RootModule { return &RootModule{clients: map[string]*shared{}} }

// NewModuleInstance is called once per VU, in its init context.
func (r *RootModule) NewModuleInstance(vu modules.VU) modules.Instance {
	m, err := registerMetrics(vu.InitEnv().Registry)
	if err != nil {
		common.Throw(vu.Runtime(), fmt.Errorf("k6/x/eda: registering metrics: %w", err))
	}
	return &ModuleInstance{root: r, vu: vu, metrics: m}
}

// Exports are the module's named exports.
func (mi *ModuleInstance) Exports() modules.Exports {
	return modules.Exports{Named: map[string]any{
		"Client":      mi.newClient,
		"queueDepth":  mi.queueDepth,
		"consumerLag": mi.consumerLag,
	}}
}

// Metric names.
const (
	MetricAck          = "eda_ack_duration"
	MetricE2E          = "eda_e2e_duration"
	MetricPlaced       = "eda_orders_placed"
	MetricCompleted    = "eda_orders_completed"
	MetricRejected     = "eda_orders_rejected"
	MetricLost         = "eda_orders_lost"
	MetricErrored      = "eda_orders_errored"
	MetricQueueDepth   = "eda_queue_depth"
	MetricConsumerLag  = "eda_consumer_lag_seconds"
	MetricLateComplete = "eda_orders_completed_late"
	// With the hdr option: the run's quantiles so far, from the HDR
	// histograms, once a second; fixed memory, unlike the Trends.
	MetricAckP50 = "eda_ack_p50"
	MetricAckP99 = "eda_ack_p99"
	MetricE2EP50 = "eda_e2e_p50"
	MetricE2EP99 = "eda_e2e_p99"
)

type edaMetrics struct {
	registry                                         *metrics.Registry
	ack, e2e                                         *metrics.Metric
	placed, completed, rejected, lost, errored, late *metrics.Metric
	depth, lag                                       *metrics.Metric
	ackP50, ackP99, e2eP50, e2eP99                   *metrics.Metric
}

func registerMetrics(reg *metrics.Registry) (*edaMetrics, error) {
	m := &edaMetrics{registry: reg}
	var err error
	for _, d := range []struct {
		dst  **metrics.Metric
		name string
		typ  metrics.MetricType
		vt   []metrics.ValueType
	}{
		{&m.ack, MetricAck, metrics.Trend, []metrics.ValueType{metrics.Time}},
		{&m.e2e, MetricE2E, metrics.Trend, []metrics.ValueType{metrics.Time}},
		{&m.placed, MetricPlaced, metrics.Counter, nil},
		{&m.completed, MetricCompleted, metrics.Counter, nil},
		{&m.rejected, MetricRejected, metrics.Counter, nil},
		{&m.lost, MetricLost, metrics.Counter, nil},
		{&m.errored, MetricErrored, metrics.Counter, nil},
		{&m.late, MetricLateComplete, metrics.Counter, nil},
		{&m.depth, MetricQueueDepth, metrics.Gauge, nil},
		{&m.lag, MetricConsumerLag, metrics.Gauge, nil},
		{&m.ackP50, MetricAckP50, metrics.Gauge, []metrics.ValueType{metrics.Time}},
		{&m.ackP99, MetricAckP99, metrics.Gauge, []metrics.ValueType{metrics.Time}},
		{&m.e2eP50, MetricE2EP50, metrics.Gauge, []metrics.ValueType{metrics.Time}},
		{&m.e2eP99, MetricE2EP99, metrics.Gauge, []metrics.ValueType{metrics.Time}},
	} {
		if *d.dst, err = reg.NewMetric(d.name, d.typ, d.vt...); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// counters are every Counter the extension has, each zero-pushed at the
// end of the test.
func (m *edaMetrics) counters() []*metrics.Metric {
	return []*metrics.Metric{m.placed, m.completed, m.rejected, m.lost, m.errored, m.late}
}

// throw raises err as a JS exception in the VU's runtime; it never returns.
func (mi *ModuleInstance) throw(err error) {
	common.Throw(mi.vu.Runtime(), err)
}

// toObject exposes a Go value to JS with k6's field name mapping.
func toObject(rt *sobek.Runtime, v any) *sobek.Object {
	return rt.ToValue(v).ToObject(rt)
}
