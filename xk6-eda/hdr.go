package eda

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/edabench/edabench/harness/record"
	"go.k6.io/k6/metrics"
)

// hdrPair records the ack and end-to-end latencies in fixed-memory HDR
// histograms with the harness's geometry (microseconds, 1 us to 1 h, 3
// significant digits), so the .hgrm files compare line for line with the
// harness's. k6's own Trend keeps every sample; these do not grow.
//
// Each is also cut every second into an interval log (.hlog), stamped on
// absolute time as the harness's are: several k6 instances (k6-operator's
// runners) then merge exactly, interval by interval, where their
// end-of-test percentiles could not be.
type hdrPair struct {
	ack, e2e     *record.Locked
	ackIv, e2eIv *record.Locked // since the last cut

	mu      sync.Mutex // the cut's state: the ticker and settle both cut
	last    time.Time
	logs    [2]*record.LogWriter
	logBufs [2]*bytes.Buffer
	logErr  error
}

func newHDRPair(start time.Time) *hdrPair {
	h := &hdrPair{ack: record.NewLocked(), e2e: record.NewLocked(), ackIv: record.NewLocked(), e2eIv: record.NewLocked(), last: start}
	for i := range h.logs {
		h.logBufs[i] = &bytes.Buffer{}
		lw, err := record.NewLogWriter(h.logBufs[i], start)
		if err != nil {
			h.logErr = err
		}
		h.logs[i] = lw
	}
	return h
}

func (h *hdrPair) recordAck(d time.Duration) {
	if h != nil {
		h.ack.Record(d)
		h.ackIv.Record(d)
	}
}

func (h *hdrPair) recordE2E(d time.Duration) {
	if h != nil {
		h.e2e.Record(d)
		h.e2eIv.Record(d)
	}
}

// cut closes the interval since the last cut at now and appends it to
// both interval logs.
func (h *hdrPair) cut(now time.Time) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !now.After(h.last) {
		return
	}
	for i, l := range []*record.Locked{h.ackIv, h.e2eIv} {
		iv := l.Take()
		iv.SetStartTimeMs(h.last.UnixMilli())
		iv.SetEndTimeMs(now.UnixMilli())
		if h.logs[i] != nil {
			if err := h.logs[i].Write(iv, ""); err != nil && h.logErr == nil {
				h.logErr = err
			}
		}
	}
	h.last = now
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
			s.hdr.cut(now)
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

// hlogPath is where it writes an interval log: <dir>/k6.<twin>.<kind>.hlog.
func hlogPath(dir, twin, kind string) string {
	return filepath.Join(dir, fmt.Sprintf("k6.%s.%s.hlog", twin, kind))
}

// write cuts the last interval and writes the .hgrm totals and the .hlog
// interval logs.
func (h *hdrPair) write(dir, twin string) error {
	if h == nil {
		return nil
	}
	h.cut(time.Now())
	var errs []error
	for kind, l := range map[string]*record.Locked{"ack": h.ack, "e2e": h.e2e} {
		hist, _ := l.Snapshot()
		errs = append(errs, writeHgrm(hgrmPath(dir, twin, kind), hist))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	errs = append(errs, h.logErr)
	for i, kind := range []string{"ack", "e2e"} {
		errs = append(errs, os.WriteFile(hlogPath(dir, twin, kind), h.logBufs[i].Bytes(), 0o644))
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
