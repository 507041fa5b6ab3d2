package main

import (
	"strings"
	"testing"

	"github.com/edabench/edabench/harness/cpubill"
)

func TestFloorRatiosAndTable(t *testing.T) {
	row := func(tool string, rate, cpu float64, err string) floorRow {
		return floorRow{Tool: tool, OfferedRPS: rate, CPUPer1k: cpu, Err: err,
			Result: toolResult{Requests: 1000, OK: 1000, Seconds: 10, P50Ms: 1, P99Ms: 5}}
	}
	bill := &cpubill.Split{Requests: 1000, ProcessPer1kS: 0.5, LoadAndRuntimePer1kS: 0.45, ObserversPer1kS: 0.05,
		Observers: map[string]cpubill.ObserverCPU{cpubill.Staleness: {Per1kS: 0.03, Spans: 200}, cpubill.Completion: {}}}
	tests := []struct {
		name   string
		rows   []floorRow
		ratios []floorRatio
		goal   string
	}{
		{"within 2x", []floorRow{row("bare", 100, 0.8, ""), row("edabench", 100, 1.2, ""), row("bare", 1000, 0.2, ""), row("edabench", 1000, 0.2, "")},
			[]floorRatio{{100, 1.5}, {1000, 1}}, "met"},
		{"over 2x at one rate", []floorRow{row("bare", 100, 0.5, ""), row("edabench", 100, 1.5, "")},
			[]floorRatio{{100, 3}}, "**missed**"},
		{"a failed run has no ratio", []floorRow{row("bare", 100, 0.5, ""), row("edabench", 100, 0, "edabench: exit 2")},
			[]floorRatio{{100, 0}}, "**missed**"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ratios(tt.rows)
			if len(got) != len(tt.ratios) {
				t.Fatalf("ratios = %v, want %v", got, tt.ratios)
			}
			for i := range got {
				if got[i].Rate != tt.ratios[i].Rate || abs(got[i].Ratio-tt.ratios[i].Ratio) > 1e-9 {
					t.Errorf("ratio %d = %+v, want %+v", i, got[i], tt.ratios[i])
				}
			}
			tt.rows[1].Bill = bill
			md := floorMarkdown(&floorReport{Duration: "10s", Rows: tt.rows, Ratios: got})
			if !strings.Contains(md, "within 2x of the bare client at every rate: "+tt.goal) {
				t.Errorf("goal line: want %q in\n%s", tt.goal, md)
			}
			if tt.rows[1].Err == "" && !strings.Contains(md, "staleness probe 0.0300") {
				t.Errorf("edabench's own split missing (the staleness probe's figure) in\n%s", md)
			}
			for l := range strings.Lines(md) {
				if strings.HasPrefix(l, "- edabench at") && strings.Contains(l, "completion consumer") {
					t.Errorf("an observer that did not run is listed: %s", l)
				}
			}
		})
	}
}

func abs(x float64) float64 { return max(x, -x) }
