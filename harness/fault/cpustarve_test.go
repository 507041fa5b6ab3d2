package fault

import "testing"

func TestCPUStarveCheck(t *testing.T) {
	testChecks(t, []checkCase{
		{entry{"type": "cpu-starve", "target": "inventory", "cores": "0.05"}, nil},
		{entry{"type": "cpu-starve", "target": "inventory"}, []string{"cores"}},
		{entry{"type": "cpu-starve", "target": "inventory", "cores": "65"}, []string{"cores"}},
		{entry{"type": "cpu-starve", "target": "broker", "cores": "-1"}, []string{"target", "cores"}},
	})
}
