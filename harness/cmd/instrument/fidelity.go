package main

import (
	"context"
	"fmt"
	"github.com/edabench/edabench/internal/twinkind"
	"strconv"
	"syscall"
	"time"

	"github.com/edabench/edabench/harness/peers"
)

type fidRow struct {
	Tool     string     `json:"tool"`
	Model    string     `json:"model"` // how the tool holds its rate
	Result   toolResult `json:"result"`
	Expected int64      `json:"expected_requests"` // rate x duration
	FrozeAt  float64    `json:"froze_at_s"`        // from the generator's start, as it happened
	Err      string     `json:"error,omitempty"`
}

type fidelityReport struct {
	Rate       float64  `json:"rate"`
	RunS       float64  `json:"run_s"`
	FreezeS    float64  `json:"freeze_s"`
	ServiceMs  float64  `json:"service_ms"`     // the unfrozen service time: edabench's uncorrected p50
	ImpliedP99 float64  `json:"implied_p99_ms"` // what the schedule implies
	Rows       []fidRow `json:"rows"`
}

// fidelity freezes the RR gateway for freezeFor at freezeAt into each
// tool's run and records what each reports.
func (s *session) fidelity(ctx context.Context) (*fidelityReport, error) {
	c := s.cfg
	tw, err := s.startTwin(ctx, twinkind.RR)
	if err != nil {
		return nil, err
	}
	defer tw.stop(ctx)
	rep := &fidelityReport{Rate: c.fidRate, RunS: c.fidDur.Seconds(), FreezeS: c.freezeFor.Seconds()}
	vus, rate := strconv.Itoa(c.fidVUs), fmt.Sprint(int(c.fidRate))
	k6env := func(executor string) []string {
		return append(tw.k6Env(), "EXECUTOR="+executor, "RATE="+rate, "VUS="+vus, "DURATION="+c.fidDur.String(),
			"MAX_VUS="+strconv.Itoa(c.fidMaxVUs))
	}
	ghz := func(extra ...string) []string {
		return append(append([]string{"-z", c.fidDur.String(), "-c", vus}, extra...), s.ghzArgs(tw.GatewayAddr())...)
	}
	runs := []struct {
		tool, model string
		run         func(name string, spec peers.Spec) (toolResult, error)
	}{
		{"edabench", "open: Poisson schedule, latency from the intended send time", func(name string, spec peers.Spec) (toolResult, error) {
			r, t, _, err := s.runEdabench(ctx, name, twinkind.RR, tw.edabenchArgs("smoke", c.fidRate, c.fidDur), spec)
			if t != nil {
				rep.ServiceMs = t.AckUncorrected.P50
			}
			return r, err
		}},
		{"ghz", fmt.Sprintf("closed: -c %s, no rate limit", vus), func(name string, spec peers.Spec) (toolResult, error) {
			r, _, err := s.runGhz(ctx, name, ghz(), spec)
			return r, err
		}},
		{"ghz", fmt.Sprintf("closed: -c %s -r %s", vus, rate), func(name string, spec peers.Spec) (toolResult, error) {
			r, _, err := s.runGhz(ctx, name, ghz("-r", rate), spec)
			return r, err
		}},
		{"k6", fmt.Sprintf("closed: constant-vus, %s VUs pacing themselves to %s/s", vus, rate), func(name string, spec peers.Spec) (toolResult, error) {
			r, _, err := s.runK6(ctx, name, "xk6-eda/examples/fidelity.js", k6env("constant-vus"), c.fidDur.Seconds(), true, spec)
			return r, err
		}},
		{"k6", fmt.Sprintf("arrival rate: constant-arrival-rate %s/s, maxVUs %d", rate, c.fidMaxVUs), func(name string, spec peers.Spec) (toolResult, error) {
			r, _, err := s.runK6(ctx, name, "xk6-eda/examples/fidelity.js", k6env("constant-arrival-rate"), c.fidDur.Seconds(), true, spec)
			return r, err
		}},
	}
	gw := tw.Process("gateway")
	for i, r := range runs {
		row := fidRow{Tool: r.tool, Model: r.model, Expected: int64(c.fidRate * c.fidDur.Seconds())}
		frozen := make(chan float64, 1)
		spec := peers.Spec{OnStart: func(int) {
			go freeze(ctx, gw.Signal, time.Now(), c.freezeAt, c.freezeFor, frozen)
		}}
		res, err := r.run(fmt.Sprintf("fidelity-%d-%s", i+1, r.tool), spec)
		row.FrozeAt = <-frozen
		row.Result = res
		if err != nil {
			row.Err = err.Error()
		}
		fmt.Printf("  %-8s %-62s p99 %8.1f ms over %6d samples (expected ~%d requests) %s\n",
			r.tool, r.model, res.P99Ms, res.Samples, row.Expected, row.Err)
		rep.Rows = append(rep.Rows, row)
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
	}
	rep.ImpliedP99 = ms(impliedQuantile(0.99, c.fidDur, c.freezeFor, time.Duration(rep.ServiceMs*float64(time.Millisecond))))
	return rep, nil
}

// freeze stops the gateway at start+at for d, and always continues it: a
// gateway left stopped would hang every later run. It reports when the
// freeze began, in seconds from start (0 if it never did).
func freeze(ctx context.Context, signal func(syscall.Signal) error, start time.Time, at, d time.Duration, began chan<- float64) {
	var when float64
	defer func() { began <- when }()
	select {
	case <-ctx.Done():
		return
	case <-time.After(time.Until(start.Add(at))):
	}
	if err := signal(syscall.SIGSTOP); err != nil {
		fmt.Printf("  freeze: SIGSTOP the gateway: %v\n", err)
		return
	}
	when = time.Since(start).Seconds()
	defer func() {
		if err := signal(syscall.SIGCONT); err != nil {
			fmt.Printf("  freeze: SIGCONT the gateway: %v\n", err)
		}
	}()
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
