package eda

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/edabench/edabench/harness/record"
	"go.k6.io/k6/metrics"
)

// hdrPair records the ack and end-to-end latencies in fixed-memory HDR
// histograms with the harness's geometry (microseconds, 1 us to 1 h, 3
// significant digits), so the .hgrm files compare line for line with the
// harness's. k6's own Trend keeps every sample; these do not grow.
type hdrPair struct{ ack, e2e *record.Locked }

func newHDRPair() *hdrPair {
	return &hdrPair{ack: record.NewLocked(), e2e: record.NewLocked()}
}

func (h *hdrPair) recordAck(d time.Duration) {
	if h != nil {
		h.ack.Record(d)
	}
}

func (h *hdrPair) recordE2E(d time.Duration) {
	if h != nil {
		h.e2e.Record(d)
	}
}

// quantiles pushes the HDR histograms' p50 and p99 so far as gauges once a
// second, until the client is settled or closed: with trends off they are
// what thresholds and the end-of-test summary see.
func (s *shared) quantiles() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.noVUCtx().Done():
			return
		case now := <-t.C:
			s.pushQuantiles(now)
		}
	}
}

func (s *shared) pushQuantiles(now time.Time) {
	if s.hdr == nil {
		return
	}
	var samples metrics.Samples
	for _, h := range []struct {
		l        *record.Locked
		p50, p99 *metrics.Metric
	}{{s.hdr.ack, s.m.ackP50, s.m.ackP99}, {s.hdr.e2e, s.m.e2eP50, s.m.e2eP99}} {
		v, n := h.l.ValuesAt(50, 99)
		if n == 0 {
			continue
		}
		for i, m := range []*metrics.Metric{h.p50, h.p99} {
			// Microseconds to k6's milliseconds.
			samples = append(samples, metrics.Sample{TimeSeries: metrics.TimeSeries{Metric: m, Tags: s.gaugeTag}, Time: now, Value: float64(v[i]) / 1000})
		}
	}
	if len(samples) > 0 {
		s.pushGauges(samples)
	}
}

// hgrmPath is where the HDR option writes a histogram: <dir>/k6.<twin>.<kind>.hgrm.
func hgrmPath(dir, twin, kind string) string {
	return filepath.Join(dir, fmt.Sprintf("k6.%s.%s.hgrm", twin, kind))
}

func (h *hdrPair) write(dir, twin string) error {
	if h == nil {
		return nil
	}
	var errs []error
	for kind, l := range map[string]*record.Locked{"ack": h.ack, "e2e": h.e2e} {
		hist, _ := l.Snapshot()
		errs = append(errs, writeHgrm(hgrmPath(dir, twin, kind), hist))
	}
	return errors.Join(errs...)
}

func writeHgrm(path string, h *hdrhistogram.Histogram) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := record.WriteHgrm(f, h); err != nil {
		_ = f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}
