package fault

import "testing"

func TestBandwidthCheck(t *testing.T) {
	testChecks(t, []checkCase{
		{entry{"type": "bandwidth", "target": "inventory", "rate_kbps": "8"}, nil},
		{entry{"type": "bandwidth", "target": "payment"}, []string{"rate_kbps"}},
		{entry{"type": "bandwidth", "target": "payment", "rate_kbps": "0"}, []string{"rate_kbps"}},
	})
}
