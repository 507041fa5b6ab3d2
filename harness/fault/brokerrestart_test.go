package fault

import (
	"context"
	"strings"
	"testing"
)

func TestBrokerRestartCheck(t *testing.T) {
	testChecks(t, []checkCase{
		{entry{"type": "broker-restart"}, nil},
		{entry{"type": "broker-restart", "target": "broker"}, nil},
		{entry{"type": "broker-restart", "target": "payment"}, []string{"target"}},
		{entry{"type": "broker-restart", "at": "-1s"}, []string{"at"}},
	})
}

// TestBrokerRestartWithoutABroker: an RR twin has no broker; the window
// records why nothing happened.
func TestBrokerRestartWithoutABroker(t *testing.T) {
	_, err := (&brokerRestart{}).Apply(context.Background(), &Env{}, "")
	if err == nil || !strings.Contains(err.Error(), "uses no broker") {
		t.Fatalf("err = %v, want: uses no broker", err)
	}
}
