package lag

import (
	"io"
	"maps"
	"os"
	"path/filepath"
	"testing"
)

// TestCountedDepths: per queue, published minus settled across every
// service's exposition from one tick; no counted depth at all (so the
// broker's figure) when any service lacks the counters.
func TestCountedDepths(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []string
		want  map[string]int64
	}{
		{"one service sees both ends", []string{"gateway.txt"},
			map[string]int64{"eb.inventory": 120, "eb.projector": 6}},
		{"publishers and consumers in different services", []string{"gateway.txt", "inventory.txt"},
			// inventory: 120 - (95 acked + 5 dead-lettered); projector: 100 - 4
			map[string]int64{"eb.inventory": 20, "eb.projector": 96, "eb.payment": 90}},
		{"more settled than published (a restarted publisher) reads as empty", []string{"inventory.txt", "payment.txt"},
			map[string]int64{"eb.inventory": 0, "eb.projector": 90, "eb.payment": 0}},
		{"a service on the bus without the counters (an older build): the broker's figure", []string{"gateway.txt", "nocounters.txt"},
			map[string]int64{}},
		{"a service off the bus needs no counters", []string{"gateway.txt", "offbus.txt"},
			map[string]int64{"eb.inventory": 120, "eb.projector": 6}},
		{"no service: the broker's figure", nil, map[string]int64{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rs []io.Reader
			for _, f := range tc.files {
				fh, err := os.Open(filepath.Join("testdata", "counters", f))
				if err != nil {
					t.Fatal(err)
				}
				defer fh.Close()
				rs = append(rs, fh)
			}
			got, err := countedDepths(rs)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("depths = %v, want %v", got, tc.want)
			}
		})
	}
}
