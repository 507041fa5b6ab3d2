package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"github.com/edabench/edabench/internal/twinkind"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/edabench/edabench/harness/launch"
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
	if c.soakTwin == twinkind.EDA {
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
	// Each tool serves Go's heap profile on a loopback port of its own, read
	// at the end of the warm-up and shortly before the end: what grew
	// between them is `go tool pprof -base` of the two.
	pprofAddr, err := launch.FreeAddr()
	if err != nil {
		row.Err = err.Error()
		return row
	}
	hctx, stopHeaps := context.WithCancel(ctx)
	var heaps sync.WaitGroup
	spec := peers.Spec{SampleEvery: c.soakEvery, OnStart: func(int) {
		heaps.Go(func() {
			s.captureHeaps(hctx, tool, "http://"+pprofAddr+"/debug/pprof/heap", c.soakWarmup, c.soakDur-15*time.Second)
		})
	}}
	fmt.Printf("  %s soaks a %s twin of its own at %v/s for %v...\n", tool, c.soakTwin, c.soakRate, c.soakDur)
	var pr peers.Result
	if tool == "edabench" {
		// The later --metrics-addr overrides edabenchArgs' "off".
		args := append(tw.edabenchArgs("soak", c.soakRate, c.soakDur), "--metrics-addr", pprofAddr)
		row.Result, _, pr, err = s.runEdabench(ctx, "soak-edabench", c.soakTwin, args, spec)
	} else {
		hdr := filepath.Join(s.raw, "soak-k6-hdr")
		env := append(tw.k6Env(), "RATE="+strconv.FormatFloat(c.soakRate, 'f', -1, 64), "DURATION="+c.soakDur.String(), "HDR="+hdr)
		spec.Args = []string{"--profiling-enabled", "--address", pprofAddr}
		row.Result, pr, err = s.runK6(ctx, "soak-k6", "xk6-eda/examples/soak.js", env, c.soakDur.Seconds(), false, spec)
	}
	stopHeaps()
	heaps.Wait()
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

// captureHeaps saves the heap profile at url as raw/soak-<tool>-heap-warmup.pb.gz
// at warmup after the start and raw/soak-<tool>-heap-end.pb.gz at end. A
// failed read is logged, not fatal: the RSS samples are the measurement.
func (s *session) captureHeaps(ctx context.Context, tool, url string, warmup, end time.Duration) {
	start := time.Now()
	for _, at := range []struct {
		name  string
		after time.Duration
	}{{"warmup", warmup}, {"end", max(end, warmup)}} {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(start.Add(at.after))):
		}
		path := filepath.Join(s.raw, fmt.Sprintf("soak-%s-heap-%s.pb.gz", tool, at.name))
		if err := fetch(ctx, url, path); err != nil {
			fmt.Printf("  %s: heap profile at %v: %v\n", tool, at.after, err)
		}
	}
}

// fetch saves url's body at path.
func fetch(ctx context.Context, url, path string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
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
