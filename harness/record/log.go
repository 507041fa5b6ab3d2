package record

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// hgrmTicksPerHalfDistance is the percentile resolution of HdrHistogram's
// usual .hgrm reports (HistogramLogProcessor's default).
const hgrmTicksPerHalfDistance = 5

// LogWriter writes an HdrHistogram interval log (.hlog, format version 1.3)
// with timestamps relative to a base time, as Java's HistogramLogWriter does.
// It is not safe for concurrent use.
//
// It writes the header and interval lines itself rather than through the
// library's HistogramLogWriter, which (v1.4.0) truncates #[StartTime] and
// #[BaseTime] to whole seconds while offsetting interval timestamps by the
// full millisecond base time, so a reader would misplace every interval by up
// to 999 ms; it also fixes the Interval_Max column's unit at nanoseconds
// (divides by 1e6, with no exported way to change it), which for microsecond
// histograms would report seconds. The payloads are the library's own V2
// encoding.
type LogWriter struct {
	w      io.Writer
	baseMs int64
	enc    encoder
	line   []byte
}

// NewLogWriter writes the log header to w. start becomes both the log's
// StartTime and its BaseTime: interval timestamps are written as seconds
// since start, so intervals must not begin before it.
func NewLogWriter(w io.Writer, start time.Time) (*LogWriter, error) {
	ms := start.UnixMilli()
	secs := formatSeconds(ms)
	// One Write for the whole header keeps a partially written header from
	// looking like a valid log.
	header := "#[Logged with edabench]\n" +
		"#[Histogram log format version " + hdrhistogram.HISTOGRAM_LOG_FORMAT_VERSION + "]\n" +
		"#[StartTime: " + secs + " (seconds since epoch), " +
		time.UnixMilli(ms).UTC().Format("Mon Jan 02 15:04:05 MST 2006") + "]\n" +
		"#[BaseTime: " + secs + " (seconds since epoch)]\n" +
		`"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"` + "\n"
	if _, err := io.WriteString(w, header); err != nil {
		return nil, fmt.Errorf("record: writing interval log header: %w", err)
	}
	return &LogWriter{w: w, baseMs: ms}, nil
}

// Write appends one interval line for h, using its start and end timestamps
// (as set by Recorder.Interval) and the given tag; h's own Tag is ignored. An
// empty tag writes an untagged line. Tags may not contain commas or
// whitespace, which delimit the line's fields.
func (l *LogWriter) Write(h *hdrhistogram.Histogram, tag string) error {
	if strings.ContainsAny(tag, ", \t\r\n") {
		// The library's own check (.[, \r\n].) misses delimiters at either end
		// of the tag, so it cannot be relied on.
		return fmt.Errorf("record: tag %q contains a comma or whitespace", tag)
	}
	start, end := h.StartTimeMs(), h.EndTimeMs()
	if start < l.baseMs {
		// A negative offset would be written as "-0.250", which the library's
		// reader (regexp [\d.]*) silently parses as +0.250.
		return fmt.Errorf("record: interval starts at %s, before the log's base time %s (see Recorder.SetStart)",
			time.UnixMilli(start).UTC().Format(time.RFC3339Nano), time.UnixMilli(l.baseMs).UTC().Format(time.RFC3339Nano))
	}
	if end < start {
		return fmt.Errorf("record: interval ends (%d ms) before it starts (%d ms)", end, start)
	}
	payload, err := l.enc.encode(h)
	if err != nil {
		return fmt.Errorf("record: encoding interval histogram: %w", err)
	}
	b := l.line[:0]
	if tag != "" {
		b = append(append(append(b, "Tag="...), tag...), ',')
	}
	b = append(append(b, formatSeconds(start-l.baseMs)...), ',')
	b = append(append(b, formatSeconds(end-start)...), ',')
	b = append(strconv.AppendFloat(b, float64(h.Max())/usPerMs, 'f', 3, 64), ',')
	b = append(append(b, payload...), '\n')
	l.line = b
	if _, err := l.w.Write(b); err != nil {
		return fmt.Errorf("record: writing interval log: %w", err)
	}
	return nil
}

// formatSeconds renders milliseconds as seconds with three decimals, the
// precision Java's HistogramLogWriter uses, without a float round trip.
func formatSeconds(ms int64) string {
	sign := ""
	if ms < 0 {
		sign, ms = "-", -ms
	}
	return fmt.Sprintf("%s%d.%03d", sign, ms/1000, ms%1000)
}

// WriteHgrm writes h's percentile distribution exactly as HdrHistogram
// Java's outputPercentileDistribution(out, 5, 1000.0) does: values in
// milliseconds, five ticks per half distance, the 100% line without the
// 1/(1-Percentile) column, and the Mean/Max/Buckets footer.
//
// The library's PercentilesPrint is not used: its header is tab-separated, its
// percentile column has 6 decimals instead of 12, its last line prints "inf",
// and for an empty histogram it prints a spurious 100% line.
func WriteHgrm(w io.Writer, h *hdrhistogram.Histogram) error {
	bw := bufio.NewWriter(w)
	sig := int(h.SignificantFigures())
	fmt.Fprintf(bw, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)")
	if h.TotalCount() > 0 {
		for _, b := range h.CumulativeDistributionWithTicks(hgrmTicksPerHalfDistance) {
			q := b.Quantile / 100
			v := float64(b.ValueAt) / usPerMs
			if b.Quantile == 100 {
				fmt.Fprintf(bw, "%12.*f %2.12f %10d\n", sig, v, q, b.Count)
			} else {
				fmt.Fprintf(bw, "%12.*f %2.12f %10d %14.2f\n", sig, v, q, b.Count, 1/(1-q))
			}
		}
	}
	buckets, subBuckets := bucketGeometry(h)
	fmt.Fprintf(bw, "#[Mean    = %12.*f, StdDeviation   = %12.*f]\n", sig, h.Mean()/usPerMs, sig, h.StdDev()/usPerMs)
	fmt.Fprintf(bw, "#[Max     = %12.*f, Total count    = %12d]\n", sig, float64(h.Max())/usPerMs, h.TotalCount())
	fmt.Fprintf(bw, "#[Buckets = %12d, SubBuckets     = %12d]\n", buckets, subBuckets)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("record: writing percentile distribution: %w", err)
	}
	return nil
}

// bucketGeometry recomputes the bucket and sub-bucket counts the .hgrm footer
// reports, which the library keeps unexported; it follows the same formulas
// as HdrHistogram's constructor.
func bucketGeometry(h *hdrhistogram.Histogram) (buckets, subBuckets int64) {
	sig := max(h.SignificantFigures(), 0)
	largestSingleUnit := 2 * math.Pow10(int(sig))
	subBucketCountMagnitude := max(int64(math.Ceil(math.Log2(largestSingleUnit))), 1)
	subBuckets = int64(1) << subBucketCountMagnitude
	unitMagnitude := max(int64(math.Floor(math.Log2(float64(max(h.LowestTrackableValue(), 1))))), 0)
	smallestUntrackable := subBuckets << unitMagnitude
	buckets = 1
	for smallestUntrackable <= h.HighestTrackableValue() {
		if smallestUntrackable > math.MaxInt64/2 {
			return buckets + 1, subBuckets
		}
		smallestUntrackable <<= 1
		buckets++
	}
	return buckets, subBuckets
}

// ReadLog decodes an interval log with the library's HistogramLogReader and
// returns the merge of all its intervals and, per tag, the merge of that
// tag's intervals; untagged intervals are under the empty tag. Each result
// carries the earliest start and latest end timestamp of its intervals. An
// empty log gives an empty total with the recorder's geometry.
func ReadLog(r io.Reader) (total *hdrhistogram.Histogram, byTag map[string]*hdrhistogram.Histogram, err error) {
	lr := hdrhistogram.NewHistogramLogReader(r)
	byTag = make(map[string]*hdrhistogram.Histogram)
	for n := 1; ; n++ {
		h, err := lr.NextIntervalHistogram()
		if err != nil {
			return nil, nil, fmt.Errorf("record: reading interval %d of log: %w", n, err)
		}
		if h == nil {
			break
		}
		tag := h.Tag()
		if total, err = mergeInterval(total, h); err != nil {
			return nil, nil, fmt.Errorf("record: interval %d: %w", n, err)
		}
		if byTag[tag], err = mergeInterval(byTag[tag], h); err != nil {
			return nil, nil, fmt.Errorf("record: interval %d (tag %q): %w", n, tag, err)
		}
		byTag[tag].SetTag(tag)
	}
	if total == nil {
		total = NewHistogram()
	}
	total.SetTag("")
	return total, byTag, nil
}

// mergeInterval adds src to dst (nil meaning empty) and returns the result,
// widening the geometry when src's range does not fit, since logs written by
// other tools need not share this package's geometry.
func mergeInterval(dst, src *hdrhistogram.Histogram) (*hdrhistogram.Histogram, error) {
	if dst == nil {
		return src.Clone(), nil
	}
	startMs := min(dst.StartTimeMs(), src.StartTimeMs())
	endMs := max(dst.EndTimeMs(), src.EndTimeMs())
	if !sameGeometry(dst, src) {
		wide := hdrhistogram.New(
			min(dst.LowestTrackableValue(), src.LowestTrackableValue()),
			max(dst.HighestTrackableValue(), src.HighestTrackableValue(), dst.Max(), src.Max()),
			int(max(dst.SignificantFigures(), src.SignificantFigures())))
		if dropped := wide.Merge(dst); dropped != 0 {
			return nil, fmt.Errorf("widening histogram dropped %d values", dropped)
		}
		wide.SetTag(dst.Tag())
		dst = wide
	}
	if dropped := dst.Merge(src); dropped != 0 {
		return nil, fmt.Errorf("merging interval dropped %d values", dropped)
	}
	dst.SetStartTimeMs(startMs)
	dst.SetEndTimeMs(endMs)
	return dst, nil
}

func sameGeometry(a, b *hdrhistogram.Histogram) bool {
	return a.LowestTrackableValue() == b.LowestTrackableValue() &&
		a.HighestTrackableValue() == b.HighestTrackableValue() &&
		a.SignificantFigures() == b.SignificantFigures()
}

// ReadIntervals decodes an interval log into its intervals, in file
// order, each stamped with its absolute start and end (BaseTime applied)
// and tagged as written.
func ReadIntervals(r io.Reader) ([]*hdrhistogram.Histogram, error) {
	lr := hdrhistogram.NewHistogramLogReader(r)
	var out []*hdrhistogram.Histogram
	for n := 1; ; n++ {
		h, err := lr.NextIntervalHistogram()
		if err != nil {
			return nil, fmt.Errorf("record: reading interval %d of log: %w", n, err)
		}
		if h == nil {
			return out, nil
		}
		out = append(out, h)
	}
}

// MergeInterval adds src to dst (nil meaning empty) and returns the
// result, spanning both intervals' times; histograms of another geometry
// (another tool's log) widen it rather than drop values.
func MergeInterval(dst, src *hdrhistogram.Histogram) (*hdrhistogram.Histogram, error) {
	return mergeInterval(dst, src)
}
