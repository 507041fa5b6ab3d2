package runner

import (
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/internal/twinkind"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// The load series are what the dashboards' runs table and stat rows
// divide by: they must follow the twin's own timeline.
func TestLoadSeriesFollowTheTimeline(t *testing.T) {
	start := time.Now().Add(-time.Minute).Truncate(time.Second)
	for _, c := range []struct {
		twin       string
		drainAfter time.Duration // 0: the load still runs
		ok, ended  int64
		wantSecs   float64 // exact once the drain began
		wantOpen   float64
	}{
		{twin: "eda", drainAfter: 7 * time.Second, ok: 5, ended: 3, wantSecs: 7, wantOpen: 2},
		{twin: "rr", drainAfter: 12 * time.Second, ok: 5, wantSecs: 12, wantOpen: 0},
		{twin: "hybrid", ok: 4, ended: 4, wantOpen: 0},
	} {
		t.Run(c.twin, func(t *testing.T) {
			st := newTwinState(c.twin, start, nil, 1, 100, 100)
			st.total.ok.Add(c.ok)
			st.endedAccepted.Add(c.ended)
			if c.drainAfter > 0 {
				st.tl.begin("drain", start.Add(c.drainAfter))
			}
			got := collectedGauges(t, newRunCollector(), trackedTwin{name: c.twin, live: liveTwin{st: st, kind: twinkind.Of(c.twin)}})
			if v := got[MetricLoadStart]; v != float64(start.Unix()) {
				t.Errorf("%s = %v, want %d", MetricLoadStart, v, start.Unix())
			}
			secs := got[MetricLoadSeconds]
			if c.drainAfter > 0 && secs != c.wantSecs {
				t.Errorf("%s = %v after the load, want %v", MetricLoadSeconds, secs, c.wantSecs)
			}
			if c.drainAfter == 0 && secs < time.Minute.Seconds() {
				t.Errorf("%s = %v while the load runs since a minute ago", MetricLoadSeconds, secs)
			}
			if v := got[MetricOrdersUnfinished]; v != c.wantOpen {
				t.Errorf("%s = %v, want %v", MetricOrdersUnfinished, v, c.wantOpen)
			}
		})
	}
}

func collectedGauges(t *testing.T, c *runCollector, tw trackedTwin) map[string]float64 {
	ch := make(chan prometheus.Metric, 16)
	c.collectLoad(ch, tw)
	close(ch)
	out := map[string]float64{}
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatal(err)
		}
		name := m.Desc().String()
		for _, n := range []string{MetricLoadStart, MetricLoadSeconds, MetricOrdersUnfinished} {
			if strings.Contains(name, `"`+n+`"`) {
				out[n] = pb.GetGauge().GetValue()
			}
		}
	}
	return out
}
