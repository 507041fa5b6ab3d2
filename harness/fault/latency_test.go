package fault

import "testing"

func TestLatencyCheck(t *testing.T) {
	testChecks(t, []checkCase{
		{entry{"type": "latency", "target": "payment", "latency": "30ms", "jitter": "10ms"}, nil},
		{entry{"type": "latency", "target": "gateway", "latency": "30ms"}, nil},
		{entry{"type": "latency", "target": "payment"}, []string{"latency"}},
		{entry{"type": "latency", "target": "broker", "latency": "1ms"}, []string{"target"}},
		{entry{"type": "latency", "target": "payment", "latency": "1ms", "jitter": "-1ms"}, []string{"jitter"}},
	})
}
