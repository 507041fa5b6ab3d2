package results

import "testing"

// A summary written before the within-run intervals still reads (Within
// nil, no interval); one with them gives each percentile's.
func TestDecodeWithin(t *testing.T) {
	tests := []struct {
		name     string
		json     string
		valid    bool
		lo, hi   float64
		phaseHas bool
	}{
		{"before the within-run intervals", `{"twins":{"eda":{"ack":{"p99_ms":12},"phases":{"steady":{}}}}}`, false, 0, 0, false},
		{"with them", `{"twins":{"eda":{"ack":{"p99_ms":12},"phases":{"steady":{"within_run":{"ack":{"method":"m","windows":5,"block_windows":2,"replicates":2000,
			"p50_ms":{"n":5,"median":3,"lo":2,"hi":4,"confidence":0.95,"within_run":true},"p99_ms":{"n":5,"median":12,"lo":9,"hi":30,"confidence":0.95,"within_run":true}}}}},
			"within_run":{"ack":{"method":"m","windows":20,"block_windows":3,"replicates":2000,
			"p50_ms":{"n":20,"median":3,"lo":2,"hi":4,"confidence":0.95,"within_run":true},"p99_ms":{"n":20,"median":12,"lo":10,"hi":40,"confidence":0.95,"within_run":true}}}}}}`,
			true, 10, 40, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := DecodeSummary("summary.json", []byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			eda := f.Summary.Twins["eda"]
			var ack *WithinRun
			if eda.Within != nil {
				ack = eda.Within.Ack
			}
			iv := ack.Interval(99)
			if iv.Valid() != tt.valid || (tt.valid && (iv.Lo != tt.lo || iv.Hi != tt.hi || !iv.Within || iv.N != 20)) {
				t.Fatalf("ack p99 within %+v, want valid %v [%v, %v]", iv, tt.valid, tt.lo, tt.hi)
			}
			if (eda.Phases["steady"].Within != nil) != tt.phaseHas {
				t.Fatalf("phase within %+v, want present %v", eda.Phases["steady"].Within, tt.phaseHas)
			}
			if ack.Interval(90).Valid() {
				t.Fatal("p90 has no within-run interval")
			}
		})
	}
}
