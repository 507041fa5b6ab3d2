package main

import (
	"strings"
	"testing"
)

// The cross-check's table says which arrival process both tools used, and
// flags a row whose edabench ran another one (an edabench without
// --arrival runs the smoke scenario's Poisson).
func TestCrossCheckSaysTheArrival(t *testing.T) {
	for _, tc := range []struct {
		name    string
		row     crossRow
		want    []string
		wantNot string
	}{
		{"like with like", crossRow{twin: "eda", arrival: "uniform", k6P50: 16.8, ebP50: 16.1, ebP50U: 16.1, k6Count: 1000, ebCount: 1000},
			[]string{"uniform arrivals on both sides", "--arrival uniform", "+4.3%", "yes"}, "not like with like"},
		{"k6's thresholds crossed on a loaded machine", crossRow{twin: "eda", arrival: "uniform", note: "k6's thresholds crossed", k6P50: 1380, ebP50: 1465.3, ebP50U: 1465.3, k6Count: 1000, ebCount: 1000},
			[]string{"uniform; k6's thresholds crossed", "-5.8%"}, "not like with like"},
		{"edabench ran Poisson", crossRow{twin: "eda", arrival: "poisson", k6P50: 16.8, ebP50: 24.2, ebP50U: 24.2, k6Count: 1000, ebCount: 1000},
			[]string{"poisson (not k6's: not like with like)", "-30.6%"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			(&crossCheck{rate: "100", duration: "20s", rows: []crossRow{tc.row}}).print(&b)
			for _, s := range tc.want {
				if !strings.Contains(b.String(), s) {
					t.Errorf("table lacks %q:\n%s", s, b.String())
				}
			}
			if tc.wantNot != "" && strings.Contains(b.String(), tc.wantNot) {
				t.Errorf("table says %q:\n%s", tc.wantNot, b.String())
			}
		})
	}
}
