package fault

import (
	"context"
	"strings"
	"testing"

	"github.com/edabench/edabench/harness/hops"
)

// TestHopFaults applies each hop fault to a real proxy: the toxic it puts
// there is the one its settings ask for, and the undo takes it away.
func TestHopFaults(t *testing.T) {
	tests := []struct {
		e    entry
		want string // a toxic's type on the hop
	}{
		{entry{"type": "latency", "target": "payment", "latency": "30ms", "jitter": "10ms"}, "latency"},
		{entry{"type": "cut", "target": "payment"}, "reset_peer"},
		{entry{"type": "cut", "target": "payment", "mode": "timeout"}, "timeout"},
		{entry{"type": "bandwidth", "target": "payment", "rate_kbps": "8"}, "bandwidth"},
	}
	for _, tt := range tests {
		t.Run(tt.e["type"]+tt.e["mode"], func(t *testing.T) {
			tw := &fakeTwin{t: t, hops: hops.New(nil)}
			t.Cleanup(func() { tw.hops.Close(context.Background()) })
			if _, err := tw.hops.Add("payment", "127.0.0.1:1"); err != nil {
				t.Fatal(err)
			}
			s := decode(t, tt.e)
			if !NeedsProxies([]Spec{s}) {
				t.Fatalf("%s does not ask for proxies", s.Name())
			}
			undo, err := s.Type.Apply(context.Background(), &Env{Twin: tw}, s.Target)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(tw.hops.Toxics()["payment"], " "); !strings.Contains(got, tt.want) {
				t.Errorf("toxics on payment: %q, want a %s", got, tt.want)
			}
			if err := undo(context.Background()); err != nil {
				t.Fatal(err)
			}
			if left := tw.hops.Toxics(); len(left["payment"]) > 0 {
				t.Fatalf("toxics left after the undo: %v", left)
			}
		})
	}
}

// TestHopFaultWithoutProxies: a twin started without proxies cannot take a
// hop fault, and the error says who places them.
func TestHopFaultWithoutProxies(t *testing.T) {
	for _, typ := range []Type{&latency{Latency: 1}, &cut{}, &bandwidth{RateKBps: 1}} {
		_, err := typ.Apply(context.Background(), &Env{Twin: &fakeTwin{t: t}}, "payment")
		if err == nil || !strings.Contains(err.Error(), "without network proxies") {
			t.Errorf("%s: err = %v, want: without network proxies", typ.Name(), err)
		}
	}
	if NeedsProxies([]Spec{{Type: &kill{}}, {Type: &slowStep{}}}) {
		t.Error("kill and slow-step ask for proxies")
	}
}
