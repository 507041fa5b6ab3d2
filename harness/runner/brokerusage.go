package runner

import (
	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/procstat"
	"github.com/edabench/edabench/harness/results"
)

// trackBroker meters the broker: the node's process tree, or on a cluster
// every member's, since the replicas' work is what replication costs and
// the node's own PID is its first running member only.
func trackBroker(m *procstat.Meter, node brokernode.Node) {
	members := brokernode.Members(node)
	if len(members) < 2 {
		m.TrackTree(results.UsageBroker, node.PID)
		return
	}
	for i, mem := range members {
		m.TrackTree(results.UsageMember(i), mem.PID)
	}
}

// foldMembers sets the broker's entry to the sum of its members' when the
// usage has members, so every reader of the broker's usage (CPU per
// order, claim 8's share of the broker) reads the whole cluster's.
func foldMembers(u map[string]procstat.Usage) {
	var sum procstat.Usage
	members := 0
	for name, x := range u {
		if results.IsUsageMember(name) {
			members++
			sum.CPUSeconds += x.CPUSeconds
			sum.RSSBytes += x.RSSBytes
			sum.PeakRSSBytes += x.PeakRSSBytes
		}
	}
	if members > 0 {
		u[results.UsageBroker] = sum
	}
}
