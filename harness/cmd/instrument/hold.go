package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/edabench/edabench/harness/brokerprobe"
	"github.com/edabench/edabench/harness/peers"
	"github.com/edabench/edabench/harness/results"
	"github.com/edabench/edabench/harness/scenario"
	"github.com/edabench/edabench/internal/twinkind"
)

// holdResult is the EDA twin held at its knee for --hold, with every
// process metered: where the machine's cores went at the rate the share
// counts. The knee search's steps are seconds long and share their
// process with the search's other steps; a run at one rate is what a
// per-process CPU split can be read from.
type holdResult struct {
	RPS       float64 `json:"rps"`
	Seconds   float64 `json:"load_seconds"`
	Accepted  int64   `json:"accepted"`
	Completed int64   `json:"completed"`
	Lost      int64   `json:"lost"`
	E2EP99Ms  float64 `json:"e2e_p99_ms"`
	// Held says the twin sustained the knee for the whole hold: every
	// order accepted completed, none lost, e2e p99 within SLOMs. The
	// knee search judges steps of 2 to 4 s; a backlog that grows slowly
	// shows only over a longer run.
	Held bool `json:"held"`
	// SLOMs is the knee search's completion SLO (scenarios/knee.yaml's
	// e2e_p99), which the hold is judged by.
	SLOMs float64 `json:"slo_ms"`
	// Cores are CPU seconds per second of the metered window (from the
	// observers' start to the end of the drain): the broker's node, the
	// twin's services together, and the harness.
	WindowSeconds float64 `json:"window_seconds"`
	BrokerCores   float64 `json:"broker_cores"`
	ServicesCores float64 `json:"services_cores"`
	HarnessCores  float64 `json:"harness_cores"`
	// BrokerCPUPerMsgUs is the broker's CPU per message it delivered (a
	// completed order's deliveries), in microseconds.
	BrokerCPUPerMsgUs float64 `json:"broker_cpu_per_msg_us"`
}

// MachineCores is the three together: how much of the machine the run
// had.
func (h *holdResult) MachineCores() float64 { return h.BrokerCores + h.ServicesCores + h.HarnessCores }

// coreShare is the twin's deliveries per broker CPU second over the
// probe's messages per broker CPU second: the share of the ceiling the
// broker would carry for the twin were it given the cores it had under
// the probe. 0 when either side has no CPU reading.
func (h *holdResult) coreShare(p brokerprobe.Result) float64 {
	twin, probe := h.BrokerCPUPerMsgUs, p.BrokerCPUPerMsgUs()
	if twin <= 0 || probe <= 0 {
		return 0
	}
	return probe / twin
}

// holdScenario is a steady run at rate with the knee search's twin
// settings (chain, its step cost, deadline and in-flight bound), so the
// hold meters the twin the knee was found on. A fresh twin is cold (its
// connections, a JVM broker's compiled code, a consumer group's first
// fetch) where the search reached its knee through lower steps: the hold
// climbs to the rate over holdWarmup first, and only its steady phase
// is judged.
func holdScenario(rate float64, d time.Duration, seed int, knee *scenario.Scenario) string {
	return fmt.Sprintf(`name: share-hold
description: The EDA twin held at its completion knee, metered (make bench-instrument part 3).
arrival: poisson
stages:
  - name: warmup
    duration: %s
    rate: %g
    to: %g
  - name: %s
    duration: %s
    rate: %g
timeout: %s
max_in_flight: %d
drain: 15s
topology: %s
cost: %s
seed: %d
`, holdWarmup, rate/4, rate, holdPhase, d, rate, knee.Timeout, knee.MaxInFlight, knee.Topology, knee.Cost, seed)
}

// holdWarmup is the climb before a hold; holdPhase names its steady
// phase in the summary.
const (
	holdWarmup = 6 * time.Second
	holdPhase  = "hold"
)

// hold runs the EDA twin over broker at rate for --hold and reads the
// CPU split from its summary.
func (s *session) hold(ctx context.Context, broker string, rate float64, deliveries, n int) (*holdResult, error) {
	name := fmt.Sprintf("hold-eda-%s-%d", broker, n)
	knee, err := scenario.LoadShipped(shareKnee)
	if err != nil || knee.Search == nil {
		return nil, fmt.Errorf("the knee scenario, whose twin settings and SLO the hold takes: %w", err)
	}
	scen := filepath.Join(s.raw, name+".yaml")
	if err := os.WriteFile(scen, []byte(holdScenario(rate, s.cfg.holdDur, 100+n, knee)), 0o644); err != nil {
		return nil, fmt.Errorf("write the hold's scenario: %w", err)
	}
	fmt.Printf("  EDA twin over %s held at %.0f orders/s for %v, metered...\n", broker, rate, s.cfg.holdDur)
	args := []string{"run", "--twin", twinkind.EDA, "--broker", broker, "--scenario", scen,
		"--metrics-addr", "off", "--binary", s.cfg.target}
	_, t, _, err := s.runEdabench(ctx, name, twinkind.EDA, args, peers.Spec{})
	if err != nil {
		return nil, err
	}
	h, err := holdFrom(t, rate, deliveries, knee.Search.E2EP99)
	if err == nil {
		fmt.Printf("  held %v: %d of %d completed, e2e p99 %.0f ms; cores: broker %.2f, services %.2f, harness %.2f; broker %.1f µs/msg\n",
			h.Held, h.Completed, h.Accepted, h.E2EP99Ms, h.BrokerCores, h.ServicesCores, h.HarnessCores, h.BrokerCPUPerMsgUs)
	}
	return h, err
}

// holdFrom reads a hold run's figures from its twin's summary.
func holdFrom(t *results.TwinResult, rate float64, deliveries int, slo time.Duration) (*holdResult, error) {
	if t.LoadSeconds <= 0 {
		return nil, fmt.Errorf("the hold's summary has no load seconds")
	}
	broker, ok := t.Usage[results.UsageBroker]
	if !ok {
		return nil, fmt.Errorf("the hold's summary has no broker usage: was the node's process found?")
	}
	h := &holdResult{RPS: rate, Seconds: t.LoadSeconds, Accepted: t.Orders.Accepted, Completed: t.Orders.Completed,
		Lost: t.Orders.Lost, E2EP99Ms: t.E2E.P99}
	if ph := t.Phases[holdPhase]; ph != nil {
		h.E2EP99Ms = ph.E2E.P99
	}
	h.SLOMs = float64(slo.Milliseconds())
	h.Held = h.Accepted > 0 && h.Completed == h.Accepted && h.Lost == 0 && h.E2EP99Ms <= h.SLOMs
	h.WindowSeconds = meteredSeconds(t)
	h.BrokerCores = broker.CPUSeconds / h.WindowSeconds
	h.ServicesCores = (results.TwinCPUSeconds(t.Usage) - broker.CPUSeconds) / h.WindowSeconds
	h.HarnessCores = t.Usage[results.UsageHarness].CPUSeconds / h.WindowSeconds
	if t.Orders.Completed > 0 {
		h.BrokerCPUPerMsgUs = 1e6 * broker.CPUSeconds / float64(t.Orders.Completed*int64(deliveries))
	}
	return h, nil
}

// meteredSeconds is the window the run's usage covers: the harness's
// CPU bill's, which the processes' meter shares; in a summary without
// one, the load and the drain, which a twin that fell behind stretches.
func meteredSeconds(t *results.TwinResult) float64 {
	if t.HarnessCPU != nil && t.HarnessCPU.Seconds > 0 {
		return t.HarnessCPU.Seconds
	}
	return t.LoadSeconds + t.Orders.DrainMs/1000
}
