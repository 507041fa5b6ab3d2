package main

import (
	"context"
	"fmt"
	"github.com/edabench/edabench/internal/twinkind"
	"math"
	"time"

	"github.com/edabench/edabench/harness/peers"
)

// genRow is one tool at one offered rate.
type genRow struct {
	Tool        string     `json:"tool"`
	OfferedRPS  float64    `json:"offered_rps"`
	AchievedRPS float64    `json:"achieved_rps"`
	CPUPer1k    float64    `json:"cpu_s_per_1k"` // whole process, from rusage
	PeakRSSMiB  float64    `json:"peak_rss_mib"`
	Result      toolResult `json:"result"`
	Process     peers.Result
	// OwnCPUPer1k is edabench's own figure (summary.json), counted over the
	// load only; the rusage one includes start-up and exit, as for ghz.
	OwnCPUPer1k float64 `json:"own_cpu_s_per_1k,omitempty"`
	Held        bool    `json:"held"` // achieved >= 95% of offered and errors <= 1%
	Err         string  `json:"error,omitempty"`
}

type generatorReport struct {
	Duration string   `json:"duration"`
	Rows     []genRow `json:"rows"`
	// Highest is each tool's highest rate that held in the search.
	Highest map[string]float64 `json:"highest_sustained_rps"`
	Search  []genRow           `json:"search"`
}

const (
	holdAchieved = 0.95
	holdErrors   = 0.01
)

func held(offered float64, r toolResult) bool {
	return r.AchievedRPS() >= holdAchieved*offered && r.ErrorRate() <= holdErrors
}

// generator drives one RR twin with ghz and edabench, alternately, at each
// rate, then searches each tool's highest sustainable rate.
func (s *session) generator(ctx context.Context) (*generatorReport, error) {
	tw, err := s.startTwin(ctx, twinkind.RR)
	if err != nil {
		return nil, err
	}
	defer tw.stop(ctx)
	rep := &generatorReport{Duration: s.cfg.genDur.String(), Highest: map[string]float64{}}
	for _, rate := range s.cfg.rates {
		for _, tool := range []string{"ghz", "edabench"} {
			row := s.genRun(ctx, tw, tool, rate, s.cfg.genDur, fmt.Sprintf("gen-%s-%g", tool, rate))
			fmt.Printf("  %-8s %6.0f/s: achieved %7.1f/s, %.3f CPU s/1k, peak RSS %.0f MiB, p50 %.2f ms, p99 %.2f ms %s\n",
				tool, rate, row.AchievedRPS, row.CPUPer1k, row.PeakRSSMiB, row.Result.P50Ms, row.Result.P99Ms, row.Err)
			rep.Rows = append(rep.Rows, row)
			if ctx.Err() != nil {
				return rep, ctx.Err()
			}
		}
	}
	for _, tool := range []string{"ghz", "edabench"} {
		rep.Highest[tool] = s.search(ctx, tw, tool, rep)
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
	}
	return rep, nil
}

// search raises the rate by half each step, from the highest fixed rate
// that held, until a step does not hold or the time budget is spent.
func (s *session) search(ctx context.Context, tw *twin, tool string, rep *generatorReport) float64 {
	best := 0.0
	for _, r := range rep.Rows {
		if r.Tool == tool && r.Held {
			best = max(best, r.OfferedRPS)
		}
	}
	rate := 1.5 * best
	if best == 0 {
		rate = s.cfg.rates[0] / 2
	}
	deadline := time.Now().Add(s.cfg.searchBudget)
	for time.Now().Add(s.cfg.searchDur).Before(deadline) && ctx.Err() == nil {
		rate = math.Round(rate/50) * 50
		row := s.genRun(ctx, tw, tool, rate, s.cfg.searchDur, fmt.Sprintf("search-%s-%g", tool, rate))
		rep.Search = append(rep.Search, row)
		fmt.Printf("  search %-8s %6.0f/s: achieved %7.1f/s, errors %.2f%% -> held %v\n", tool, rate, row.AchievedRPS, 100*row.Result.ErrorRate(), row.Held)
		if !row.Held {
			break
		}
		best, rate = rate, rate*1.5
	}
	return best
}

func (s *session) genRun(ctx context.Context, tw *twin, tool string, rate float64, d time.Duration, name string) genRow {
	row := genRow{Tool: tool, OfferedRPS: rate}
	var err error
	switch tool {
	case "ghz":
		// ghz's workers are closed loops fed by its pacer: give it enough of
		// them for 100 ms of latency at this rate, as edabench's in-flight cap
		// allows, so neither is held back by its own bound.
		c := max(50, int(rate/10))
		args := append([]string{"-r", fmt.Sprint(int(rate)), "-z", d.String(), "-c", fmt.Sprint(c)}, s.ghzArgs(tw.GatewayAddr())...)
		row.Result, row.Process, err = s.runGhz(ctx, name, args, peers.Spec{})
	default:
		var own float64
		r, t, pr, e := s.runEdabench(ctx, name, twinkind.RR, tw.edabenchArgs("smoke", rate, d), peers.Spec{})
		if t != nil {
			own = t.GeneratorCPUPer1k
		}
		row.Result, row.Process, row.OwnCPUPer1k, err = r, pr, own, e
	}
	if err != nil {
		row.Err = err.Error()
		return row
	}
	row.AchievedRPS = row.Result.AchievedRPS()
	if n := row.Result.Requests; n > 0 {
		row.CPUPer1k = 1000 * row.Process.CPUSeconds / float64(n)
	}
	row.PeakRSSMiB = float64(row.Process.PeakRSSBytes) / (1 << 20)
	row.Held = held(rate, row.Result)
	return row
}
