package cpubill

import "slices"

// Split is summary.json's harness_cpu: the harness's CPU over one twin's
// window, split into its observers and the rest (see the package comment
// for what each figure covers).
type Split struct {
	Seconds float64 `json:"seconds"` // the window's wall time
	// ProcessS is the whole harness process's user + system CPU.
	ProcessS float64 `json:"process_s"`
	// LoadAndRuntimeS is ProcessS less every observer: dispatch, calls,
	// recording, the transports' goroutines and the runtime (GC).
	LoadAndRuntimeS float64 `json:"load_and_runtime_s"`
	// GCEstimateS is the part of it the Go runtime estimates its garbage
	// collector took (not kernel-measured; see Reading.GC).
	GCEstimateS float64 `json:"gc_estimate_s"`
	// ObserversS is every observer's CPU together.
	ObserversS float64                `json:"observers_s"`
	Observers  map[string]ObserverCPU `json:"observers"`
	// Requests is the twin's requests sent, the per-1k figures' base.
	Requests                int64   `json:"requests"`
	ProcessPer1kS           float64 `json:"process_per_1k_requests_s"`
	LoadAndRuntimePer1kS    float64 `json:"load_and_runtime_per_1k_requests_s"`
	ObserversPer1kS         float64 `json:"observers_per_1k_requests_s"`
	ObserversShareOfProcess float64 `json:"observers_share"` // 0..1
}

// ObserverCPU is one observer's part.
type ObserverCPU struct {
	S      float64 `json:"s"`
	Per1kS float64 `json:"per_1k_requests_s"`
	Spans  int64   `json:"spans"` // ticks, messages or reads timed
}

// SplitOf is the window from..to, per 1,000 of requests.
func SplitOf(from, to Reading, requests int64) Split {
	per1k := func(s float64) float64 {
		if requests <= 0 {
			return 0
		}
		return 1000 * s / float64(requests)
	}
	sp := Split{Seconds: to.At.Sub(from.At).Seconds(), ProcessS: (to.Process - from.Process).Seconds(),
		GCEstimateS: max((to.GC - from.GC).Seconds(), 0), Observers: map[string]ObserverCPU{}, Requests: requests}
	for n, u := range to.Observers {
		s := (u.CPU - from.Observers[n].CPU).Seconds()
		sp.Observers[n] = ObserverCPU{S: s, Per1kS: per1k(s), Spans: u.Spans - from.Observers[n].Spans}
		sp.ObserversS += s
	}
	// Clamped: thread clocks and the process's are read moments apart.
	sp.LoadAndRuntimeS = max(sp.ProcessS-sp.ObserversS, 0)
	sp.ProcessPer1kS, sp.LoadAndRuntimePer1kS, sp.ObserversPer1kS = per1k(sp.ProcessS), per1k(sp.LoadAndRuntimeS), per1k(sp.ObserversS)
	if sp.ProcessS > 0 {
		sp.ObserversShareOfProcess = sp.ObserversS / sp.ProcessS
	}
	return sp
}

// Names is the split's observers in report order: Observers first, then
// any other in name order.
func (s *Split) Names() []string {
	var out, rest []string
	for _, n := range Observers() {
		if _, ok := s.Observers[n]; ok {
			out = append(out, n)
		}
	}
	for n := range s.Observers {
		if !slices.Contains(out, n) {
			rest = append(rest, n)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}
