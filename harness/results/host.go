package results

import "math"

// HostStats is summary.json's host object for one twin: what the host
// took from the machine during the twin's load (harness/hoststat). A
// figure no second measured is absent (null), never zero: a kernel
// without PSI has no pressure, and a summary from before these fields has
// no host object at all.
type HostStats struct {
	// Seconds is how many seconds of the load had a known steal.
	Seconds int `json:"seconds"`
	// Steal is the share of all CPU time the hypervisor stole, percent.
	StealMeanPct *float64 `json:"steal_mean_pct,omitempty"`
	StealMaxPct  *float64 `json:"steal_max_pct,omitempty"`
	// Pressure is the share of each second some task waited for a CPU
	// (PSI cpu some, from its total counter), percent.
	PressureMeanPct *float64 `json:"cpu_pressure_mean_pct,omitempty"`
	PressureMaxPct  *float64 `json:"cpu_pressure_max_pct,omitempty"`
	// SuspectBoundPct is the steal share above which a second is suspect
	// (hoststat.SuspectStealPct when the run was made).
	SuspectBoundPct float64 `json:"suspect_bound_pct"`
	// Suspect lists the load's seconds whose steal exceeded the bound.
	Suspect []SuspectSecond `json:"suspect_seconds"`
}

// SuspectSecond is one second whose steal exceeded the bound.
type SuspectSecond struct {
	T        int     `json:"t_s"` // as in timeseries.csv
	StealPct float64 `json:"steal_pct"`
}

// SummarizeHost makes a twin's host object from its load's seconds t and
// their steal and pressure shares (NaN: unknown). It is nil when no
// second knew either figure.
func SummarizeHost(t []int, steal, pressure []float64, bound float64) *HostStats {
	h := &HostStats{SuspectBoundPct: bound, Suspect: []SuspectSecond{}}
	var sMean, pMean meanMax
	for i := range t {
		if s := steal[i]; !math.IsNaN(s) {
			sMean.add(s)
			if s > bound {
				h.Suspect = append(h.Suspect, SuspectSecond{T: t[i], StealPct: s})
			}
		}
		if p := pressure[i]; !math.IsNaN(p) {
			pMean.add(p)
		}
	}
	if sMean.n == 0 && pMean.n == 0 {
		return nil
	}
	h.Seconds = sMean.n
	h.StealMeanPct, h.StealMaxPct = sMean.results()
	h.PressureMeanPct, h.PressureMaxPct = pMean.results()
	return h
}

// meanMax accumulates known values.
type meanMax struct {
	n        int
	sum, max float64
}

func (m *meanMax) add(v float64) {
	if m.n == 0 || v > m.max {
		m.max = v
	}
	m.n++
	m.sum += v
}

// results is the mean and the max, both nil when nothing was added.
func (m *meanMax) results() (mean, max *float64) {
	if m.n == 0 {
		return nil, nil
	}
	a, b := m.sum/float64(m.n), m.max
	return &a, &b
}
