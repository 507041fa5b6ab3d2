package main

import (
	"fmt"
	"time"

	"github.com/edabench/edabench/harness/results"
)

// impliedQuantile is the latency at quantile q (0.99 for p99) that a run of
// length run at a constant rate must report when the target is frozen for
// freeze (wholly inside the run) and otherwise answers in service.
//
// A request due t before the freeze ends waits t, so the delays are spread
// evenly over 0..freeze for the share freeze/run of the requests, and are 0
// for the rest. The top 1-q of the latencies therefore start at the delay d
// with (freeze-d)/run = 1-q. With a 1 s freeze in 10 s, 10% of requests
// wait 0..1 s and p99 = 0.9 s + service. It is independent of the rate:
// Poisson arrivals give the same figure on average.
func impliedQuantile(q float64, run, freeze, service time.Duration) time.Duration {
	if run <= 0 || freeze <= 0 {
		return service
	}
	d := freeze - time.Duration((1-q)*float64(run))
	return max(d, 0) + service
}

// fromEdabench reads one twin's figures from an edabench summary.json.
func fromEdabench(b []byte, twin string) (toolResult, *results.TwinResult, error) {
	f, err := results.DecodeSummary("edabench summary.json", b)
	if err != nil {
		return toolResult{}, nil, err
	}
	t := f.Summary.Twins[twin]
	if t == nil {
		return toolResult{}, nil, fmt.Errorf("edabench summary.json: no %s twin in it", twin)
	}
	res := toolResult{
		Requests:  t.Sent,
		OK:        t.OK + t.Rejected,
		Errors:    t.Errors + t.Timeouts + t.Dropped,
		Dropped:   t.Dropped,
		Seconds:   t.LoadSeconds,
		P50Ms:     t.Ack.P50,
		P99Ms:     t.Ack.P99,
		Samples:   t.Ack.Count,
		Corrected: true,
	}
	return res, t, nil
}
