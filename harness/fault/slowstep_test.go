package fault

import "testing"

func TestSlowStepCheck(t *testing.T) {
	testChecks(t, []checkCase{
		{entry{"type": "slow-step", "target": "shipping", "mean": "40ms"}, nil},
		{entry{"type": "slow-step", "target": "shipping"}, []string{"mean"}},
		{entry{"type": "slow-step", "target": "gateway", "mean": "1ms"}, []string{"target"}},
	})
}
