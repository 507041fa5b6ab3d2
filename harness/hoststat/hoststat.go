// Package hoststat reads what the host takes from this machine: the CPU
// time the hypervisor stole (/proc/stat) and the time runnable tasks
// waited for a CPU (/proc/pressure/cpu, PSI). On a shared virtual machine
// either can stall a twin's run for reasons that have nothing to do with
// its architecture, so the runner records both per second beside the
// latencies. A figure this kernel does not provide is unknown (NaN), never
// zero: a missing PSI file says nothing about pressure.
package hoststat

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// SuspectStealPct is the steal share of all CPU time above which a second
// is suspect: the host took enough of the machine that the second's
// latencies may be the host's, not the twin's. docs/verdict.md says how it
// was chosen from this machine's measurements.
const SuspectStealPct = 10.0

// CPUTimes is /proc/stat's aggregate "cpu" line, in clock ticks (USER_HZ).
// Guest time is left out: the kernel already counts it in User and Nice.
type CPUTimes struct {
	User, Nice, System, Idle, IOWait, IRQ, SoftIRQ, Steal uint64
}

// Total is all the CPU time the line accounts for.
func (c CPUTimes) Total() uint64 {
	return c.User + c.Nice + c.System + c.Idle + c.IOWait + c.IRQ + c.SoftIRQ + c.Steal
}

// ParseStat reads the aggregate cpu line of a /proc/stat. Kernels before
// 2.6.11 have no steal field; the line is then an error rather than a
// steal of zero.
func ParseStat(r io.Reader) (CPUTimes, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024) // the intr line is long
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] != "cpu" {
			continue
		}
		if len(f) < 9 {
			return CPUTimes{}, fmt.Errorf("cpu line %q: %d fields, want 8 counters up to steal", sc.Text(), len(f)-1)
		}
		var v [8]uint64
		for i := range v {
			n, err := strconv.ParseUint(f[i+1], 10, 64)
			if err != nil {
				return CPUTimes{}, fmt.Errorf("cpu line field %d: %w", i+1, err)
			}
			v[i] = n
		}
		return CPUTimes{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]}, nil
	}
	if err := sc.Err(); err != nil {
		return CPUTimes{}, fmt.Errorf("reading /proc/stat: %w", err)
	}
	return CPUTimes{}, errors.New("no aggregate cpu line")
}

// StealPct is the share (percent) of all CPU time between two readings
// that was stolen. ok is false when no tick elapsed or a counter went
// backwards (a reading from another boot): the share is then unknown.
func StealPct(prev, cur CPUTimes) (pct float64, ok bool) {
	if cur.Total() <= prev.Total() || cur.Steal < prev.Steal {
		return 0, false
	}
	return 100 * float64(cur.Steal-prev.Steal) / float64(cur.Total()-prev.Total()), true
}

// Pressure is one line pair of /proc/pressure/cpu. Some is the share of
// time at least one runnable task waited for a CPU; Full (kernels ≥ 5.13
// print it for cpu, always zero at the system level) that all did.
type Pressure struct {
	SomeAvg10, FullAvg10     float64 // percent, the kernel's 10 s average
	SomeTotalUs, FullTotalUs uint64  // cumulative stall time, µs
	HasFull                  bool
}

// ParsePressure reads a /proc/pressure/cpu.
func ParsePressure(r io.Reader) (Pressure, error) {
	var p Pressure
	var hasSome bool
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		avg10, total, err := pressureLine(f[1:])
		if err != nil {
			return Pressure{}, fmt.Errorf("pressure line %q: %w", f[0], err)
		}
		switch f[0] {
		case "some":
			p.SomeAvg10, p.SomeTotalUs, hasSome = avg10, total, true
		case "full":
			p.FullAvg10, p.FullTotalUs, p.HasFull = avg10, total, true
		}
	}
	if err := sc.Err(); err != nil {
		return Pressure{}, fmt.Errorf("reading pressure: %w", err)
	}
	if !hasSome {
		return Pressure{}, errors.New("no \"some\" line")
	}
	return p, nil
}

// pressureLine takes avg10 and total from a line's key=value fields.
func pressureLine(kv []string) (avg10 float64, total uint64, err error) {
	var seen int
	for _, f := range kv {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return 0, 0, fmt.Errorf("field %q: want key=value", f)
		}
		switch k {
		case "avg10":
			if avg10, err = strconv.ParseFloat(v, 64); err != nil {
				return 0, 0, fmt.Errorf("avg10: %w", err)
			}
			seen++
		case "total":
			if total, err = strconv.ParseUint(v, 10, 64); err != nil {
				return 0, 0, fmt.Errorf("total: %w", err)
			}
			seen++
		}
	}
	if seen != 2 {
		return 0, 0, errors.New("want avg10 and total")
	}
	return avg10, total, nil
}

// StallPct is the share (percent) of elapsedUs that some task waited for a
// CPU, from the some total's growth: exact for the interval, unlike avg10,
// which smooths over ten seconds. Unknown when no time elapsed or the
// counter went backwards.
func StallPct(prev, cur Pressure, elapsedUs float64) (pct float64, ok bool) {
	if elapsedUs <= 0 || cur.SomeTotalUs < prev.SomeTotalUs {
		return 0, false
	}
	return 100 * float64(cur.SomeTotalUs-prev.SomeTotalUs) / elapsedUs, true
}
