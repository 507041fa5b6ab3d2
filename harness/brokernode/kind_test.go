package brokernode

import (
	"context"
	"errors"
	"testing"
)

// fakeNode is a Node by embedding; its methods are never called.
type fakeNode struct{ Node }

// A failed start or open must give a nil Node, not a nil *fakeNode inside
// a non-nil interface; a good one gives the node.
func TestNewKindNilOnError(t *testing.T) {
	boom := errors.New("boom")
	good := &fakeNode{}
	for _, tc := range []struct {
		name string
		n    *fakeNode
		err  error
	}{
		{"failed", nil, boom},
		{"started", good, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := NewKind("fake",
				func(context.Context) (*fakeNode, error) { return tc.n, tc.err },
				func() (*fakeNode, error) { return tc.n, tc.err }, nil)
			for what, f := range map[string]func() (Node, error){
				"Start": func() (Node, error) { return k.Start(context.Background()) },
				"Open":  k.Open,
			} {
				n, err := f()
				if !errors.Is(err, tc.err) {
					t.Errorf("%s: err = %v, want %v", what, err, tc.err)
				}
				if tc.err != nil && n != nil {
					t.Errorf("%s: a failed call gave a non-nil Node %#v", what, n)
				}
				if tc.err == nil && n != Node(good) {
					t.Errorf("%s: got %#v, want the node", what, n)
				}
			}
		})
	}
}
