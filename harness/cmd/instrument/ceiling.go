package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/edabench/edabench/internal/twinkind"

	"github.com/edabench/edabench/harness/attack"
	"github.com/edabench/edabench/harness/brokerprobe"
	"github.com/edabench/edabench/harness/peers"
	"github.com/edabench/edabench/harness/stats"
	"github.com/edabench/edabench/targets/api/orderpb"
	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/drivers"
	"github.com/edabench/edabench/targets/eda"
	"github.com/edabench/edabench/targets/workflow"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// ceilingReport is part 3 on one backbone: the broker's ceiling with the
// twin's settings, and the EDA twin's knee over it as a share.
type ceilingReport struct {
	Broker  string             `json:"broker"`
	Version string             `json:"version,omitempty"`
	Probe   brokerprobe.Result `json:"probe"`
	// ProbeSettings says how the probe, like the twin, publishes and
	// consumes on this backbone.
	ProbeSettings string `json:"probe_settings"`
	// KneeRPS is the EDA twin's highest ramp step within the ramp's SLO;
	// KneeReached false means the ramp ended unbroken, so it is a floor.
	KneeRPS     float64 `json:"knee_rps"`
	KneeReached bool    `json:"knee_reached"`
	KneeReason  string  `json:"knee_reason,omitempty"`
	// KneeBrokenAt is the first step that broke the SLO (0: none did).
	KneeBrokenAt float64 `json:"knee_broken_at,omitempty"`
	Publishes    int     `json:"publishes_per_order"`
	Deliveries   int     `json:"deliveries_per_order"`
	// Share is the twin's message rate at its knee over the probe's.
	TwinMsgsPerSec float64 `json:"twin_msgs_per_s"`
	Share          float64 `json:"share"`
	// The machine is shared while the figures are taken: the 1, 5 and 15
	// minute load averages before the probe and after the ramp say how
	// quiet it was.
	LoadBefore string `json:"load_before,omitempty"`
	LoadAfter  string `json:"load_after,omitempty"`
	Err        string `json:"error,omitempty"`
	// Pairs are every probe-and-ramp pair (--pairs); the fields above are
	// the median pair's, Share the pairs' median. The intervals are the
	// medians' over the pairs that measured (harness/stats).
	Pairs           []sharePair    `json:"pairs,omitempty"`
	ShareInterval   stats.Interval `json:"share_interval"`
	CeilingInterval stats.Interval `json:"ceiling_interval"`
	KneeInterval    stats.Interval `json:"knee_interval"`
	// CoreShareInterval is the share per broker core over the pairs that
	// held their knee metered; the Cores intervals are where the cores
	// went in those holds and under the probes.
	CoreShareInterval   stats.Interval `json:"core_share_interval"`
	HoldMachineInterval stats.Interval `json:"hold_machine_cores_interval"`
	HoldBrokerInterval  stats.Interval `json:"hold_broker_cores_interval"`
	ProbeBrokerInterval stats.Interval `json:"probe_broker_cores_interval"`
}

// sharePair is one probe and one capacity ramp taken one after the other.
type sharePair struct {
	N              int                `json:"pair"`
	RampFirst      bool               `json:"ramp_first"`
	Probe          brokerprobe.Result `json:"probe"`
	KneeRPS        float64            `json:"knee_rps"`
	KneeReached    bool               `json:"knee_reached"`
	KneeReason     string             `json:"knee_reason,omitempty"`
	KneeBrokenAt   float64            `json:"knee_broken_at,omitempty"`
	TwinMsgsPerSec float64            `json:"twin_msgs_per_s"`
	Share          float64            `json:"share"`
	LoadBefore     string             `json:"load_before,omitempty"`
	LoadAfter      string             `json:"load_after,omitempty"`
	Err            string             `json:"error,omitempty"`
	// Hold is the twin held at its knee, metered (--hold); HoldErr why a
	// pair has none. CoreShare is the share per broker core: the twin's
	// deliveries per second of the broker's CPU over the probe's.
	Hold      *holdResult `json:"hold,omitempty"`
	HoldErr   string      `json:"hold_error,omitempty"`
	CoreShare float64     `json:"core_share,omitempty"`
}

// summarize fills the row from its pairs: the intervals over those that
// measured, and the row's figures from the pair whose share is nearest
// the median (the lower one of two as near).
func (c *ceilingReport) summarize() {
	var ok []sharePair
	for _, p := range c.Pairs {
		if p.Err == "" {
			ok = append(ok, p)
		}
	}
	col := func(f func(sharePair) float64) []float64 {
		out := make([]float64, len(ok))
		for i, p := range ok {
			out[i] = f(p)
		}
		return out
	}
	c.ShareInterval = stats.MedianInterval(col(func(p sharePair) float64 { return p.Share }))
	c.CeilingInterval = stats.MedianInterval(col(func(p sharePair) float64 { return p.Probe.MsgsPerSec }))
	c.KneeInterval = stats.MedianInterval(col(func(p sharePair) float64 { return p.KneeRPS }))
	c.summarizeCores(ok)
	if len(ok) == 0 {
		if len(c.Pairs) > 0 {
			c.Probe = c.Pairs[0].Probe // a probe that measured before its ramp failed
		}
		return
	}
	med := ok[0]
	for _, p := range ok[1:] {
		d, dm := math.Abs(p.Share-c.ShareInterval.Median), math.Abs(med.Share-c.ShareInterval.Median)
		if d < dm || (d == dm && p.Share < med.Share) {
			med = p
		}
	}
	c.Probe, c.KneeRPS, c.KneeReached, c.KneeReason, c.KneeBrokenAt = med.Probe, med.KneeRPS, med.KneeReached, med.KneeReason, med.KneeBrokenAt
	c.TwinMsgsPerSec, c.Share = med.TwinMsgsPerSec, c.ShareInterval.Median
}

// summarizeCores fills the CPU intervals from the pairs that measured
// them.
func (c *ceilingReport) summarizeCores(ok []sharePair) {
	var core, machine, broker, probe []float64
	for _, p := range ok {
		if b := p.Probe.BrokerCores(); b > 0 {
			probe = append(probe, b)
		}
		if p.Hold == nil {
			continue
		}
		machine, broker = append(machine, p.Hold.MachineCores()), append(broker, p.Hold.BrokerCores)
		if p.CoreShare > 0 {
			core = append(core, p.CoreShare)
		}
	}
	c.CoreShareInterval, c.ProbeBrokerInterval = stats.MedianInterval(core), stats.MedianInterval(probe)
	c.HoldMachineInterval, c.HoldBrokerInterval = stats.MedianInterval(machine), stats.MedianInterval(broker)
}

// eventBody is an event as the twin's steps publish it, with an order ID
// as long as the harness's, so the probe's messages weigh the same.
func eventBody() ([]byte, error) {
	now := time.Now()
	ev := &orderpb.Event{Type: "PaymentCaptured", Step: string(workflow.Payment), OccurredAt: timestamppb.New(now),
		Order: &orderpb.OrderData{OrderId: attack.OrderID("20260101-120000-eda-ramp", 123456, now, now), Customer: "load",
			AmountCents: 1999, Items: []*orderpb.Item{{Sku: "sku-1", Quantity: 1}}}}
	b, err := proto.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode a sample event: %w", err)
	}
	return b, nil
}

// messagesPerOrder counts, for an order that completes, the events the
// chain publishes and the queue copies the broker delivers (each step's
// success event also goes to the gateway's projector), plus the one the
// harness's completion subscription receives.
func messagesPerOrder(cfg eda.Config) (publishes, deliveries int) {
	var keys []string // the success path's routing keys: every binding but order.failed
	for _, q := range cfg.Queues() {
		for _, k := range q.Bindings {
			if k != eda.KeyOrderFailed && !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	for _, q := range cfg.Queues() {
		for _, k := range q.Bindings {
			if slices.Contains(keys, k) {
				deliveries++
			}
		}
	}
	return len(keys), deliveries + 1
}

// ceiling runs part 3 on each backbone of --brokers in turn, in one run;
// a backbone that fails is reported and the next still runs.
func (s *session) ceiling(ctx context.Context) ([]*ceilingReport, error) {
	var out []*ceilingReport
	var errs []error
	for _, b := range s.cfg.brokers {
		fmt.Printf("  backbone %s\n", b)
		rep, err := s.ceilingOn(ctx, b)
		rep.LoadAfter = loadAverage()
		if err != nil {
			rep.Err = err.Error()
			errs = append(errs, fmt.Errorf("%s: %w", b, err))
		}
		out = append(out, rep)
		if ctx.Err() != nil {
			break
		}
	}
	return out, errors.Join(errs...)
}

// ceilingOn measures the share on broker --pairs times: each pair a probe
// of broker's node with the twin's settings and the EDA twin's capacity
// ramp over it, one after the other, the order alternating from pair to
// pair so that a drift of the shared machine weighs on both sides alike.
// The row shows the median pair; the share's interval is over the pairs.
func (s *session) ceilingOn(ctx context.Context, broker string) (*ceilingReport, error) {
	rep := &ceilingReport{Broker: broker, LoadBefore: loadAverage()}
	node, err := s.brokerNode(ctx, broker)
	if err != nil {
		return rep, err
	}
	rep.Version = node.Version(ctx)
	body, err := eventBody()
	if err != nil {
		return rep, err
	}
	opts, err := eda.DefaultOptions(broker)
	if err != nil {
		return rep, err
	}
	cfg := eda.DefaultConfig()
	rep.Publishes, rep.Deliveries = messagesPerOrder(cfg)
	d := describe(broker, opts)
	rep.ProbeSettings = d.Settings
	// One publisher per handler the twin can have in flight on a queue.
	pubs := s.cfg.probePublishers
	if pubs == 0 {
		pubs = d.Prefetch
	}
	pc := brokerprobe.Config{Node: node, Driver: broker, Options: opts, Body: body,
		Duration: s.cfg.probeDur, Prefetch: d.Prefetch, Publishers: pubs, Queues: len(cfg.Queues())}
	var errs []error
	for i := range s.cfg.pairs {
		fmt.Printf("  pair %d of %d\n", i+1, s.cfg.pairs)
		pair, err := s.sharePair(ctx, pc, rep.Deliveries, i+1)
		if err != nil {
			errs = append(errs, fmt.Errorf("pair %d: %w", i+1, err))
			pair.Err = err.Error()
		}
		rep.Pairs = append(rep.Pairs, pair)
		if ctx.Err() != nil {
			break
		}
	}
	rep.summarize()
	if rep.ShareInterval.N == 0 {
		return rep, errors.Join(errs...)
	}
	// A pair that failed is reported with its error; the others still
	// give the share.
	if len(errs) > 0 {
		fmt.Printf("  %d pair(s) failed: %v\n", len(errs), errors.Join(errs...))
	}
	return rep, nil
}

// sharePair is the n-th probe and capacity ramp; the even ones ramp first.
func (s *session) sharePair(ctx context.Context, pc brokerprobe.Config, deliveries, n int) (pair sharePair, err error) {
	pair = sharePair{N: n, LoadBefore: loadAverage(), RampFirst: n%2 == 0}
	defer func() { pair.LoadAfter = loadAverage() }() // on the named result: set on every way out
	steps := []func() error{
		func() (err error) { pair.Probe, err = s.probe(ctx, pc); return },
		func() error { return s.ramp(ctx, pc.Driver, &pair) },
	}
	if pair.RampFirst {
		slices.Reverse(steps)
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return pair, err
		}
	}
	pair.TwinMsgsPerSec = pair.KneeRPS * float64(deliveries)
	if pair.Probe.MsgsPerSec > 0 {
		pair.Share = pair.TwinMsgsPerSec / pair.Probe.MsgsPerSec
	}
	fmt.Printf("  EDA knee %.0f orders/s x %d deliveries = %.0f msgs/s: %.0f%% of the ceiling\n", pair.KneeRPS, deliveries, pair.TwinMsgsPerSec, 100*pair.Share)
	if s.cfg.holdDur > 0 && pair.KneeRPS > 0 {
		h, err := s.hold(ctx, pc.Driver, pair.KneeRPS, deliveries, pair.N)
		if err != nil {
			// The share stands without it; the pair says why its split is missing.
			pair.HoldErr = err.Error()
			fmt.Printf("  hold at the knee: %v\n", err)
		} else {
			pair.Hold = h
			pair.CoreShare = h.coreShare(pair.Probe)
		}
	}
	return pair, nil
}

func (s *session) probe(ctx context.Context, pc brokerprobe.Config) (brokerprobe.Result, error) {
	fmt.Printf("  probe: %v, %d-byte bodies, prefetch %d...\n", pc.Duration, len(pc.Body), pc.Prefetch)
	r, err := brokerprobe.Run(ctx, pc)
	if err == nil {
		fmt.Printf("  probe: %.0f msgs/s (publish %.0f/s confirmed, consume %.0f/s acked)\n", r.MsgsPerSec, r.PublishRate, r.ConsumeRate)
	}
	return r, err
}

// ramp finds the EDA twin's sustainable rate over broker into pair's
// knee: by default the knee search's completion knee (scenarios/knee.yaml,
// the figure claim 3 reads), else the capacity ramp's knee.
func (s *session) ramp(ctx context.Context, broker string, pair *sharePair) error {
	scen := s.cfg.shareScenario
	fmt.Printf("  EDA twin over %s: %s (scenarios/%s.yaml)...\n", broker, scenarioWhat(scen), scen)
	args := []string{"run", "--twin", twinkind.EDA, "--broker", broker, "--scenario", scen,
		"--metrics-addr", "off", "--binary", s.cfg.target}
	if scen == shareCapacity || s.cfg.rampDurSet {
		args = append(args, "--duration", s.cfg.rampDur.String())
	}
	name := fmt.Sprintf("ramp-eda-%s-%d", broker, pair.N)
	_, t, _, err := s.runEdabench(ctx, name, twinkind.EDA, args, peers.Spec{})
	if err != nil {
		return err
	}
	k := t.Knee
	if k != nil && scen == shareKnee {
		// The lower of the two knees: an order accepted is not yet carried.
		k = k.Completion
	}
	if k == nil {
		return fmt.Errorf("the %s run's summary has no knee (see %s)", scen, s.raw)
	}
	pair.KneeRPS, pair.KneeReached, pair.KneeReason, pair.KneeBrokenAt = k.RPS, k.Reached || k.BrokenAt > 0, k.Reason, k.BrokenAt
	return nil
}

// The scenarios part 3 can read the twin's sustainable rate from.
const (
	shareKnee     = "knee"
	shareCapacity = "capacity"
)

func scenarioWhat(scen string) string {
	if scen == shareKnee {
		return "knee search, completion knee"
	}
	return "capacity ramp"
}

// describe is how the twin (and the probe) use broker with options o: its
// driver's Kind.Describe.
func describe(broker string, o bus.DriverOptions) bus.Description {
	k, err := drivers.Builtin().Lookup(broker)
	if err != nil {
		return bus.Description{Settings: fmt.Sprintf("%+v", o)}
	}
	return k.Describe(o)
}

// loadAverage is /proc/loadavg's 1, 5 and 15 minute figures, "" where
// there is none.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
