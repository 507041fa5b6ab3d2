package fault

import "testing"

func TestCutCheck(t *testing.T) {
	testChecks(t, []checkCase{
		{entry{"type": "cut", "target": "inventory"}, nil},
		{entry{"type": "cut", "target": "inventory", "mode": "reset"}, nil},
		{entry{"type": "cut", "target": "inventory", "mode": "timeout"}, nil},
		{entry{"type": "cut", "target": "payment", "mode": "drop"}, []string{"mode"}},
		{entry{"type": "cut", "target": "billing"}, []string{"target"}},
	})
}
