package broker

import (
	"strings"
	"testing"
)

// Every member of a cluster shares the epmd and the cookie and owns its
// name, ports and data dir; the cookie survives a second description.
func TestClusterConfigs(t *testing.T) {
	root := t.TempDir()
	ports := func(i int) [4]int { return [4]int{6000 + i, 6010 + i, 6020 + i, 6030 + i} }
	cfgs, err := ClusterConfigs(3, root, 6100, ports)
	if err != nil {
		t.Fatal(err)
	}
	again, err := ClusterConfigs(3, root, 6100, ports)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, c := range cfgs {
		if err := c.Validate(); err != nil {
			t.Errorf("member %d: %v", i, err)
		}
		if c.EPMDPort != 6100 || c.Cookie == "" || c.Cookie != cfgs[0].Cookie || c != again[i] {
			t.Errorf("member %d: %+v: want the shared epmd and one stable cookie", i, c)
		}
		if !strings.Contains(c.ErlArgs, "+S 2:2") {
			t.Errorf("member %d: ErlArgs %q do not limit the schedulers", i, c.ErlArgs)
		}
		for _, k := range []string{c.Name, c.DataDir} {
			if seen[k] {
				t.Errorf("member %d repeats %q", i, k)
			}
			seen[k] = true
		}
		env := strings.Join(c.env(nil), "\n")
		if !strings.Contains(env, "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="+c.ErlArgs) {
			t.Errorf("member %d: the VM flags are not in its environment", i)
		}
	}
	for _, n := range []int{1, MaxClusterNodes + 1} {
		if _, err := ClusterConfigs(n, root, 6100, ports); err == nil {
			t.Errorf("a cluster of %d nodes was accepted", n)
		}
	}
}
