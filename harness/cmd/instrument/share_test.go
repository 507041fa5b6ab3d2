package main

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/brokerprobe"
	"github.com/edabench/edabench/harness/cpubill"
	"github.com/edabench/edabench/harness/procstat"
	"github.com/edabench/edabench/harness/record"
	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/harness/scenario"
)

// share-pairs.json is part 3's RabbitMQ row of a real run (2026-12-05,
// five pairs of a 5 s probe and a 64 s ramp on a loaded machine): the
// summary is recomputed from its pairs alone.
func TestShareOverRecordedPairs(t *testing.T) {
	b, err := os.ReadFile("testdata/share-pairs.json")
	if err != nil {
		t.Fatal(err)
	}
	var recorded ceilingReport
	if err := json.Unmarshal(b, &recorded); err != nil {
		t.Fatal(err)
	}
	c := &ceilingReport{Broker: recorded.Broker, Deliveries: recorded.Deliveries, Pairs: recorded.Pairs}
	c.summarize()

	var shares []float64
	for _, p := range c.Pairs {
		shares = append(shares, p.Share)
		if want := p.KneeRPS * float64(c.Deliveries) / p.Probe.MsgsPerSec; math.Abs(p.Share-want) > 1e-9 {
			t.Errorf("pair %d: share %v, want knee x deliveries / ceiling = %v", p.N, p.Share, want)
		}
	}
	slices.Sort(shares)
	iv := c.ShareInterval
	if iv.N != 5 || iv.Median != shares[2] || iv.Lo != shares[0] || iv.Hi != shares[4] || math.Abs(iv.Confidence-0.9375) > 1e-9 {
		t.Errorf("share interval %+v; want the median of 5 %v in [min, max] at 93.75%%", iv, shares)
	}
	if c.Share != iv.Median || c.Share != recorded.Share {
		t.Errorf("row share %v, want the median %v (as recorded: %v)", c.Share, iv.Median, recorded.Share)
	}
	// The row's other figures are the median pair's, as one pair measured them.
	if math.Abs(c.TwinMsgsPerSec/c.Probe.MsgsPerSec-c.Share) > 1e-9 || c.KneeRPS != recorded.KneeRPS {
		t.Errorf("row: knee %v, %v msgs/s over a %v ceiling; want the median pair's (knee %v)", c.KneeRPS, c.TwinMsgsPerSec, c.Probe.MsgsPerSec, recorded.KneeRPS)
	}
	for i, p := range c.Pairs {
		if p.RampFirst != (i%2 == 1) {
			t.Errorf("pair %d: ramp first %v; the order alternates, probe first in odd pairs", p.N, p.RampFirst)
		}
	}
	md := ceilingMarkdown([]*ceilingReport{c})
	for _, want := range []string{shareCell(c), "(n=5, 94%)", "- rabbitmq, pairs (ceiling, knee orders/s, share;", "2 (ramp first)", "over 5 pairs"} {
		if !strings.Contains(md, want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
}

// The goal over pairs is the interval's: met only when all of it is at or
// above the goal, missed only when all of it is below.
func TestShareGoalOverPairs(t *testing.T) {
	pair := func(n int, share float64) sharePair {
		return sharePair{N: n, Share: share, KneeRPS: 100 * share, KneeReached: true, TwinMsgsPerSec: share, Probe: brokerprobe.Result{MsgsPerSec: 1}}
	}
	tests := []struct {
		name   string
		shares []float64
		want   string
	}{
		{"all above", []float64{0.71, 0.8, 0.75, 0.9, 0.72}, "met"},
		{"all below", []float64{0.5, 0.6, 0.55, 0.69, 0.4}, "**missed**"},
		{"straddles", []float64{0.5, 0.8, 0.6, 0.75, 0.65}, "**not decided**, the interval straddles it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &ceilingReport{Broker: "rabbitmq"}
			for i, s := range tt.shares {
				c.Pairs = append(c.Pairs, pair(i+1, s))
			}
			c.summarize()
			if got, _ := shareGoal(c); got != tt.want {
				t.Errorf("goal = %q, want %q (interval %v)", got, tt.want, c.ShareInterval)
			}
		})
	}
}

// A hold's split comes from its summary's usage per second of load, and
// the share per broker core sets the broker's CPU per message under the
// twin beside the probe's.
func TestHoldSplitAndCoreShare(t *testing.T) {
	tw := &results.TwinResult{LoadSeconds: 20,
		Orders: results.OrderCounts{Accepted: 20000, Completed: 20000},
		Usage: map[string]procstat.Usage{
			results.UsageBroker: {CPUSeconds: 18}, results.UsageHarness: {CPUSeconds: 4},
			"gateway": {CPUSeconds: 8}, "payment": {CPUSeconds: 4}, "inventory": {CPUSeconds: 4}},
	}
	h, err := holdFrom(tw, 1000, 9, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	near := func(name string, got, want float64) {
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("broker cores", h.BrokerCores, 0.9)
	near("services cores", h.ServicesCores, 0.8)
	near("harness cores", h.HarnessCores, 0.2)
	near("machine cores", h.MachineCores(), 1.9)
	near("broker µs/msg", h.BrokerCPUPerMsgUs, 1e6*18/(20000*9))
	// The probe: 30 s, 300,000 messages each way on 1.5 broker cores: 150 µs/msg.
	probe := brokerprobe.Result{Seconds: 30, Confirmed: 300000, Acked: 300000, BrokerCPUSeconds: 45}
	near("probe broker cores", probe.BrokerCores(), 1.5)
	near("core share", h.coreShare(probe), 150/h.BrokerCPUPerMsgUs)
	if got := h.coreShare(brokerprobe.Result{Seconds: 30, Confirmed: 1, Acked: 1}); got != 0 {
		t.Errorf("core share without the probe's CPU = %v, want 0 (not measured)", got)
	}
	// Only the steady phase's latency judges the hold, not the climb.
	phased := *tw
	phased.E2E.P99 = 1500
	phased.Phases = map[string]*results.PhaseResult{"warmup": {E2E: record.Summary{P99: 1500}}, holdPhase: {E2E: record.Summary{P99: 400}}}
	if hp, _ := holdFrom(&phased, 1000, 9, time.Second); !hp.Held || hp.E2EP99Ms != 400 {
		t.Errorf("hold with a slow climb and a steady phase at 400 ms: held %v at %v ms; want held at 400", hp.Held, hp.E2EP99Ms)
	}
	phased.Phases[holdPhase].E2E.P99 = 1200
	if hp, _ := holdFrom(&phased, 1000, 9, time.Second); hp.Held {
		t.Error("a steady phase at e2e p99 1.2 s held; want not held (the SLO is 1 s)")
	}
	// A twin that fell behind drains after its load: the cores are over
	// the metered window (the harness's bill's), not the load alone.
	behind := *tw
	behind.HarnessCPU = &cpubill.Split{Seconds: 25}
	hb, err := holdFrom(&behind, 1000, 9, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	near("broker cores over the window", hb.BrokerCores, 18.0/25)
	behind.HarnessCPU, behind.Orders.DrainMs = nil, 5000
	if hb, _ = holdFrom(&behind, 1000, 9, time.Second); math.Abs(hb.WindowSeconds-25) > 1e-9 {
		t.Errorf("window without a bill = %v s, want load + drain = 25", hb.WindowSeconds)
	}
	if _, err := holdFrom(&results.TwinResult{LoadSeconds: 20}, 1000, 9, time.Second); err == nil {
		t.Error("a summary without the broker's usage gave a split; want an error naming it")
	}

	c := &ceilingReport{Broker: "kafka", Pairs: []sharePair{
		{N: 1, Share: 0.3, KneeRPS: 1000, KneeReached: true, Probe: probe, Hold: h, CoreShare: h.coreShare(probe)},
		{N: 2, Share: 0.35, KneeRPS: 1100, KneeReached: true, Probe: probe, HoldErr: "the hold's summary has no load seconds"},
	}}
	c.summarize()
	if c.CoreShareInterval.N != 1 || c.HoldMachineInterval.N != 1 || c.ProbeBrokerInterval.N != 2 {
		t.Errorf("intervals over the pairs that measured: core share n=%d, machine n=%d, probe n=%d; want 1, 1, 2",
			c.CoreShareInterval.N, c.HoldMachineInterval.N, c.ProbeBrokerInterval.N)
	}
	md := coresMarkdown([]*ceilingReport{c})
	for _, want := range []string{"Where the cores went", "| kafka | 1.50 [1.50, 1.50] |", "| 1.90 | 0.90 | 0.80 | 0.20 |"} {
		if !strings.Contains(md, want) {
			t.Errorf("cores table lacks %q:\n%s", want, md)
		}
	}
}

// The hold's scenario is a valid scenario with the knee search's twin
// settings: a climb to the rate, then the steady phase the hold is judged on.
func TestHoldScenarioTakesTheKneeSettings(t *testing.T) {
	knee, err := scenario.LoadShipped(shareKnee)
	if err != nil {
		t.Fatal(err)
	}
	s, err := scenario.Parse([]byte(holdScenario(1000, 20*time.Second, 7, knee)), "hold")
	if err != nil {
		t.Fatalf("the hold's scenario does not parse: %v", err)
	}
	if s.Timeout != knee.Timeout || s.MaxInFlight != knee.MaxInFlight || s.Cost != knee.Cost || s.Topology != knee.Topology {
		t.Errorf("hold settings timeout %v, in flight %d, cost %q, topology %q; want the knee's %v, %d, %q, %q",
			s.Timeout, s.MaxInFlight, s.Cost, s.Topology, knee.Timeout, knee.MaxInFlight, knee.Cost, knee.Topology)
	}
	if len(s.Stages) != 2 || s.Stages[1].Name != holdPhase || s.Stages[1].Duration != 20*time.Second || s.Stages[0].Duration != holdWarmup {
		t.Errorf("stages %+v; want a %v climb, then %q for 20s", s.Stages, holdWarmup, holdPhase)
	}
}
