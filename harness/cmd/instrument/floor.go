package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/edabench/edabench/harness/cpubill"
	"github.com/edabench/edabench/harness/peers"
	"github.com/edabench/edabench/internal/twinkind"
)

// goalFloorRatio is issue 21's bound: edabench's CPU per request at most
// twice a bare open-loop grpc-go client's, with every observer on.
const goalFloorRatio = 2.0

// floorRow is one generator at one rate of part 6.
type floorRow struct {
	Tool        string       `json:"tool"`
	OfferedRPS  float64      `json:"offered_rps"`
	Result      toolResult   `json:"result"`
	Process     peers.Result `json:"process"`
	CPUPer1k    float64      `json:"cpu_s_per_1k"` // whole process, from rusage
	OwnCPUPer1k float64      `json:"own_cpu_s_per_1k,omitempty"`
	// Bill is edabench's own split of its CPU (summary.json harness_cpu).
	Bill *cpubill.Split `json:"harness_cpu,omitempty"`
	Err  string         `json:"error,omitempty"`
}

// floorRatio is edabench's CPU per request over the bare client's at one
// rate; 0 when either row failed.
type floorRatio struct {
	Rate  float64 `json:"rate"`
	Ratio float64 `json:"ratio"`
}

type floorReport struct {
	Duration string       `json:"duration"`
	Rows     []floorRow   `json:"rows"`
	Ratios   []floorRatio `json:"ratios"`
	// LoadBefore and LoadAfter are the machine's load average around the
	// runs: CPU per request is read on a shared machine too.
	LoadBefore string `json:"load_avg_before"`
	LoadAfter  string `json:"load_avg_after"`
}

// floor drives one RR twin with the bare client and edabench, in turn, at
// each rate: the generator's cost against the least a grpc-go client
// needs to keep the same schedule.
func (s *session) floor(ctx context.Context) (*floorReport, error) {
	bare, err := s.buildBare(ctx)
	if err != nil {
		return nil, err
	}
	tw, err := s.startTwin(ctx, twinkind.RR)
	if err != nil {
		return nil, err
	}
	defer tw.stop(ctx)
	rep := &floorReport{Duration: s.cfg.floorDur.String(), LoadBefore: loadAverage()}
	defer func() { rep.LoadAfter = loadAverage() }()
	for _, rate := range s.cfg.floorRates {
		for _, tool := range []string{"bare", "edabench"} {
			row := s.floorRun(ctx, tw, bare, tool, rate)
			fmt.Printf("  %-8s %6.0f/s: achieved %7.1f/s, %.3f CPU s/1k, p50 %.2f ms, p99 %.2f ms %s\n",
				tool, rate, row.Result.AchievedRPS(), row.CPUPer1k, row.Result.P50Ms, row.Result.P99Ms, row.Err)
			rep.Rows = append(rep.Rows, row)
			if ctx.Err() != nil {
				return rep, ctx.Err()
			}
		}
	}
	rep.Ratios = ratios(rep.Rows)
	return rep, nil
}

// buildBare builds harness/cmd/instrument/bareclient into raw/: its CPU is
// measured from its own process, like every tool's.
func (s *session) buildBare(ctx context.Context) (string, error) {
	out := filepath.Join(s.raw, "bareclient")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./harness/cmd/instrument/bareclient")
	cmd.Dir = s.cfg.root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./harness/cmd/instrument/bareclient: %w: %s (is the go command on PATH?)", err, b)
	}
	return out, nil
}

func (s *session) floorRun(ctx context.Context, tw *twin, bare, tool string, rate float64) floorRow {
	row := floorRow{Tool: tool, OfferedRPS: rate}
	name := fmt.Sprintf("floor-%s-%g", tool, rate)
	var err error
	switch tool {
	case "bare":
		row.Result, row.Process, err = s.runBare(ctx, bare, name, tw.GatewayAddr(), rate)
	default:
		// Every observer the RR twin has on: the live metrics too (the
		// other parts turn them off), the staleness probe and the interval
		// logs as always.
		args := tw.edabenchArgs("smoke", rate, s.cfg.floorDur)
		args[slices.Index(args, "--metrics-addr")+1] = "127.0.0.1:0"
		r, t, pr, e := s.runEdabench(ctx, name, twinkind.RR, args, peers.Spec{})
		row.Result, row.Process, err = r, pr, e
		if t != nil {
			row.OwnCPUPer1k, row.Bill = t.GeneratorCPUPer1k, t.HarnessCPU
		}
	}
	if err != nil {
		row.Err = err.Error()
		return row
	}
	if n := row.Result.Requests; n > 0 {
		row.CPUPer1k = 1000 * row.Process.CPUSeconds / float64(n)
	}
	return row
}

// runBare runs the bare client, its result into raw/<name>.json.
func (s *session) runBare(ctx context.Context, bin, name, addr string, rate float64) (toolResult, peers.Result, error) {
	out := filepath.Join(s.raw, name+".json")
	log, err := s.logFile(name)
	if err != nil {
		return toolResult{}, peers.Result{}, err
	}
	defer log.Close()
	spec := peers.Spec{Path: bin, Dir: s.cfg.root, Stdout: log, Stderr: log,
		Args: []string{"--target", addr, "--rate", fmt.Sprint(rate), "--duration", s.cfg.floorDur.String(), "--out", out}}
	pr, runErr := peers.Run(ctx, spec)
	if runErr != nil {
		return toolResult{}, pr, fmt.Errorf("bareclient: %w (its output: %s)", runErr, log.Name())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return toolResult{}, pr, fmt.Errorf("bareclient wrote no result (its output: %s): %w", log.Name(), err)
	}
	var tr toolResult
	if err := json.Unmarshal(b, &tr); err != nil {
		return toolResult{}, pr, fmt.Errorf("bareclient result %s: %w", out, err)
	}
	return tr, pr, nil
}

// ratios pairs each rate's edabench row with its bare row.
func ratios(rows []floorRow) []floorRatio {
	var out []floorRatio
	for _, r := range rows {
		if r.Tool != "bare" || slices.ContainsFunc(out, func(f floorRatio) bool { return f.Rate == r.OfferedRPS }) {
			continue
		}
		fr := floorRatio{Rate: r.OfferedRPS}
		i := slices.IndexFunc(rows, func(e floorRow) bool { return e.Tool == "edabench" && e.OfferedRPS == r.OfferedRPS })
		if i >= 0 && r.Err == "" && rows[i].Err == "" && r.CPUPer1k > 0 {
			fr.Ratio = rows[i].CPUPer1k / r.CPUPer1k
		}
		out = append(out, fr)
	}
	return out
}

// floorMarkdown is part 6's table, edabench's own split under it.
func floorMarkdown(f *floorReport) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("### 6. The floor: a bare open-loop grpc-go client against edabench (RR twin, %s per rate)\n\n", f.Duration)
	p("| tool | offered/s | achieved/s | CPU s / 1k req | of which observers | p50 ms | p99 ms | errors |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range f.Rows {
		if r.Err != "" {
			p("| %s | %.0f | error: %s ||||||\n", r.Tool, r.OfferedRPS, oneLine(r.Err))
			continue
		}
		obs := "-"
		if r.Bill != nil {
			obs = fmt.Sprintf("%.4f", r.Bill.ObserversPer1kS)
		}
		p("| %s | %.0f | %.1f | %.3f | %s | %.2f | %.2f | %.2f%% |\n", r.Tool, r.OfferedRPS, r.Result.AchievedRPS(), r.CPUPer1k, obs,
			r.Result.P50Ms, r.Result.P99Ms, 100*r.Result.ErrorRate())
	}
	p("\nLoad average before / after: %s / %s. CPU is each process's own (rusage at exit), start-up and exit included, over the requests it sent. The bare client keeps only a latency slice; edabench runs with its live metrics on, the staleness probe and the interval logs (the RR twin has no completion consumer, backlog sampler or scrapes).\n\n", f.LoadBefore, f.LoadAfter)
	for _, r := range f.Rows {
		if r.Bill != nil && r.Err == "" {
			p("- edabench at %.0f/s, its own split per 1k requests: %s.\n", r.OfferedRPS, billLine(r.Bill))
		}
	}
	all := len(f.Ratios) > 0
	for _, fr := range f.Ratios {
		if fr.Ratio == 0 {
			all = false
			p("- At %.0f/s: no ratio (a run failed).\n", fr.Rate)
			continue
		}
		all = all && fr.Ratio <= goalFloorRatio
		p("- At %.0f/s: edabench spends **%.2fx** the bare client's CPU per request.\n", fr.Rate, fr.Ratio)
	}
	p("\nGoal, edabench within %.0fx of the bare client at every rate: %s.\n\n", goalFloorRatio, verdict(all))
	return b.String()
}

// billLine lists the split: process, load and runtime, each observer that ran.
func billLine(s *cpubill.Split) string {
	parts := []string{fmt.Sprintf("process %.3f s, load and runtime %.3f (GC about %.3f)", s.ProcessPer1kS, s.LoadAndRuntimePer1kS,
		perK(s.GCEstimateS, s.Requests))}
	for _, n := range s.Names() {
		if o := s.Observers[n]; o.Spans > 0 {
			parts = append(parts, fmt.Sprintf("%s %.4f", strings.ReplaceAll(n, "_", " "), o.Per1kS))
		}
	}
	return strings.Join(parts, ", ")
}

func perK(s float64, n int64) float64 {
	if n <= 0 {
		return 0
	}
	return 1000 * s / float64(n)
}

// floorDefault is each run's default length before --scale.
const floorDefault = 30 * time.Second
