package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// hgrmPoint is one row of an HdrHistogram percentile distribution.
type hgrmPoint struct {
	valueMs    float64
	percentile float64 // 0..1
	count      int64
}

// parseHgrm reads HdrHistogram's outputPercentileDistribution text (the
// .hgrm files): a header, one row per percentile step, and # footer lines.
// Rows it cannot read are an error, so a truncated or foreign file is not
// drawn as if it were whole.
func parseHgrm(r io.Reader) ([]hgrmPoint, error) {
	var pts []hgrmPoint
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") || strings.HasPrefix(s, "Value") {
			continue
		}
		f := strings.Fields(s)
		if len(f) < 3 {
			return nil, fmt.Errorf("line %d: %q: want value, percentile, total count", line, s)
		}
		v, err1 := strconv.ParseFloat(f[0], 64)
		p, err2 := strconv.ParseFloat(f[1], 64)
		n, err3 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || p < 0 || p > 1 {
			return nil, fmt.Errorf("line %d: %q: want value, percentile (0..1), total count", line, s)
		}
		pts = append(pts, hgrmPoint{valueMs: v, percentile: p, count: n})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return pts, nil
}
