package brokertest_test

import (
	"testing"

	"github.com/edabench/edabench/harness/broker"
	"github.com/edabench/edabench/harness/broker/brokertest"
)

// TestShared leaves the default node running on purpose: that is Shared's
// contract (stop it with `go run ./harness/cmd/brokerctl down`).
func TestShared(t *testing.T) {
	a := brokertest.Shared(t)
	b := brokertest.Shared(t)
	if a.PID() == 0 || a.PID() != b.PID() {
		t.Fatalf("Shared twice gave pids %d and %d, want the same running node", a.PID(), b.PID())
	}
	if a.Config() != broker.DefaultConfig() {
		t.Errorf("Shared node config %+v is not DefaultConfig %+v", a.Config(), broker.DefaultConfig())
	}
	if err := a.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
}
