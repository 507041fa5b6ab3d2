package results

import (
	"strings"
	"testing"
)

func TestNodeDownCheck(t *testing.T) {
	ok := NodeDown{StopAskedS: 10, GoneS: 11.2, StartAskedS: 15, BackS: 16, ServingS: 20,
		StopMs: 1200, AwayMs: 8800, DownMs: 10000, WindowMs: 5000, StartMs: 5000, LateMs: 0,
		FirstAcceptS: 20.4, FirstCompletionS: 21, AcceptAfterMs: 400, CompleteAfterMs: 1000}
	for _, tc := range []struct {
		name string
		edit func(d *NodeDown)
		want string // "" = no problem
	}{
		{"complete and ordered", func(*NodeDown) {}, ""},
		{"a stop longer than the window, the start asked once gone", func(d *NodeDown) {
			d.GoneS, d.StopMs, d.AwayMs, d.StartAskedS, d.BackS, d.LateMs, d.StartMs = 16.2, 6200, 3800, 16.3, 17, 1300, 3700
		}, ""},
		{"no first acceptance", func(d *NodeDown) { d.FirstAcceptS, d.AcceptAfterMs = -1, -1 }, "no first acceptance"},
		{"gone missing", func(d *NodeDown) { d.GoneS = -1 }, "gone_s missing"},
		{"back before start asked", func(d *NodeDown) { d.BackS = 14 }, "back_s 14.000 before start_asked_s"},
		{"started inside the window", func(d *NodeDown) { d.LateMs = -300 }, "before the 5000 ms window ended"},
		{"started before the node was gone", func(d *NodeDown) { d.StopMs, d.AwayMs = 5500, 4500 }, "before the node was gone"},
		{"parts not adding up", func(d *NodeDown) { d.StartMs = 4000 }, "is not window 5000 + late 0 + start 4000"},
		{"stop and away not adding up", func(d *NodeDown) { d.AwayMs = 8000 }, "is not stop 1200 + away 8000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := ok
			tc.edit(&d)
			err := d.Check()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Check = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Check = %v, want an error with %q", err, tc.want)
			}
		})
	}
}
