package procstat_test

import (
	"testing"

	"github.com/edabench/edabench/harness/broker/brokertest"
	"github.com/edabench/edabench/harness/procstat"
)

// TestBrokerTree checks what the harness meters for the broker: the Erlang
// VM that Node.PID names, plus its helper processes.
func TestBrokerTree(t *testing.T) {
	node := brokertest.Shared(t)
	pid := node.PID()
	if pid == 0 {
		t.Fatal("broker.Node.PID() = 0 for a started node")
	}
	if comm, err := procstat.Comm(pid); err != nil || comm != "beam.smp" {
		t.Fatalf("broker pid %d is %q (err %v), want beam.smp", pid, comm, err)
	}
	own, err := procstat.Read(pid)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := procstat.ReadTree(pid)
	if err != nil {
		t.Fatal(err)
	}
	// erl_child_setup is always there; its memory is small but not zero.
	if own.CPUSeconds <= 0 || own.RSSBytes <= 0 || tree.RSSBytes <= own.RSSBytes || tree.CPUSeconds < own.CPUSeconds {
		t.Errorf("beam.smp alone %+v, with its children %+v", own, tree)
	}
}
