package hoststat

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"
)

// Sample is one interval's host interference; a NaN field is unknown.
type Sample struct {
	StealPct    float64 // share of all CPU time stolen by the host
	PressurePct float64 // share of the interval some task waited for a CPU
	PressureAvg float64 // the kernel's some avg10 at the interval's end
}

// Unknown is a Sample with nothing known.
func Unknown() Sample { return Sample{math.NaN(), math.NaN(), math.NaN()} }

// Suspect says whether the host stole more than SuspectStealPct; an
// unknown steal is not suspect.
func (s Sample) Suspect() bool { return s.StealPct > SuspectStealPct }

// reading is one look at both files; a failed read leaves its ok false.
type reading struct {
	at     time.Time
	cpu    CPUTimes
	cpuOK  bool
	psi    Pressure
	psiOK  bool
	cpuErr error
	psiErr error
}

// Sampler turns successive readings of a proc root into per-interval
// samples. It is not safe for concurrent use: its owner (the runner's
// ticker) calls it under its own lock.
type Sampler struct {
	root string
	prev reading
}

// NewSampler takes its first reading of root ("/proc", or a fixture
// folder in tests) at now, so the first Next covers the time since.
func NewSampler(root string, now time.Time) *Sampler {
	s := &Sampler{root: root}
	s.prev = s.read(now)
	return s
}

// Errs says why the figures are unknown, for a log line once per run.
func (s *Sampler) Errs() (cpu, psi error) { return s.prev.cpuErr, s.prev.psiErr }

// Next reads both files at now and returns the interval since the last
// reading.
func (s *Sampler) Next(now time.Time) Sample {
	cur := s.read(now)
	out := Unknown()
	if s.prev.cpuOK && cur.cpuOK {
		if v, ok := StealPct(s.prev.cpu, cur.cpu); ok {
			out.StealPct = v
		}
	}
	if s.prev.psiOK && cur.psiOK {
		if v, ok := StallPct(s.prev.psi, cur.psi, float64(now.Sub(s.prev.at).Microseconds())); ok {
			out.PressurePct = v
		}
	}
	if cur.psiOK {
		out.PressureAvg = cur.psi.SomeAvg10
	}
	s.prev = cur
	return out
}

func (s *Sampler) read(now time.Time) reading {
	r := reading{at: now}
	if f, err := os.Open(filepath.Join(s.root, "stat")); err != nil {
		r.cpuErr = err
	} else {
		r.cpu, r.cpuErr = ParseStat(f)
		r.cpuOK = r.cpuErr == nil
		f.Close()
	}
	if f, err := os.Open(filepath.Join(s.root, "pressure", "cpu")); err != nil {
		// No PSI: a kernel without CONFIG_PSI, or booted with psi=0.
		r.psiErr = fmt.Errorf("cpu pressure: %w", err)
	} else {
		r.psi, r.psiErr = ParsePressure(f)
		r.psiOK = r.psiErr == nil
		f.Close()
	}
	return r
}
