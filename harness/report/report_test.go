package report

import (
	"encoding/json"
	"errors"
	"github.com/edabench/edabench/harness/results"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fixture copies testdata/crash (a trimmed failure-crash run of both
// twins) into a fresh results folder and returns the run folder, so a
// test may change it.
func fixture(t *testing.T) string {
	t.Helper()
	results := t.TempDir()
	dir := filepath.Join(results, "20261126-090721-rr-eda-failure-crash")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir("testdata/crash")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join("testdata/crash", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// editSummary rewrites dir/summary.json through f.
func editSummary(t *testing.T, dir string, f func(m map[string]any)) {
	t.Helper()
	p := filepath.Join(dir, "summary.json")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	data, _ = json.Marshal(m)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestParseHgrm(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    []hgrmPoint
		wantErr string
	}{
		{"rows, header and footer", `       Value     Percentile TotalCount 1/(1-Percentile)

       3.515 0.000000000000          1           1.00
       9.567 0.500000000000        495           2.00
      57.855 1.000000000000        990
#[Mean    =       10.708, StdDeviation   =        5.335]
#[Max     =       57.855, Total count    =          990]
`, []hgrmPoint{{3.515, 0, 1}, {9.567, 0.5, 495}, {57.855, 1, 990}}, ""},
		{"empty histogram", "       Value     Percentile TotalCount 1/(1-Percentile)\n\n#[Mean    =        0.000, StdDeviation   =        0.000]\n", nil, ""},
		{"empty file", "", nil, ""},
		{"truncated row", "   3.515 0.0000\n", nil, "line 1"},
		{"not numbers", "   abc 0.5 10 2.00\n", nil, "want value, percentile"},
		{"percentile out of range", "   3.5 1.5 10\n", nil, "percentile (0..1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseHgrm(strings.NewReader(tt.text))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseHgrm = %v, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("parseHgrm = %v; want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("row %d = %+v; want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestParseHgrmFixture(t *testing.T) {
	f, err := os.Open("testdata/crash/eda.e2e.hgrm")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pts, err := parseHgrm(f)
	if err != nil {
		t.Fatal(err)
	}
	last := pts[len(pts)-1]
	if len(pts) < 50 || last.percentile != 1 || last.count != 7104 {
		t.Fatalf("%d rows, last %+v; want > 50 rows ending at percentile 1 with 7104 values", len(pts), last)
	}
	for i := 1; i < len(pts); i++ {
		if pts[i].valueMs < pts[i-1].valueMs || pts[i].percentile < pts[i-1].percentile {
			t.Fatalf("row %d (%+v) below row %d (%+v): a distribution only rises", i, pts[i], i-1, pts[i-1])
		}
	}
}

// A second with no replies has percentiles of 0: a gap in the chart, not
// a zero latency.
func TestPoints(t *testing.T) {
	ts, err := results.DecodeTimeseries(strings.NewReader("t_s,twin,replies,e2e_p99_ms\n0,rr,194,25.8\n1,rr,0,0.000\n"))
	if err != nil {
		t.Fatal(err)
	}
	pts := points(ts, "rr", "e2e_p99_ms", true)
	if len(pts) != 2 || pts[0].y != 25.8 || !math.IsNaN(pts[1].y) {
		t.Errorf("rr e2e p99 points = %v; want [{0 25.8} {1 NaN}]", pts)
	}
	if pts := points(ts, "rr", "replies", false); len(pts) != 2 || pts[1].y != 0 {
		t.Errorf("rr replies points = %v; want a 0 kept", pts)
	}
	if points(ts, "eda", "replies", false) != nil || points(ts, "rr", "lag_ms", false) != nil {
		t.Error("points of a missing twin or column: want nil")
	}
}

func values(ts []tick) []float64 {
	var out []float64
	for _, t := range ts {
		out = append(out, t.v)
	}
	return out
}

func labels(ts []tick) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.label)
	}
	return out
}

func near(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-9*math.Max(1, math.Abs(b[i])) {
			return false
		}
	}
	return true
}

func TestLogTicks(t *testing.T) {
	tests := []struct {
		min, max   float64
		lo, hi     float64
		wantLabels []string
	}{
		{3.2, 10420, 1, 1e5, []string{"1", "10", "100", "1k", "10k", "100k"}},
		{1.7, 527, 1, 1000, []string{"1", "10", "100", "1000"}},
		// Two decades or fewer: 2 and 5 are labelled too.
		{12, 800, 10, 1000, []string{"10", "20", "50", "100", "200", "500", "1000"}},
		{0.05, 0.9, 0.01, 1, []string{"0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1"}},
		// Exactly on a decade: no extra decade either side.
		{10, 1000, 10, 1000, []string{"10", "20", "50", "100", "200", "500", "1000"}},
		{1, 3.6e6, 1, 1e7, []string{"1", "10", "100", "1k", "10k", "100k", "1M", "10M"}},
		{5, 5, 1, 10, []string{"1", "2", "5", "10"}},
	}
	for _, tt := range tests {
		lo, hi, ticks := logTicks(tt.min, tt.max)
		if !near([]float64{lo, hi}, []float64{tt.lo, tt.hi}) || strings.Join(labels(ticks), " ") != strings.Join(tt.wantLabels, " ") {
			t.Errorf("logTicks(%v, %v) = %v, %v, %q; want %v, %v, %q", tt.min, tt.max, lo, hi, labels(ticks), tt.lo, tt.hi, tt.wantLabels)
		}
	}
}

func TestLinearTicks(t *testing.T) {
	tests := []struct {
		min, max float64
		n        int
		want     []float64
	}{
		{0, 250, 5, []float64{0, 50, 100, 150, 200, 250}},
		{0, 223, 5, []float64{0, 50, 100, 150, 200, 250}},
		{0, 3870, 5, []float64{0, 1000, 2000, 3000, 4000}},
		{0.2, 0.9, 5, []float64{0.2, 0.4, 0.6, 0.8, 1}},
		{0, 0, 5, []float64{0, 0.2, 0.4, 0.6, 0.8, 1}},
		{7, 7, 5, []float64{2, 4, 6, 8, 10, 12}},
	}
	for _, tt := range tests {
		lo, hi, ticks := linearTicks(tt.min, tt.max, tt.n)
		if !near(values(ticks), tt.want) || lo > tt.min || hi < tt.max {
			t.Errorf("linearTicks(%v, %v) = %v..%v %v; want ticks %v covering the range", tt.min, tt.max, lo, hi, values(ticks), tt.want)
		}
	}
	if _, _, ticks := linearTicks(0, 9000, 5); strings.Join(labels(ticks), " ") != "0 2k 4k 6k 8k 10k" {
		t.Errorf("labels %q: want one suffix across the axis", labels(ticks))
	}
	if _, _, ticks := linearTicks(0, 0.9, 5); strings.Join(labels(ticks), " ") != "0.0 0.2 0.4 0.6 0.8 1.0" {
		t.Errorf("labels %q: want one decimal for a step of 0.2", labels(ticks))
	}
}

func TestPercentileTicks(t *testing.T) {
	tests := []struct {
		maxX float64
		want []string
	}{
		{1024, []string{"0%", "90%", "99%", "99.9%"}},
		{8192, []string{"0%", "90%", "99%", "99.9%"}},
		{10000, []string{"0%", "90%", "99%", "99.9%", "99.99%"}},
		{2e5, []string{"0%", "90%", "99%", "99.9%", "99.99%", "99.999%"}},
		{3, []string{"0%", "90%", "99%"}}, // a tiny run still shows the first two nines
	}
	for _, tt := range tests {
		lo, hi, ticks := percentileTicks(tt.maxX)
		if lo != 1 || hi < tt.maxX || strings.Join(labels(ticks), " ") != strings.Join(tt.want, " ") {
			t.Errorf("percentileTicks(%v) = %v..%v %q; want 1..>=%v %q", tt.maxX, lo, hi, labels(ticks), tt.maxX, tt.want)
		}
	}
}

func TestScale(t *testing.T) {
	lin := scale{min: 0, max: 100, lo: 50, hi: 550}
	log := scale{log: true, min: 1, max: 1000, lo: 300, hi: 0}
	tests := []struct {
		s    scale
		v    float64
		want float64
	}{
		{lin, 0, 50}, {lin, 50, 300}, {lin, 100, 550},
		{log, 1, 300}, {log, 10, 200}, {log, 100, 100}, {log, 1000, 0},
	}
	for _, tt := range tests {
		if got := tt.s.px(tt.v); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("%+v.px(%v) = %v; want %v", tt.s, tt.v, got, tt.want)
		}
	}
	if log.valid(0) || log.valid(-1) || !log.valid(0.5) || lin.valid(math.NaN()) {
		t.Error("valid: a log scale has no place for 0 or less, no scale for NaN")
	}
}

func TestSegmentsBreakAtGaps(t *testing.T) {
	xs := scale{min: 0, max: 10, lo: 0, hi: 100}
	ys := scale{log: true, min: 1, max: 100, lo: 100, hi: 0}
	pts := []point{{0, 10}, {1, 20}, {2, math.NaN()}, {3, 0}, {4, 5}, {5, 50}, {6, 60}}
	segs := segments(pts, xs, ys)
	if len(segs) != 2 || len(segs[0]) != 2 || len(segs[1]) != 3 {
		t.Fatalf("segments = %v; want [2 points] [3 points]: NaN and 0 (on a log scale) break the line", segs)
	}
}

func TestChartNoData(t *testing.T) {
	tests := []struct {
		name string
		c    chart
		want string
	}{
		{"no series", chart{id: "a", title: "A"}, ">no data<"},
		{"only gaps", chart{id: "b", title: "B", series: []series{{name: "rr", color: "#000", points: []point{{0, math.NaN()}}}}}, ">no data<"},
		{"a reason", chart{id: "c", title: "C", noData: "timeseries.csv missing"}, ">no data: timeseries.csv missing<"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.c.width, tt.c.height = 400, 300
			svg := tt.c.svg()
			if !strings.Contains(svg, tt.want) || strings.Contains(svg, "<polyline") || !strings.HasPrefix(svg, "<svg") {
				t.Fatalf("svg = %s\nwant a frame saying %q and no line", svg, tt.want)
			}
		})
	}
}

func TestChartLogAxisChosenBySpan(t *testing.T) {
	mk := func(lo, hi float64) *chart {
		return &chart{id: "x", width: 400, height: 300, logAbove: 100, y: axisSpec{label: "ms"},
			series: []series{{name: "rr", color: "#000", points: []point{{0, lo}, {1, hi}}}}}
	}
	narrow, wide := mk(5, 400), mk(5, 9000)
	narrow.setLogNote()
	wide.setLogNote()
	if narrow.note != "" || !strings.Contains(wide.note, "log scale") {
		t.Fatalf("notes %q, %q: want linear for 5..400, log for 5..9000", narrow.note, wide.note)
	}
	if !strings.Contains(wide.svg(), ">10k<") {
		t.Error("the log chart has no 10k tick")
	}
}

// svgCharts returns each chart's SVG from the page.
var svgChart = regexp.MustCompile(`(?s)<svg class="chart".*?</svg>`)

func TestWrite(t *testing.T) {
	tests := []struct {
		name      string
		prepare   func(t *testing.T, dir string) (arg string, opts Options)
		wantIn    []string
		wantNotIn []string
		lines     int // charts that must have a line
		noData    int // charts that must say "no data"
	}{
		{
			name:    "both twins with a fault",
			prepare: func(t *testing.T, dir string) (string, Options) { return dir, Options{} },
			wantIn: []string{"failure-crash", "20261126-090721-rr-eda-failure-crash", "Inventory killed for 10 s",
				"Fault windows", "kill:inventory", "6,981", "Unavailable 2,434", "indeterminate completed", "#1864ab", "#e8590c",
				"99.9%", "Latency by percentile", "max_in_flight&#34;: 1024", "backbone rabbitmq 3.10.8"},
			// A run from before the host columns: no host section, no amber.
			wantNotIn: []string{"PARTIAL RUN", ">Verdict<", "no data", "Host interference", `class="band host"`},
			lines:     8,
		},
		{
			name: "host steal recorded",
			prepare: func(t *testing.T, dir string) (string, Options) {
				withStealColumns(t, dir, "eda", 3, 4)
				editSummary(t, dir, func(m map[string]any) {
					m["twins"].(map[string]any)["eda"].(map[string]any)["host"] = map[string]any{
						"seconds": 30, "steal_mean_pct": 2.1, "steal_max_pct": 25.0, "suspect_bound_pct": 10,
						"suspect_seconds": []any{map[string]any{"t_s": 3, "steal_pct": 25.0}, map[string]any{"t_s": 4, "steal_pct": 25.0}}}
				})
				return dir, Options{}
			},
			// rr has no host object: unknown, not zero. eda's seconds 3..4
			// are one amber band on each latency chart.
			wantIn: []string{"Host interference", "steal 25% (eda)", `class="band host"`, "2 above 10%: s 3, 4", "unknown", "2.10", "25.00"},
			lines:  8,
		},
		{
			name: "through the latest symlink, with a verdict above",
			prepare: func(t *testing.T, dir string) (string, Options) {
				copyFile(t, "testdata/verdict.json", filepath.Join(filepath.Dir(dir), "verdict.json"))
				link := filepath.Join(filepath.Dir(dir), "latest")
				if err := os.Symlink(filepath.Base(dir), link); err != nil {
					t.Fatal(err)
				}
				return link, Options{}
			},
			wantIn: []string{">Verdict<", "../verdict.json", `class="pill good">holds`, `class="pill bad">does not hold`,
				`class="pill warn">inconclusive`, "no status", `<span class="this-run">20261126-090721-rr-eda-failure-crash</span>`,
				"https&#58;//example.org"},
			lines: 8,
		},
		{
			name: "explicit verdict",
			prepare: func(t *testing.T, dir string) (string, Options) {
				return dir, Options{Verdict: "testdata/verdict.json"}
			},
			wantIn: []string{">Verdict<", "EDA keeps accepting orders"},
			lines:  8,
		},
		{
			name: "a verdict matrix: claim x backbone, each cell with its figures and intervals",
			prepare: func(t *testing.T, dir string) (string, Options) {
				return dir, Options{Verdict: "testdata/verdict-matrix.json"}
			},
			wantIn: []string{">Claim × backbone<", "<th>rabbitmq 3.10.8</th><th>kafka 4.4.0</th>",
				`class="pill good">holds</span><br><span class="fig">rr_e2e_p50_ms 9.8 [9.6, 10.1] (n=3, 75%)</span>`,
				`class="pill warn">inconclusive (single run)</span><br><span class="fig">eda_e2e_p99_ms 80 (n=1)</span>`,
				`class="pill neutral">not measured</span>`, "holds (single run) (RR only)",
				">The claims, per backbone<", "<td>kafka</td>", "not measured on kafka: no spike run among the inputs"},
			lines: 8,
		},
		{
			name: "partial",
			prepare: func(t *testing.T, dir string) (string, Options) {
				editSummary(t, dir, func(m map[string]any) {
					m["partial"] = true
					m["partial_reason"] = "interrupted at 12 s"
				})
				return dir, Options{}
			},
			wantIn: []string{`id="partial"`, "PARTIAL RUN", "interrupted at 12 s"},
			lines:  8,
		},
		{
			name: "one twin",
			prepare: func(t *testing.T, dir string) (string, Options) {
				editSummary(t, dir, func(m map[string]any) { delete(m["twins"].(map[string]any), "rr") })
				return dir, Options{}
			},
			wantIn:    []string{"#e8590c", "kill:inventory"},
			wantNotIn: []string{"#1864ab", "no data"},
			lines:     8,
		},
		{
			name: "a third twin gets its own colour",
			prepare: func(t *testing.T, dir string) (string, Options) {
				editSummary(t, dir, func(m map[string]any) {
					tw := m["twins"].(map[string]any)
					tw["hybrid"] = tw["eda"]
				})
				for _, m := range metrics {
					copyFile(t, filepath.Join(dir, "eda."+m+".hgrm"), filepath.Join(dir, "hybrid."+m+".hgrm"))
				}
				return dir, Options{}
			},
			wantIn: []string{"#1864ab", "#e8590c", "#2b8a3e", "hybrid ack"},
			lines:  8,
		},
		{
			name: "only summary.json",
			prepare: func(t *testing.T, dir string) (string, Options) {
				for _, pat := range []string{"*.hgrm", "timeseries.csv"} {
					ms, _ := filepath.Glob(filepath.Join(dir, pat))
					for _, m := range ms {
						os.Remove(m)
					}
				}
				return dir, Options{}
			},
			wantIn: []string{"Not everything could be read", "no data: timeseries.csv missing", "no data: no ack .hgrm file", "Fault windows"},
			noData: 8,
		},
		{
			name: "timeseries without the queue and latency columns",
			prepare: func(t *testing.T, dir string) (string, Options) {
				os.WriteFile(filepath.Join(dir, "timeseries.csv"), []byte("t_s,twin,offered,replies\n0,rr,10,10\n1,rr,10,9\n0,eda,10,10\n"), 0o644)
				return dir, Options{}
			},
			wantIn: []string{"no data: timeseries.csv has no queue_depth column", "no data: timeseries.csv has no errors, timeouts, dropped column"},
			lines:  3, // the spectra and the rates
			noData: 5,
		},
		{
			name: "a broken verdict beside the run is a warning",
			prepare: func(t *testing.T, dir string) (string, Options) {
				os.WriteFile(filepath.Join(dir, "verdict.json"), []byte("{not json"), 0o644)
				return dir, Options{}
			},
			wantIn:    []string{"Not everything could be read", "verdict.json"},
			wantNotIn: []string{">Verdict<"},
			lines:     8,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := fixture(t)
			arg, opts := tt.prepare(t, dir)
			opts.Now = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
			res, err := Write(arg, opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.Path != filepath.Join(dir, FileName) {
				t.Errorf("path %s; want %s", res.Path, filepath.Join(dir, FileName))
			}
			data, err := os.ReadFile(res.Path)
			if err != nil {
				t.Fatal(err)
			}
			page := string(data)
			for _, s := range []string{"http://", "https://", "HTTP://", "<script", "<link", "@import", "url(http", "src="} {
				if strings.Contains(page, s) {
					t.Errorf("the page contains %q: it must be self-contained, with no link outside it", s)
				}
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(page, s) {
					t.Errorf("the page lacks %q", s)
				}
			}
			for _, s := range tt.wantNotIn {
				if strings.Contains(page, s) {
					t.Errorf("the page contains %q", s)
				}
			}
			charts := svgChart.FindAllString(page, -1)
			lines, noData := 0, 0
			for _, c := range charts {
				if strings.Contains(c, "<polyline") {
					lines++
				}
				if strings.Contains(c, `class="nodata"`) {
					noData++
				}
			}
			if len(charts) != 8 || lines != tt.lines || noData != tt.noData {
				t.Errorf("%d charts, %d with lines, %d saying no data; want 8, %d, %d", len(charts), lines, noData, tt.lines, tt.noData)
			}
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestWriteRejectsBadInput(t *testing.T) {
	empty := t.TempDir()
	file := filepath.Join(empty, "summary.json")
	os.WriteFile(file, []byte("{}"), 0o644)
	broken := t.TempDir()
	os.WriteFile(filepath.Join(broken, "summary.json"), []byte("{oops"), 0o644)
	good := fixture(t)
	tests := []struct {
		name string
		dir  string
		opts Options
		want string
	}{
		{"no such folder", filepath.Join(empty, "nope"), Options{}, "want a folder written by edabench run"},
		{"a file", file, Options{}, "is not a folder"},
		{"no summary.json", t.TempDir(), Options{}, "is not a run folder: it has no summary.json"},
		{"broken summary.json", broken, Options{}, "want the summary.json edabench run writes"},
		{"missing verdict", good, Options{Verdict: filepath.Join(empty, "verdict.json")}, "--verdict"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Write(tt.dir, tt.opts)
			if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Write(%s) = %v; want ErrInput saying %q", tt.dir, err, tt.want)
			}
		})
	}
}

func TestFormatNumber(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{0, "0"}, {7104, "7,104"}, {-1234567, "-1,234,567"}, {202.87, "202.9"}, {9.567, "9.57"},
		{10052.4, "10,052"}, {0.0012, "0.0012"}, {math.NaN(), "—"},
	}
	for _, tt := range tests {
		if got := formatNumber(tt.v); got != tt.want {
			t.Errorf("formatNumber(%v) = %q; want %q", tt.v, got, tt.want)
		}
	}
}

func TestStatusClass(t *testing.T) {
	for status, want := range map[string]string{
		"holds": "good", "does not hold": "bad", "does_not_hold": "bad", "Inconclusive": "warn", "": "neutral", "maybe": "neutral",
	} {
		if got := statusClass(status); got != want {
			t.Errorf("statusClass(%q) = %q; want %q", status, got, want)
		}
	}
}

func TestDefang(t *testing.T) {
	got := string(defang([]byte(`see https://a.b and HTTP://c and httpx://d`)))
	if strings.Contains(strings.ToLower(got), "http://") || strings.Contains(got, "https://") || !strings.Contains(got, "httpx://d") {
		t.Fatalf("defang = %q", got)
	}
}

// withStealColumns appends the host columns to the fixture's
// timeseries.csv: 25% steal in twin's seconds from..to, 0.5% in its
// others, and empty (unknown) cells for every other twin.
func withStealColumns(t *testing.T, dir, twin string, from, to int) {
	t.Helper()
	p := filepath.Join(dir, "timeseries.csv")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	lines[0] += ",steal_pct,cpu_pressure_pct,cpu_pressure_avg10"
	for i, l := range lines[1:] {
		f := strings.Split(l, ",")
		sec, _ := strconv.Atoi(f[0])
		switch {
		case f[1] != twin:
			lines[i+1] += ",,,"
		case sec >= from && sec <= to:
			lines[i+1] += ",25.00,60.00,40.00"
		default:
			lines[i+1] += ",0.50,30.00,30.00"
		}
	}
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestNodeLine(t *testing.T) {
	if got := nodeLine(nil); got != "" {
		t.Errorf("nodeLine(nil) = %q, want empty", got)
	}
	d := &results.NodeDown{StopMs: 6100, AwayMs: 4700, ServingS: 20.9, DownMs: 10800, WindowMs: 5000, LateMs: 1200, StartMs: 4600,
		AcceptAfterMs: 400, CompleteAfterMs: -1}
	want := "node: stop 6.1 s (asked → gone), away 4.7 s (gone → serving at 20.9 s), down 10.8 s (asked → serving) = window 5.0 s + late 1.2 s + start 4.6 s; twin after serving: first accept 0.4 s, first completion never"
	if got := nodeLine(d); got != want {
		t.Errorf("nodeLine = %q\nwant       %q", got, want)
	}
}

// TestVerdictDeploymentColumns: a cluster's columns and cells are named
// with its size, as verdict.md names them; a verdict written before the
// field (nodes absent) reads as one node.
func TestVerdictDeploymentColumns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "verdict.json")
	data := `{"generated_at": "2026-12-05T09:00:00Z",
	 "backbones": [{"name": "rabbitmq", "versions": ["3.10.8"]}, {"name": "rabbitmq", "versions": ["3.10.8"], "nodes": 3, "profile": "datacenter"}],
	 "claims": [{"id": 5, "claim": "c", "cells": [{"backbone": "rabbitmq", "status": "holds"}, {"backbone": "rabbitmq", "nodes": 3, "profile": "datacenter", "status": "does not hold"}]}]}`
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := readVerdict(path)
	if err != nil {
		t.Fatal(err)
	}
	r := &run{verdict: v, vpath: path, dir: t.TempDir(), summary: results.Summary{}}
	view := r.verdictView()
	if got := strings.Join(view.Backbones, "|"); got != "rabbitmq 3.10.8|rabbitmq 3.10.8 x3 · datacenter" {
		t.Errorf("columns %q", got)
	}
	for i, want := range []string{"rabbitmq", "rabbitmq x3 · datacenter"} {
		if got := r.cellView(v.Claims[0].Cells[i]).Backbone; got != want {
			t.Errorf("cell %d: %q, want %q", i, got, want)
		}
	}
}
