package eda

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/edabench/edabench/harness/record"
)

// hdrPair records the ack and end-to-end latencies in fixed-memory HDR
// histograms with the harness's geometry (microseconds, 1 us to 1 h, 3
// significant digits), so the .hgrm files compare line for line with the
// harness's. k6's own Trend keeps every sample; these do not grow.
type hdrPair struct {
	mu       sync.Mutex
	ack, e2e *hdrhistogram.Histogram
}

func newHDRPair() *hdrPair {
	return &hdrPair{ack: record.NewHistogram(), e2e: record.NewHistogram()}
}

func clampUS(d time.Duration) int64 {
	return min(max(int64(d/time.Microsecond), record.LowestValue), record.HighestValue)
}

func (h *hdrPair) recordAck(d time.Duration) {
	if h == nil {
		return
	}
	h.mu.Lock()
	_ = h.ack.RecordValue(clampUS(d))
	h.mu.Unlock()
}

func (h *hdrPair) recordE2E(d time.Duration) {
	if h == nil {
		return
	}
	h.mu.Lock()
	_ = h.e2e.RecordValue(clampUS(d))
	h.mu.Unlock()
}

// hgrmPath is where the HDR option writes a histogram: <dir>/k6.<twin>.<kind>.hgrm.
func hgrmPath(dir, twin, kind string) string {
	return filepath.Join(dir, fmt.Sprintf("k6.%s.%s.hgrm", twin, kind))
}

func (h *hdrPair) write(dir, twin string) error {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var errs []error
	for kind, hist := range map[string]*hdrhistogram.Histogram{"ack": h.ack, "e2e": h.e2e} {
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
