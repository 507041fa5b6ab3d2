package fault

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/netns"
)

func TestPartitionNodeCheck(t *testing.T) {
	testChecks(t, []checkCase{
		{entry{"type": "partition-node", "target": "n2"}, nil},
		{entry{"type": "partition-node"}, []string{"target"}},
	})
}

// TestPartitionNodeWithoutTheNode: the window records which nodes there
// are, or that none runs in a namespace.
func TestPartitionNodeWithoutTheNode(t *testing.T) {
	for _, tc := range []struct {
		links map[string]Link
		want  string
	}{
		{nil, "no broker node runs in a network namespace"},
		{map[string]Link{"n1": nil, "n3": nil}, `no node "n2" to cut off; the nodes are n1, n3`},
	} {
		_, err := (&partitionNode{}).Apply(context.Background(), &Env{Links: tc.links}, "n2")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("links %v: err = %v, want %q", tc.links, err, tc.want)
		}
	}
}

// TestPartitionNodeOnANamespace runs a partition-node window through the
// injector on a real network namespace: a server inside is unreachable
// from the host while the window lasts and reachable once it closes.
func TestPartitionNodeOnANamespace(t *testing.T) {
	if testing.Short() {
		t.Skip("makes network namespaces (root, iproute2); the -short tier changes no kernel state: run without -short")
	}
	ctx := t.Context()
	n, err := netns.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	node, err := n.AddNode(ctx, "n2")
	if err != nil {
		t.Fatal(err)
	}
	var ln net.Listener
	if err := node.Do(func() error {
		ln, err = net.Listen("tcp", netip.AddrPortFrom(node.Addr(), 0).String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	reach := func() error {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 500*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := reach(); err != nil {
		t.Fatalf("before the fault: %v", err)
	}
	const window = 3 * time.Second
	in := New([]Spec{{Type: &partitionNode{}, Target: "n2", Duration: window}}, nil, nil, nil)
	in.SetLinks(map[string]Link{"n2": node})
	start := time.Now()
	in.Start(ctx, start)
	defer in.Stop(context.Background())
	// Inside the window, once the fault is applied.
	for len(in.Active()) == 0 && time.Since(start) < window {
		time.Sleep(10 * time.Millisecond)
	}
	if len(in.Active()) == 0 {
		t.Fatalf("the fault was not applied: %+v", in.Windows())
	}
	if err := reach(); err == nil {
		t.Error("the node was reachable while cut off")
	}
	w := awaitWindowEnd(ctx, t, in)
	if w.Err != "" {
		t.Fatalf("window error: %s", w.Err)
	}
	if err := reach(); err != nil {
		t.Errorf("after the window: %v", err)
	}
}
