package eda

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/edabench/edabench/harness/record"
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
