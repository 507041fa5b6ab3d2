// Package peers runs a load generator (ghz, k6, edabench itself) as a child
// process and measures what it cost: CPU time and peak RSS from the kernel's
// own accounting of the child (wait4's rusage, exact and free), and, when
// asked, its RSS over time from /proc (harness/procstat), for soak tests.
package peers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/edabench/edabench/harness/procstat"
)

// Spec is one generator run.
type Spec struct {
	Path   string
	Args   []string
	Env    []string // added to the current environment
	Dir    string
	Stdout io.Writer // default: discarded
	Stderr io.Writer // default: discarded
	// SampleEvery, if positive, reads the process's RSS this often (and once
	// at the start and the end).
	SampleEvery time.Duration
	// OnStart, if set, is called with the child's PID once it runs, so a
	// caller can act at a known offset from the generator's start (freeze
	// the target at t=4 s).
	OnStart func(pid int)
}

// Sample is the child's resident set at one moment.
type Sample struct {
	At       time.Duration `json:"at_ns"` // since the child started
	RSSBytes int64         `json:"rss_bytes"`
}

// Result is what the child cost.
type Result struct {
	Wall       time.Duration `json:"wall_ns"`
	UserCPU    float64       `json:"user_cpu_s"`
	SysCPU     float64       `json:"sys_cpu_s"`
	CPUSeconds float64       `json:"cpu_seconds"` // user + system
	// PeakRSSBytes is ru_maxrss: the largest resident set the child
	// reached, as the kernel tracked it, not as a sampler happened to see.
	PeakRSSBytes int64    `json:"peak_rss_bytes"`
	ExitCode     int      `json:"exit_code"`
	Samples      []Sample `json:"rss_samples,omitempty"`
}

// Run starts the child, waits for it and reports its cost. A non-zero exit
// is returned as an error wrapping *exec.ExitError, with the Result still
// filled in: a generator that reports failed thresholds (k6 exits 99) has
// measured all the same. Cancelling ctx kills the child.
func Run(ctx context.Context, s Spec) (Result, error) {
	cmd := exec.CommandContext(ctx, s.Path, s.Args...)
	cmd.Env = append(cmd.Environ(), s.Env...)
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = s.Stdout, s.Stderr
	// A killed generator must not leave a child of its own behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Result{}, fmt.Errorf("start %s: %w", s.Path, err)
	}
	pid := cmd.Process.Pid
	if s.OnStart != nil {
		s.OnStart(pid)
	}
	var (
		wg      sync.WaitGroup
		samples []Sample
	)
	stop := make(chan struct{})
	if s.SampleEvery > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			samples = sample(pid, start, s.SampleEvery, stop)
		}()
	}
	err := cmd.Wait()
	close(stop)
	wg.Wait()

	res := Result{Wall: time.Since(start), Samples: samples, ExitCode: -1}
	if st := cmd.ProcessState; st != nil {
		res.ExitCode = st.ExitCode()
		if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
			res.UserCPU = tvSeconds(ru.Utime)
			res.SysCPU = tvSeconds(ru.Stime)
			res.CPUSeconds = res.UserCPU + res.SysCPU
			res.PeakRSSBytes = ru.Maxrss * 1024 // Linux reports KiB
		}
	}
	if err != nil {
		return res, fmt.Errorf("%s: %w", s.Path, err)
	}
	return res, nil
}

// sample reads the child's RSS until stop closes. Readings that fail (the
// child just exited) are skipped: the final peak comes from rusage anyway.
func sample(pid int, start time.Time, every time.Duration, stop <-chan struct{}) []Sample {
	var out []Sample
	read := func() {
		if u, err := procstat.Read(pid); err == nil {
			out = append(out, Sample{At: time.Since(start), RSSBytes: u.RSSBytes})
		}
	}
	t := time.NewTicker(every)
	defer t.Stop()
	read()
	for {
		select {
		case <-stop:
			return out
		case <-t.C:
			read()
		}
	}
}

func tvSeconds(tv syscall.Timeval) float64 {
	return float64(tv.Sec) + float64(tv.Usec)/1e6
}

// ExitCode is the exit status inside err, or -1 if err is not an exit.
func ExitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}
