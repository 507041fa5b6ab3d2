package record

import (
	"bytes"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// testBaseMs has a millisecond part, which the library's own writer loses.
const testBaseMs = 1_700_000_000_123

func TestLogRoundTrip(t *testing.T) {
	testBase := time.UnixMilli(testBaseMs)
	tags := []string{"", "A", "orders.v2"}
	recs := make(map[string]*Recorder)
	shards := make(map[string]*Shard)
	for _, tag := range tags {
		recs[tag] = New(tag)
		recs[tag].SetStart(testBase)
		shards[tag] = recs[tag].Shard()
	}

	var log bytes.Buffer
	lw, err := NewLogWriter(&log, testBase)
	if err != nil {
		t.Fatal(err)
	}
	now := testBase
	for i := range 5 {
		// Uneven intervals, as a ticker delivers them.
		now = now.Add(time.Second + time.Duration(i*7)*time.Millisecond)
		for k, tag := range tags {
			for j := range 200 * (k + 1) {
				shards[tag].Record(time.Duration((i+1)*(j+1)*(k+3)) * 37 * time.Microsecond)
			}
			if err := lw.Write(recs[tag].Interval(now), tag); err != nil {
				t.Fatal(err)
			}
		}
	}

	total, byTag, err := ReadLog(bytes.NewReader(log.Bytes()))
	if err != nil {
		t.Fatalf("ReadLog: %v\nlog:\n%s", err, log.String())
	}
	want := NewHistogram()
	for _, tag := range tags {
		want.Merge(recs[tag].Total())
	}
	if total.TotalCount() != want.TotalCount() || !total.Equals(want) {
		t.Errorf("read total holds %d values, wrote %d (counts equal: %v)",
			total.TotalCount(), want.TotalCount(), total.Equals(want))
	}
	if len(byTag) != len(tags) {
		t.Errorf("read %d tags, wrote %d", len(byTag), len(tags))
	}
	for _, tag := range tags {
		got, want := byTag[tag], recs[tag].Total()
		if got == nil {
			t.Errorf("tag %q missing", tag)
			continue
		}
		if !got.Equals(want) {
			t.Errorf("tag %q: read %d values, wrote %d", tag, got.TotalCount(), want.TotalCount())
		}
		if got.Tag() != tag {
			t.Errorf("tag %q came back tagged %q", tag, got.Tag())
		}
		// The library's reader truncates seconds*1000 to int64, so a read-back
		// timestamp can be one millisecond early.
		for _, ts := range []struct {
			name      string
			got, want int64
		}{{"start", got.StartTimeMs(), testBase.UnixMilli()}, {"end", got.EndTimeMs(), now.UnixMilli()}} {
			if ts.got != ts.want && ts.got != ts.want-1 {
				t.Errorf("tag %q: %s = %d ms, want %d", tag, ts.name, ts.got, ts.want)
			}
		}
	}
}

func TestLogFormat(t *testing.T) {
	testBase := time.UnixMilli(testBaseMs)
	var log bytes.Buffer
	lw, err := NewLogWriter(&log, testBase)
	if err != nil {
		t.Fatal(err)
	}
	h := NewHistogram()
	for _, us := range []int64{500, 1500, 2_500_000} {
		h.RecordValue(us)
	}
	h.SetStartTimeMs(testBase.UnixMilli() + 1_000)
	h.SetEndTimeMs(testBase.UnixMilli() + 2_004)
	if err := lw.Write(h, "A"); err != nil {
		t.Fatal(err)
	}
	if err := lw.Write(h, ""); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(log.String(), "\n"), "\n")
	patterns := []string{
		`^#\[Logged with edabench\]$`,
		`^#\[Histogram log format version 1\.3\]$`,
		`^#\[StartTime: 1700000000\.123 \(seconds since epoch\), Tue Nov 14 22:13:20 UTC 2023\]$`,
		`^#\[BaseTime: 1700000000\.123 \(seconds since epoch\)\]$`,
		`^"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"$`,
		// Seconds after BaseTime, length in seconds, max in milliseconds.
		`^Tag=A,1\.000,1\.004,2500\.607,HISTF[A-Za-z0-9+/=]+$`,
		`^1\.000,1\.004,2500\.607,HISTF[A-Za-z0-9+/=]+$`,
	}
	if len(lines) != len(patterns) {
		t.Fatalf("log has %d lines, want %d:\n%s", len(lines), len(patterns), log.String())
	}
	for i, p := range patterns {
		if !regexp.MustCompile(p).MatchString(lines[i]) {
			t.Errorf("line %d = %q, want match for %s", i+1, lines[i], p)
		}
	}
}

func TestLogWriterRejects(t *testing.T) {
	testBase := time.UnixMilli(testBaseMs)
	base := testBase.UnixMilli()
	tests := []struct {
		name       string
		tag        string
		start, end int64
	}{
		{"comma inside tag", "a,b", base, base + 1000},
		{"comma ending tag", "a,", base, base + 1000},
		{"comma alone", ",", base, base + 1000},
		{"space starting tag", " a", base, base + 1000},
		{"newline in tag", "a\nb", base, base + 1000},
		{"interval before base time", "", base - 1, base + 1000},
		{"unstamped interval", "", 0, 0},
		{"end before start", "", base + 1000, base + 999},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var log bytes.Buffer
			lw, err := NewLogWriter(&log, testBase)
			if err != nil {
				t.Fatal(err)
			}
			header := log.Len()
			h := NewHistogram()
			h.RecordValue(10)
			h.SetStartTimeMs(tc.start)
			h.SetEndTimeMs(tc.end)
			if err := lw.Write(h, tc.tag); err == nil {
				t.Errorf("Write accepted it, writing %q", log.String()[header:])
			}
			if log.Len() != header {
				t.Errorf("a rejected interval wrote %q", log.String()[header:])
			}
		})
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestLogWriterReportsWriteErrors(t *testing.T) {
	if _, err := NewLogWriter(failWriter{}, time.UnixMilli(testBaseMs)); err == nil {
		t.Error("NewLogWriter ignored the write error")
	}
	if err := WriteHgrm(failWriter{}, NewHistogram()); err == nil {
		t.Error("WriteHgrm ignored the write error")
	}
}

func TestReadLogEmptyAndBroken(t *testing.T) {
	var log bytes.Buffer
	if _, err := NewLogWriter(&log, time.UnixMilli(testBaseMs)); err != nil {
		t.Fatal(err)
	}
	total, byTag, err := ReadLog(bytes.NewReader(log.Bytes()))
	if err != nil || total.TotalCount() != 0 || len(byTag) != 0 {
		t.Errorf("header-only log: total %v, %d tags, err %v", total, len(byTag), err)
	}
	log.WriteString("1.000,1.000,0.010,HISTFAAAnotbase64!\n")
	if _, _, err := ReadLog(bytes.NewReader(log.Bytes())); err == nil {
		t.Error("ReadLog accepted a corrupt payload")
	}
}

// These lines were written by jHiccup (HdrHistogram Java) and ship with
// hdrhistogram-go as test/tagged-Log.logV2.hlog: no BaseTime, values in
// nanoseconds, so a geometry other than this package's.
const javaLog = `#[Logged with jHiccup version 2.0.7-SNAPSHOT, manually edited to duplicate contents with Tag=A]
#[Histogram log format version 1.2]
#[StartTime: 1441812279.474 (seconds since epoch), Wed Sep 09 08:24:39 PDT 2015]
"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"
0.127,1.007,2.769,HISTFAAAAEV42pNpmSzMwMCgyAABTBDKT4GBgdnNYMcCBvsPEBEJISEuATEZMQ4uASkhIR4nrxg9v2lMaxhvMekILGZkKmcCAEf2CsI=
Tag=A,0.127,1.007,2.769,HISTFAAAAEV42pNpmSzMwMCgyAABTBDKT4GBgdnNYMcCBvsPEBEJISEuATEZMQ4uASkhIR4nrxg9v2lMaxhvMekILGZkKmcCAEf2CsI=
1.134,0.999,0.442,HISTFAAAAEJ42pNpmSzMwMAgxwABTBDKT4GBgdnNYMcCBvsPEBEWLj45FTExAT4pBSEBKa6UkAgBi1uM7xjfMMlwMDABAC0CCjM=
Tag=A,1.134,0.999,0.442,HISTFAAAAEJ42pNpmSzMwMAgxwABTBDKT4GBgdnNYMcCBvsPEBEWLj45FTExAT4pBSEBKa6UkAgBi1uM7xjfMMlwMDABAC0CCjM=
2.133,1.001,0.426,HISTFAAAAD942pNpmSzMwMAgwwABTBDKT4GBgdnNYMcCBvsPEBE+Ph4OLgk5OSkeIS4+LgEeswIDo1+MbmdYNASYAA51CSo=
Tag=A,2.133,1.001,0.426,HISTFAAAAD942pNpmSzMwMAgwwABTBDKT4GBgdnNYMcCBvsPEBE+Ph4OLgk5OSkeIS4+LgEeswIDo1+MbmdYNASYAA51CSo=
`

func TestReadLogWrittenByJava(t *testing.T) {
	total, byTag, err := ReadLog(strings.NewReader(javaLog))
	if err != nil {
		t.Fatal(err)
	}
	untagged, a := byTag[""], byTag["A"]
	if untagged == nil || a == nil || len(byTag) != 2 {
		t.Fatalf("tags read: %v", byTag)
	}
	if !untagged.Equals(a) {
		t.Error("the duplicated Tag=A intervals differ from the untagged ones")
	}
	if total.TotalCount() != 2*a.TotalCount() || a.TotalCount() == 0 {
		t.Errorf("total %d, tag A %d", total.TotalCount(), a.TotalCount())
	}
	// jHiccup's Interval_Max column is in milliseconds of nanosecond values.
	if got := float64(a.Max()) / 1e6; got < 2.768 || got > 2.772 {
		t.Errorf("max = %.3f ms, the log says 2.769", got)
	}
	if got, want := a.StartTimeMs(), int64(1441812279474+127); got < want-1 || got > want {
		t.Errorf("start = %d ms, want %d", got, want)
	}
}

func TestWriteHgrm(t *testing.T) {
	h := NewHistogram()
	for i := range 10_000 {
		h.RecordValue(int64(100 + i*3)) // 0.1 ms .. 30 ms
	}
	var out bytes.Buffer
	if err := WriteHgrm(&out, h); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if want := "       Value     Percentile TotalCount 1/(1-Percentile)"; lines[0] != want {
		t.Errorf("header = %q, want %q", lines[0], want)
	}
	if strings.Join(strings.Fields(lines[0]), " ") != "Value Percentile TotalCount 1/(1-Percentile)" || lines[1] != "" {
		t.Errorf("header lines = %q", lines[:2])
	}
	footer := lines[len(lines)-3:]
	for i, p := range []string{
		`^#\[Mean    = +[0-9.]+, StdDeviation   = +[0-9.]+\]$`,
		`^#\[Max     = +30\.[0-9]{3}, Total count    = +10000\]$`,
		`^#\[Buckets = +22, SubBuckets     = +2048\]$`,
	} {
		if !regexp.MustCompile(p).MatchString(footer[i]) {
			t.Errorf("footer line %q, want match for %s", footer[i], p)
		}
	}

	body := lines[2 : len(lines)-3]
	if len(body) < 20 {
		t.Fatalf("only %d percentile lines:\n%s", len(body), text)
	}
	row := regexp.MustCompile(`^ *([0-9]+\.[0-9]{3}) ([01]\.[0-9]{12}) +([0-9]+)(?: +([0-9]+\.[0-9]{2}))?$`)
	prevP, prevV := -1.0, -1.0
	for i, line := range body {
		m := row.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("line %q is not a percentile row", line)
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		p, _ := strconv.ParseFloat(m[2], 64)
		last := i == len(body)-1
		if p < prevP || v < prevV {
			t.Errorf("line %q goes backwards", line)
		}
		if last != (m[4] == "") {
			t.Errorf("line %q: only the 100%% line omits 1/(1-Percentile)", line)
		}
		if want := ValueAtPercentile(h, p*100); p > 0 && p < 1 && float64(want)/1000 != v {
			t.Errorf("line %q: value at that percentile is %.3f ms", line, float64(want)/1000)
		}
		prevP, prevV = p, v
	}
	if !strings.HasPrefix(strings.TrimSpace(body[len(body)-1]), "30.") || !strings.Contains(body[len(body)-1], " 1.000000000000      10000") {
		t.Errorf("last line %q, want the max at percentile 1 with the total count", body[len(body)-1])
	}
	if !strings.Contains(text, "      15.103 0.500000000000       5002           2.00\n") {
		t.Errorf("no exact 50%% line:\n%s", text)
	}
}

func TestWriteHgrmEmpty(t *testing.T) {
	var out bytes.Buffer
	if err := WriteHgrm(&out, NewHistogram()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[2], "#[Mean") || !strings.Contains(lines[3], "Total count    =            0]") {
		t.Errorf("empty histogram report:\n%s", out.String())
	}
}

// The footer's bucket geometry is recomputed here; the library's own report
// is the reference for it.
func TestBucketGeometryMatchesLibrary(t *testing.T) {
	tests := []struct {
		low, high int64
		sig       int
	}{
		{LowestValue, HighestValue, SigFigs},
		{1, 1000, 1},
		{1000, 3_600_000_000_000, 2},
		{1, 1 << 62, 5},
		{7, 99, 3},
	}
	footer := regexp.MustCompile(`#\[Buckets = +([0-9]+), SubBuckets += +([0-9]+)\]`)
	for _, tc := range tests {
		h := hdrhistogram.New(tc.low, tc.high, tc.sig)
		var lib bytes.Buffer
		if _, err := h.PercentilesPrint(&lib, 1, 1); err != nil {
			t.Fatal(err)
		}
		m := footer.FindStringSubmatch(lib.String())
		if m == nil {
			t.Fatalf("no footer in %q", lib.String())
		}
		b, s := bucketGeometry(h)
		if strconv.FormatInt(b, 10) != m[1] || strconv.FormatInt(s, 10) != m[2] {
			t.Errorf("New(%d, %d, %d): buckets %d, sub-buckets %d; library says %s, %s",
				tc.low, tc.high, tc.sig, b, s, m[1], m[2])
		}
	}
}
