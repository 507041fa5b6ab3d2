package results

import (
	"math"
	"strings"
	"testing"
)

func TestDecodeTimeseries(t *testing.T) {
	const csv = `t_s,twin,phase,offered,replies,e2e_p99_ms,queue_depth,faults
0,rr,before,196,194,25.8,0,
1,rr,fault,188,0,0.000,0,kill:inventory
0,eda,before,196,194,262.4,x,
`
	tests := []struct {
		name    string
		text    string
		wantErr string
	}{
		{"ok", csv, ""},
		{"empty", "", "empty file"},
		{"no t_s", "twin,offered\nrr,1\n", "want at least the columns t_s and twin"},
		{"t_s not a number", "t_s,twin\nx,rr\n", `t_s "x": not a number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, err := DecodeTimeseries(strings.NewReader(tt.text))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("DecodeTimeseries = %v; want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ts.Twin("rr").Num("offered"); len(got) != 2 || got[0] != 196 || got[1] != 188 {
				t.Errorf("rr offered = %v; want [196 188]", got)
			}
			if got := ts.Twin("rr").Num("lag_ms"); got != nil {
				t.Errorf("missing column lag_ms = %v; want nil", got)
			}
			if got := ts.Twin("hybrid"); got != nil {
				t.Errorf("missing twin = %v; want nil", got)
			}
			if got := ts.Twin("eda").Num("queue_depth"); len(got) != 1 || !math.IsNaN(got[0]) {
				t.Errorf("eda queue_depth = %v; want [NaN] for a cell that is not a number", got)
			}
			if got := ts.Twin("rr").Text("faults"); len(got) != 2 || got[1] != "kill:inventory" {
				t.Errorf("rr faults = %q", got)
			}
			if got := ts.Twin("rr").Lines; len(got) != 2 || got[0] != 2 || got[1] != 3 {
				t.Errorf("rr lines = %v; want [2 3]", got)
			}
			if err := ts.Require("t_s", "lag_ms"); err == nil || !strings.Contains(err.Error(), `no "lag_ms" column`) {
				t.Errorf("Require(lag_ms) = %v", err)
			}
			if got := ts.Twins(); len(got) != 2 || got[0] != "eda" || got[1] != "rr" {
				t.Errorf("twins = %v", got)
			}
			if ts.LastSecond() != 1 {
				t.Errorf("LastSecond = %v; want 1", ts.LastSecond())
			}
		})
	}
}

// The header is part of the schema users' scripts read: it must not move
// when the list is edited.
func TestColumnsAreTheSchema(t *testing.T) {
	const want = "t_s,twin,phase,offered,replies,errors,timeouts,dropped,ended,in_flight,ack_p50_ms,ack_p99_ms,e2e_p50_ms,e2e_p99_ms,queue_depth,lag_ms,faults,steal_pct,cpu_pressure_pct,cpu_pressure_avg10"
	if got := strings.Join(Columns(), ","); got != want {
		t.Fatalf("timeseries.csv header\n got %s\nwant %s", got, want)
	}
}
