package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/edabench/edabench/harness/peers"
)

type soakRow struct {
	Tool       string         `json:"tool"`
	Growth     peers.Growth   `json:"growth"`
	Measured   bool           `json:"measured"` // enough samples after the warm-up
	PeakRSSMiB float64        `json:"peak_rss_mib"`
	Result     toolResult     `json:"result"`
	Samples    []peers.Sample `json:"-"` // in raw/soak-<tool>-rss.csv
	Err        string         `json:"error,omitempty"`
}

type soakReport struct {
	Twin     string    `json:"twin"`
	Rate     float64   `json:"rate"`
	Duration string    `json:"duration"`
	Warmup   string    `json:"warmup"`
	Rows     []soakRow `json:"rows"`
}

// soak runs edabench and bin/k6 with xk6-eda's soak.js (HDR on, k6's own
// trends as always) at the same time, each against a twin of its own at a
// steady rate, sampling each generator's RSS. At the same time because a
// soak is long and memory, not latency, is what it measures; a twin each so
// neither tool's completion tracking sees the other's orders.
func (s *session) soak(ctx context.Context) (*soakReport, error) {
	c := s.cfg
	rep := &soakReport{Twin: c.soakTwin, Rate: c.soakRate, Duration: c.soakDur.String(), Warmup: c.soakWarmup.String()}
	if c.soakTwin == "eda" {
		// Once, before the two goroutines that need it.
		if _, err := s.broker(ctx); err != nil {
			return nil, err
		}
	}
	tools := []string{"edabench", "k6"}
	rows := make([]soakRow, len(tools))
	var wg sync.WaitGroup
	for i, tool := range tools {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rows[i] = s.soakOne(ctx, tool)
		}()
	}
	wg.Wait()
	rep.Rows = rows
	return rep, ctx.Err()
}

func (s *session) soakOne(ctx context.Context, tool string) soakRow {
	c := s.cfg
	row := soakRow{Tool: tool}
	tw, err := s.startTwin(ctx, c.soakTwin)
	if err != nil {
		row.Err = err.Error()
		return row
	}
	defer tw.stop(ctx)
	spec := peers.Spec{SampleEvery: c.soakEvery}
	fmt.Printf("  %s soaks a %s twin of its own at %v/s for %v...\n", tool, c.soakTwin, c.soakRate, c.soakDur)
	var pr peers.Result
	if tool == "edabench" {
		row.Result, _, pr, err = s.runEdabench(ctx, "soak-edabench", c.soakTwin, tw.edabenchArgs("soak", c.soakRate, c.soakDur), spec)
	} else {
		hdr := filepath.Join(s.raw, "soak-k6-hdr")
		env := append(tw.k6Env(), "RATE="+strconv.FormatFloat(c.soakRate, 'f', -1, 64), "DURATION="+c.soakDur.String(), "HDR="+hdr)
		row.Result, pr, err = s.runK6(ctx, "soak-k6", "xk6-eda/examples/soak.js", env, c.soakDur.Seconds(), false, spec)
	}
	if err != nil {
		row.Err = err.Error()
	}
	row.Samples, row.PeakRSSMiB = pr.Samples, float64(pr.PeakRSSBytes)/(1<<20)
	row.Growth, row.Measured = peers.GrowthAfter(pr.Samples, c.soakWarmup)
	if werr := writeSamples(filepath.Join(s.raw, "soak-"+tool+"-rss.csv"), pr.Samples); werr != nil && row.Err == "" {
		row.Err = werr.Error()
	}
	fmt.Printf("  %-8s %d RSS samples, growth after %v: %+.1f MiB (max %+.1f MiB), peak %.0f MiB %s\n", tool, len(pr.Samples),
		c.soakWarmup, mib(row.Growth.Bytes), mib(row.Growth.MaxGrowth), row.PeakRSSMiB, row.Err)
	return row
}

func writeSamples(path string, samples []peers.Sample) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("RSS samples: %w", err)
	}
	defer f.Close()
	w := csv.NewWriter(f)
	_ = w.Write([]string{"seconds", "rss_bytes"})
	for _, s := range samples {
		_ = w.Write([]string{strconv.FormatFloat(s.At.Seconds(), 'f', 1, 64), strconv.FormatInt(s.RSSBytes, 10)})
	}
	w.Flush()
	return w.Error()
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

type suiteReport struct {
	Seconds  float64 `json:"seconds"`
	ExitCode int     `json:"exit_code"`
	Out      string  `json:"out"`
}

// suite times `make bench` end to end, its runs under raw/suite.
func (s *session) suite(ctx context.Context) (*suiteReport, error) {
	out := filepath.Join(s.raw, "suite")
	log, err := s.logFile("suite")
	if err != nil {
		return nil, err
	}
	defer log.Close()
	fmt.Printf("  make bench (about 15 minutes; its output: %s)...\n", log.Name())
	cmd := exec.CommandContext(ctx, "make", "-C", s.cfg.root, "bench", "BENCH_OUT="+out)
	cmd.Stdout, cmd.Stderr = log, log
	start := time.Now()
	runErr := cmd.Run()
	rep := &suiteReport{Seconds: time.Since(start).Seconds(), Out: out}
	if cmd.ProcessState != nil {
		rep.ExitCode = cmd.ProcessState.ExitCode()
	}
	fmt.Printf("  make bench: %.0f s, exit %d\n", rep.Seconds, rep.ExitCode)
	if runErr != nil {
		return rep, fmt.Errorf("make bench: %w (its output: %s)", runErr, log.Name())
	}
	return rep, nil
}
