package fault

import (
	"context"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/broker/brokertest"
	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/kafkanode/kafkatest"
	"github.com/edabench/edabench/harness/natsnode/natstest"
)

// TestBrokerRestartMarksOnRealNodes runs a broker-restart window through
// the injector on a dedicated node of each broker and checks that every
// mark of the node's timeline is there and in order, and that the node
// serves when the window closes. The times are logged, not asserted: the
// machine is shared.
func TestBrokerRestartMarksOnRealNodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		node func(testing.TB) brokernode.Node
	}{
		{"rabbitmq", func(t testing.TB) brokernode.Node { return brokertest.Dedicated(t) }},
		{"kafka", func(t testing.TB) brokernode.Node { return kafkatest.Dedicated(t) }},
		{"nats", func(t testing.TB) brokernode.Node { return natstest.Dedicated(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			node := tc.node(t)
			const down = 2 * time.Second
			spec := Spec{Type: &brokerRestart{}, Duration: down}
			in := New([]Spec{spec}, nil, node, nil)
			ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
			defer cancel()
			in.Start(ctx, time.Now())
			w := awaitWindowEnd(ctx, t, in)
			if err := in.Stop(context.Background()); err != nil {
				t.Fatalf("stop the injector: %v", err)
			}
			if w.Err != "" {
				t.Fatalf("window error: %s", w.Err)
			}
			m := w.Marks
			if m == nil {
				t.Fatal("the window has no node marks")
			}
			steps := []struct {
				name string
				at   time.Time
			}{
				{"window start", w.Start}, {"stop asked", m.StopAsked}, {"gone", m.Gone},
				{"start asked", m.StartAsked}, {"back", m.Back}, {"serving", m.Serving}, {"window end", w.End},
			}
			for i, s := range steps {
				if s.at.IsZero() {
					t.Errorf("mark %q missing: %+v", s.name, m)
					continue
				}
				if i > 0 && s.at.Before(steps[i-1].at) {
					t.Errorf("mark %q (%s) before %q (%s)", s.name, s.at.Format(time.StampMicro),
						steps[i-1].name, steps[i-1].at.Format(time.StampMicro))
				}
			}
			// The window's own promise: the node is not started before
			// the fault's duration has passed.
			if m.StartAsked.Before(w.Start.Add(down)) {
				t.Errorf("start asked %v after the window began, before its %v", m.StartAsked.Sub(w.Start), down)
			}
			if _, ok := node.(brokernode.ServeProber); !ok {
				t.Errorf("%T has no serve probe: its serving mark would be its Start's return", node)
			}
			if p, ok := node.(brokernode.ServeProber); ok {
				pctx, pcancel := context.WithTimeout(context.Background(), 30*time.Second)
				err := p.ProbeServe(pctx)
				pcancel()
				if err != nil {
					t.Errorf("the node does not serve after the window: %v", err)
				}
			}
			t.Logf("%s: stop %v, gone→start asked %v, start asked→back %v, back→serving %v; away (gone→serving) %v, down (stop asked→serving) %v = window %v + late %v + start %v",
				tc.name, m.Gone.Sub(m.StopAsked), m.StartAsked.Sub(m.Gone), m.Back.Sub(m.StartAsked),
				m.Serving.Sub(m.Back), m.Serving.Sub(m.Gone), m.Serving.Sub(m.StopAsked),
				down, m.StartAsked.Sub(m.StopAsked.Add(down)), m.Serving.Sub(m.StartAsked))
		})
	}
}

func awaitWindowEnd(ctx context.Context, t *testing.T, in *Injector) Window {
	t.Helper()
	for {
		if ws := in.Windows(); len(ws) == 1 && !ws[0].End.IsZero() {
			return ws[0]
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the window did not close: %v; windows %+v", ctx.Err(), in.Windows())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
