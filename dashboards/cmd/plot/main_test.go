package main

import (
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRender draws a small results folder in the formats edabench writes
// and checks the SVG is well-formed XML with a series per twin and panel
// and the fault window shaded.
func TestRender(t *testing.T) {
	dir := t.TempDir()
	csv := "t_s,twin,phase,offered,replies,errors,timeouts,dropped,ended,in_flight,ack_p50_ms,ack_p99_ms,e2e_p50_ms,e2e_p99_ms,queue_depth,lag_ms,faults\n"
	for _, tw := range []string{"rr", "eda"} {
		for s := 0; s < 6; s++ {
			rep, errs, ack := "100", "0", "12.5"
			if tw == "rr" && s >= 2 && s < 4 { // a gap: no replies
				rep, errs, ack = "0", "100", "0.000"
			}
			csv += strings.Join([]string{itoa(s), tw, "p", "100", rep, errs, "0", "0", rep, "1", "5", ack, "6", ack, "3", "1.0", ""}, ",") + "\n"
		}
	}
	sum := `{"run_id":"r1","started_at":"2026-11-26T00:00:00Z","scenario":{"name":"x","description":"d"},
	"environment":{"cpus":2,"cpu_model":"c"},
	"twins":{"rr":{"faults":[{"fault":"kill:inventory","start_s":2,"end_s":4}]},"eda":{"faults":[]}}}`
	if err := os.WriteFile(filepath.Join(dir, "timeseries.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "summary.json"), []byte(sum), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := render(&b, r, "note & <caption>"); err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		if _, err := d.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("SVG is not well-formed: %v\n%s", err, svg)
		}
	}
	// rr's latency panels break at the gap: two polylines each; eda one.
	if n := strings.Count(svg, `stroke="`+colors["rr"]+`" stroke-width="2"`); n < 2*2+2 {
		t.Errorf("rr: %d polylines, want its two latency panels split by the gap plus depth and errors", n)
	}
	if !strings.Contains(svg, "kill:inventory") || !strings.Contains(svg, `fill="#d62728" fill-opacity="0.10"`) {
		t.Errorf("fault window not shaded")
	}
}

func itoa(i int) string { return string(rune('0' + i)) }
