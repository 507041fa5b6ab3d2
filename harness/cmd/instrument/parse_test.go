package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/targets/eda"
)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

// ghz-report.json is a real 500/s run (details trimmed): 8 calls failed
// because ghz closed its connections when -z ran out.
func TestParseGhz(t *testing.T) {
	r, err := parseGhz(readFixture(t, "ghz-report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 2213 || r.CutOff != 8 || r.Errors != 0 || r.OK != 2205 || r.Samples != 2205 {
		t.Errorf("counts %+v: want 2213 requests, 8 cut off, 0 errors, 2205 ok", r)
	}
	if !near(r.P50Ms, 89.833404) || !near(r.P99Ms, 257.572111) {
		t.Errorf("p50 %v p99 %v: want 89.833404 and 257.572111 ms", r.P50Ms, r.P99Ms)
	}
	if r.Seconds < 5 || r.Seconds > 6 || r.Corrected {
		t.Errorf("seconds %v corrected %v: want about 5 s, uncorrected", r.Seconds, r.Corrected)
	}
}

func TestParseGhzErrors(t *testing.T) {
	r, err := parseGhz(readFixture(t, "ghz-errors.json"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Errors != 3 || r.CutOff != 2 || r.OK != 95 {
		t.Errorf("%+v: want 3 errors (deadline), 2 cut off, 95 ok", r)
	}
	if !near(r.AchievedRPS(), 47.5) || !near(r.ErrorRate(), 3.0/98) {
		t.Errorf("achieved %v error rate %v: want 47.5/s and 3/98", r.AchievedRPS(), r.ErrorRate())
	}
	if !near(r.P99Ms, 1500) {
		t.Errorf("p99 %v: want 1500 ms", r.P99Ms)
	}
}

func TestParseGhzBad(t *testing.T) {
	for name, in := range map[string]string{"not JSON": "ghz: error", "no calls": `{"count": 0}`} {
		if _, err := parseGhz([]byte(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// k6-summary.json is a real constant-arrival-rate run of fidelity.js with
// the gateway frozen: k6 ran out of VUs and dropped 225 iterations.
func TestParseK6(t *testing.T) {
	r, err := parseK6(readFixture(t, "k6-summary.json"), 10, true)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 1773 || r.OK != 1773 || r.Dropped != 225 || r.Errors != 225 || r.Samples != 1773 {
		t.Errorf("counts %+v: want 1773 placed and ok, 225 dropped (counted as errors), 1773 samples", r)
	}
	if !near(r.P99Ms, 973.9486059999999) || !near(r.P50Ms, 16.721013) {
		t.Errorf("p50 %v p99 %v", r.P50Ms, r.P99Ms)
	}
	if !near(r.AchievedRPS(), 177.3) {
		t.Errorf("achieved %v: want 177.3/s", r.AchievedRPS())
	}
}

func TestParseK6NoP99(t *testing.T) {
	if r, err := parseK6(readFixture(t, "k6-no-p99.json"), 10, false); err != nil || r.Requests != 10 {
		t.Errorf("without needP99: %+v, %v; want 10 requests, no error", r, err)
	}
	_, err := parseK6(readFixture(t, "k6-no-p99.json"), 10, true)
	if err == nil || !strings.Contains(err.Error(), "summaryTrendStats") {
		t.Errorf("err %v: want one naming summaryTrendStats", err)
	}
	// trends: false (the soak with HDR): the quantile gauges stand in.
	if r, err := parseK6(readFixture(t, "k6-hdr-gauges.json"), 60, true); err != nil || r.P50Ms != 4.127 || r.P99Ms != 17.535 || r.Requests != 3000 || r.Samples != 2998 || r.Errors != 2 {
		t.Errorf("gauges: %+v, %v", r, err)
	}
	if _, err := parseK6([]byte(`{"metrics":{}}`), 10, false); err == nil || !strings.Contains(err.Error(), "eda_ack_duration") {
		t.Errorf("err %v: want one naming eda_ack_duration", err)
	}
}

func TestFromEdabench(t *testing.T) {
	r, tw, err := fromEdabench(readFixture(t, "edabench-summary.json"), "rr")
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 1996 || r.OK != 1996 || r.Errors != 0 || !near(r.P99Ms, 1091.583) || r.Samples != 1996 || !r.Corrected {
		t.Errorf("%+v", r)
	}
	if tw.AckUncorrected.P50 != 13.543 {
		t.Errorf("uncorrected p50 %v", tw.AckUncorrected.P50)
	}
	if _, _, err := fromEdabench(readFixture(t, "edabench-summary.json"), "eda"); err == nil {
		t.Error("no error for a twin the summary lacks")
	}
}

func TestImpliedQuantile(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		q                    float64
		run, freeze, service time.Duration
		want                 time.Duration
	}{
		{0.99, 10 * time.Second, time.Second, 5 * ms, 905 * ms},  // the case
		{0.50, 10 * time.Second, time.Second, 5 * ms, 5 * ms},    // half the run is far from the freeze
		{0.95, 10 * time.Second, time.Second, 0, 500 * ms},       // 5% of 10 s into a 1 s freeze
		{0.99, 100 * time.Second, time.Second, 2 * ms, 2 * ms},   // 1% of 100 s is the whole freeze
		{0.999, 60 * time.Second, 2 * time.Second, 0, 1940 * ms}, // 0.1% of 60 s = 60 ms
		{0.99, 10 * time.Second, 0, 7 * ms, 7 * ms},              // no freeze
	} {
		if got := impliedQuantile(c.q, c.run, c.freeze, c.service); (got - c.want).Abs() > time.Microsecond {
			t.Errorf("impliedQuantile(%v, %v, %v, %v) = %v, want %v", c.q, c.run, c.freeze, c.service, got, c.want)
		}
	}
}

func TestHeld(t *testing.T) {
	ok := toolResult{OK: 960, Errors: 5, Seconds: 1}
	if !held(1000, ok) {
		t.Error("96% achieved, 0.5% errors: should hold")
	}
	if held(1000, toolResult{OK: 940, Seconds: 1}) {
		t.Error("94% achieved: should not hold")
	}
	if held(1000, toolResult{OK: 990, Errors: 20, Seconds: 1}) {
		t.Error("2% errors: should not hold")
	}
}

// The chain of four steps: OrderPlaced, three step events and
// OrderCompleted are published; each step event also reaches the
// gateway's projector; the harness subscribes to OrderCompleted.
func TestMessagesPerOrder(t *testing.T) {
	pub, del := messagesPerOrder(eda.DefaultConfig())
	if pub != 5 || del != 9 {
		t.Errorf("chain: %d publishes, %d deliveries; want 5 and 9", pub, del)
	}
	cfg := eda.DefaultConfig()
	cfg.Steps = 1
	if pub, del := messagesPerOrder(cfg); pub != 2 || del != 3 {
		t.Errorf("payment only: %d publishes, %d deliveries; want 2 (placed, completed) and 3", pub, del)
	}
}

func TestParseParts(t *testing.T) {
	got, err := parseParts("3, 1,3")
	if err != nil || len(got) != 2 || got[0] != 1 || got[1] != 3 {
		t.Errorf("parseParts = %v, %v; want [1 3]", got, err)
	}
	for _, bad := range []string{"", "0", "7", "1,x"} {
		if _, err := parseParts(bad); err == nil {
			t.Errorf("parseParts(%q): no error", bad)
		}
	}
}
