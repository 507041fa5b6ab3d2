package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// toolResult is one generator's view of one run, whatever the tool.
type toolResult struct {
	Requests  int64   `json:"requests"`  // every call that got an answer or failed
	OK        int64   `json:"ok"`        // answered without error
	Errors    int64   `json:"errors"`    // failed, timed out or never sent (dropped)
	Seconds   float64 `json:"seconds"`   // the load's duration as the tool reports it
	P50Ms     float64 `json:"p50_ms"`    // over the successful calls
	P99Ms     float64 `json:"p99_ms"`    // over the successful calls
	Samples   int64   `json:"samples"`   // latencies behind the percentiles
	Dropped   int64   `json:"dropped"`   // k6's dropped_iterations, edabench's dropped
	CutOff    int64   `json:"cut_off"`   // ghz: calls in flight when -z ended, failed by ghz itself
	Corrected bool    `json:"corrected"` // measured from the intended send time
}

// AchievedRPS is successful calls per second of load.
func (r toolResult) AchievedRPS() float64 {
	if r.Seconds <= 0 {
		return 0
	}
	return float64(r.OK) / r.Seconds
}

// ErrorRate is the failed share of everything attempted.
func (r toolResult) ErrorRate() float64 {
	if n := r.OK + r.Errors; n > 0 {
		return float64(r.Errors) / float64(n)
	}
	return 0
}

// ghzReport is the part of ghz's `-O json` report used here. Durations are
// nanoseconds (Go's time.Duration).
type ghzReport struct {
	Count          int64            `json:"count"`
	Total          time.Duration    `json:"total"`
	ErrorDist      map[string]int64 `json:"errorDistribution"`
	StatusCodeDist map[string]int64 `json:"statusCodeDistribution"`
	Latencies      []struct {
		Percentage int           `json:"percentage"`
		Latency    time.Duration `json:"latency"`
	} `json:"latencyDistribution"`
}

// parseGhz reads ghz's JSON report. ghz computes its percentiles over the
// successful calls only (without --count-errors), like edabench's ack.
func parseGhz(b []byte) (toolResult, error) {
	var r ghzReport
	if err := json.Unmarshal(b, &r); err != nil {
		return toolResult{}, fmt.Errorf("ghz JSON report: %w", err)
	}
	if r.Count == 0 {
		return toolResult{}, errors.New("ghz JSON report: no calls made (count 0): is the target up?")
	}
	res := toolResult{Requests: r.Count, Seconds: r.Total.Seconds()}
	for msg, n := range r.ErrorDist {
		// When -z ends, ghz closes its connections under the calls still in
		// flight: their failure is ghz's own stop, not the target's.
		if strings.Contains(msg, "use of closed network connection") || strings.Contains(msg, "context canceled") {
			res.CutOff += n
			continue
		}
		res.Errors += n
	}
	res.OK = r.Count - res.Errors - res.CutOff
	res.Samples = res.OK
	for _, l := range r.Latencies {
		switch l.Percentage {
		case 50:
			res.P50Ms = ms(l.Latency)
		case 99:
			res.P99Ms = ms(l.Latency)
		}
	}
	return res, nil
}

// k6Summary is the part of `k6 run --summary-export` used here: every
// metric is a flat map of its stats.
type k6Summary struct {
	Metrics map[string]map[string]any `json:"metrics"`
}

func (s k6Summary) num(metric, key string) float64 {
	v, _ := s.Metrics[metric][key].(float64)
	return v
}

// parseK6 reads a --summary-export file of an xk6-eda script. With
// needP99, the script must list p(99) and count in its summaryTrendStats
// (k6's default stats have neither).
func parseK6(b []byte, loadSeconds float64, needP99 bool) (toolResult, error) {
	var s k6Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return toolResult{}, fmt.Errorf("k6 summary export: %w", err)
	}
	res := toolResult{
		Requests: int64(s.num("eda_orders_placed", "count")),
		Errors:   int64(s.num("eda_orders_errored", "count") + s.num("eda_orders_rejected", "count")),
		Dropped:  int64(s.num("dropped_iterations", "count")),
		Seconds:  loadSeconds,
	}
	ack, trend := s.Metrics["eda_ack_duration"]
	_, gauges := s.Metrics["eda_ack_p99"]
	switch {
	case trend:
		if _, ok := ack["p(99)"]; needP99 && !ok {
			return toolResult{}, errors.New(`k6 summary export: eda_ack_duration has no p(99): add "p(99)" and "count" to the script's summaryTrendStats`)
		}
		res.P50Ms, res.P99Ms = s.num("eda_ack_duration", "med"), s.num("eda_ack_duration", "p(99)")
		res.Samples = int64(s.num("eda_ack_duration", "count"))
	case gauges:
		// trends: false: the HDR histograms' quantiles over the whole run,
		// as the extension's gauges last reported them; every reply was
		// recorded.
		res.P50Ms, res.P99Ms = s.num("eda_ack_p50", "value"), s.num("eda_ack_p99", "value")
		res.Samples = res.Requests - int64(s.num("eda_orders_errored", "count"))
	default:
		return toolResult{}, errors.New("k6 summary export: neither eda_ack_duration nor eda_ack_p99: was the script an xk6-eda one, and did it place any order?")
	}
	res.OK = res.Requests - res.Errors
	// A dropped iteration is a request the schedule wanted and k6 never sent.
	res.Errors += res.Dropped
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
