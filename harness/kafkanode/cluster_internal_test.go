package kafkanode

import (
	"strings"
	"testing"
)

// A member is its own KRaft node in a quorum of all, formatted with the
// cluster's one id, replicating every topic to all with one fewer in sync.
func TestClusterConfigs(t *testing.T) {
	root := t.TempDir()
	base := DefaultConfig()
	cfgs, err := ClusterConfigs(3, root, base, func(i int) (int, int) { return 7000 + i, 7010 + i })
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cfgs {
		if err := c.Validate(); err != nil {
			t.Errorf("member %d: %v", i, err)
		}
		props := c.serverProperties()
		for _, want := range []string{
			"node.id=" + string(rune('1'+i)) + "\n",
			"controller.quorum.voters=1@127.0.0.1:7010,2@127.0.0.1:7011,3@127.0.0.1:7012\n",
			"default.replication.factor=3\n", "min.insync.replicas=2\n", "offsets.topic.replication.factor=3\n",
		} {
			if !strings.Contains(props, want) {
				t.Errorf("member %d: server.properties lacks %q:\n%s", i, want, props)
			}
		}
		if c.ClusterID == "" || c.ClusterID != cfgs[0].ClusterID {
			t.Errorf("member %d: cluster id %q, want the shared one", i, c.ClusterID)
		}
	}
	single := base.serverProperties()
	for _, want := range []string{"node.id=1\n", "default.replication.factor=1\n", "min.insync.replicas=1\n"} {
		if !strings.Contains(single, want) {
			t.Errorf("the single node's server.properties lacks %q", want)
		}
	}
}
