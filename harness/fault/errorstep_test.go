package fault

import "testing"

func TestErrorStepCheck(t *testing.T) {
	testChecks(t, []checkCase{
		{entry{"type": "error-step", "target": "shipping", "error_prob": "0.3"}, nil},
		{entry{"type": "error-step", "target": "shipping", "error_prob": "1"}, nil},
		{entry{"type": "error-step", "target": "shipping"}, []string{"error_prob"}},
		{entry{"type": "error-step", "target": "shipping", "error_prob": "2"}, []string{"error_prob"}},
		{entry{"type": "error-step", "target": "gateway", "error_prob": "0.1"}, []string{"target"}},
	})
}
