package brokerprobe

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/broker/brokertest"
	"github.com/edabench/edabench/harness/brokernode"
)

func TestConfigDefaults(t *testing.T) {
	node := fakeNode{}
	tests := []struct {
		name    string
		c       Config
		wantErr string
		want    Config
	}{
		{"no node", Config{Duration: time.Second}, "Config.Node is nil", Config{}},
		{"no duration", Config{Node: node}, "Duration must be positive", Config{}},
		{"defaults", Config{Node: node, Duration: 5 * time.Second},
			"", Config{Node: node, Duration: 5 * time.Second, Queues: 5, Publishers: 64, Prefetch: 64, Warmup: time.Second}},
		{"warm-up capped", Config{Node: node, Duration: time.Minute, Queues: 2, Publishers: 3, Prefetch: 4},
			"", Config{Node: node, Duration: time.Minute, Queues: 2, Publishers: 3, Prefetch: 4, Warmup: 2 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.c.withDefaults()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Queues != tt.want.Queues || got.Publishers != tt.want.Publishers || got.Prefetch != tt.want.Prefetch || got.Warmup != tt.want.Warmup {
				t.Errorf("withDefaults() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// A probe claims its prefix on the node before declaring and leaves
// neither queues nor its claim behind.
func TestProbeLeavesNothing(t *testing.T) {
	node := brokertest.Shared(t)
	ctx := t.Context()
	before, err := node.QueueDepths(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(ctx, Config{Node: node, Queues: 2, Publishers: 2, Duration: time.Second, Body: []byte("probe")})
	if err != nil {
		t.Fatal(err)
	}
	if r.Confirmed == 0 || r.Acked == 0 {
		t.Errorf("result %+v: the probe carried nothing", r)
	}
	after, err := node.QueueDepths(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name := range after {
		if _, old := before[name]; !old && strings.HasPrefix(name, "probe") {
			t.Errorf("queue %s left on the node after the probe", name)
		}
	}
	recs, err := node.Records()
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		if rec.PID == os.Getpid() {
			t.Errorf("claim %+v left after the probe", rec)
		}
	}
}

// fakeNode is a brokernode.Node for the checks that never reach a broker.
type fakeNode struct{ brokernode.Node }
