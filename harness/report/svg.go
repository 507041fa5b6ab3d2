package report

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// The charts are drawn here, in Go, as inline SVG: the report must open
// anywhere, offline, years later, with no script and no library to fetch.

// tick is one labelled position on an axis.
type tick struct {
	v     float64
	label string
}

// scale maps data values onto pixels, linearly or by log10. For a log
// scale min and max are positive.
type scale struct {
	log      bool
	min, max float64
	lo, hi   float64 // pixels of min and max
}

func (s scale) px(v float64) float64 {
	a, b, x := s.min, s.max, v
	if s.log {
		a, b, x = math.Log10(a), math.Log10(b), math.Log10(x)
	}
	if b == a {
		return (s.lo + s.hi) / 2
	}
	return s.lo + (x-a)/(b-a)*(s.hi-s.lo)
}

// valid says whether v can be placed on the scale at all.
func (s scale) valid(v float64) bool {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return false
	}
	return !s.log || v > 0
}

// niceStep rounds a raw step to 1, 2 or 5 times a power of ten, so tick
// labels are numbers a reader can add up at a glance.
func niceStep(raw float64) float64 {
	if raw <= 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	switch f := raw / p; {
	case f <= 1:
		return p
	case f <= 2:
		return 2 * p
	case f <= 5:
		return 5 * p
	default:
		return 10 * p
	}
}

// linearTicks widens [min, max] to whole steps and returns the domain and
// about n ticks across it.
func linearTicks(min, max float64, n int) (lo, hi float64, ticks []tick) {
	if max < min {
		min, max = max, min
	}
	if max == min {
		if min == 0 {
			max = 1
		} else {
			min, max = min-math.Abs(min)/2, max+math.Abs(max)/2
		}
	}
	step := niceStep((max - min) / float64(n))
	lo = math.Floor(min/step) * step
	hi = math.Ceil(max/step) * step
	decimals := 0
	if step < 1 {
		decimals = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	for i := 0; ; i++ {
		v := lo + float64(i)*step
		if v > hi+step/2 {
			break
		}
		ticks = append(ticks, tick{v, formatTick(v, hi, decimals)})
	}
	return lo, hi, ticks
}

// logTicks widens [min, max] (positive) to whole decades and labels each
// decade; across few decades 2 and 5 are labelled too, or the axis would
// carry only two or three numbers.
func logTicks(min, max float64) (lo, hi float64, ticks []tick) {
	if min <= 0 || math.IsNaN(min) {
		min = max / 1000
	}
	if max < min {
		max = min
	}
	d0 := math.Floor(math.Log10(min) + 1e-9)
	d1 := math.Ceil(math.Log10(max) - 1e-9)
	if d1 <= d0 {
		d1 = d0 + 1
	}
	lo, hi = math.Pow(10, d0), math.Pow(10, d1)
	mults := []float64{1}
	if d1-d0 <= 2 {
		mults = []float64{1, 2, 5}
	}
	for d := d0; d <= d1; d++ {
		for _, m := range mults {
			v := m * math.Pow(10, d)
			if v > hi*(1+1e-9) {
				break
			}
			decimals := 0
			if d < 0 {
				decimals = int(-d)
			}
			ticks = append(ticks, tick{v, formatTick(v, hi, decimals)})
		}
	}
	return lo, hi, ticks
}

// percentileTicks are the HdrHistogram plotter's: x is 1/(1-p) on a log
// scale, so every tick is one more nine. The axis ends just past the
// data, not at the next nine: 1,000 samples reach 1/(1-p) = 1,024, and a
// whole empty decade after that would squeeze the tail, which is what the
// chart is for.
func percentileTicks(maxX float64) (lo, hi float64, ticks []tick) {
	hi = math.Max(maxX, 100) * 1.1
	for n := 0; math.Pow(10, float64(n)) <= hi; n++ {
		ticks = append(ticks, tick{math.Pow(10, float64(n)), percentileLabel(n)})
	}
	return 1, hi, ticks
}

// percentileLabel names the percentile n nines deep: 0%, 90%, 99%, 99.9%...
func percentileLabel(n int) string {
	switch n {
	case 0:
		return "0%"
	case 1:
		return "90%"
	case 2:
		return "99%"
	}
	return "99." + strings.Repeat("9", n-2) + "%"
}

// formatTick writes large values with k and M, so an axis up to an hour
// of milliseconds stays narrow. The suffix depends on the axis's top
// (hi), not on the value alone, so one axis never mixes 8000 with 10k.
func formatTick(v, hi float64, decimals int) string {
	switch a := math.Abs(v); {
	case hi >= 1e7 && a >= 1e6 && math.Mod(a, 1e5) == 0:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case hi >= 1e4 && a >= 1e3 && math.Mod(a, 100) == 0:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', decimals, 64)
}

// point is one data point; a NaN y breaks the line, so a second with no
// replies shows as a gap rather than a dive to zero.
type point struct{ x, y float64 }

type series struct {
	name   string
	color  string
	dash   string  // stroke-dasharray; empty for a solid line
	width  float64 // stroke width; 0 means 2
	points []point
}

// band is a shaded stretch of the x axis: a fault window, or (host) the
// seconds of one twin whose host steal exceeded the suspect bound.
type band struct {
	x0, x1 float64
	label  string
	host   bool
	twin   string  // host bands: whose seconds
	peak   float64 // host bands: the largest steal, percent
}

// axisSpec says how an axis is scaled; the domain comes from the data
// unless fixed.
type axisSpec struct {
	label string
	log   bool
	// percentile: x is 1/(1-p), labelled in nines.
	percentile bool
	// fromZero: a linear axis starts at 0 (rates, depths), not at the
	// smallest value.
	fromZero bool
}

// chart is one figure. When noData is set, or no series has a point, it
// draws the frame and says so instead of failing the report.
type chart struct {
	id       string // unique in the document: clip paths are referenced by id
	title    string
	x, y     axisSpec
	series   []series
	bands    []band
	noData   string
	note     string // a line under the title, e.g. why the y axis is log
	width    int
	height   int
	logAbove float64 // y goes log when max/min exceeds this (0: never unless y.log)
	// xFrom, xTo fix a linear x domain when xFixed: every chart of time
	// shares one, so a fault window sits at the same place in each.
	xFixed     bool
	xFrom, xTo float64
}

const (
	marginLeft   = 62
	marginRight  = 28
	marginTop    = 40
	marginBottom = 44
	legendRow    = 20
	fontFamily   = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
)

// textWidth estimates the width of 12 px text; the legend needs it to lay
// itself out without a browser to measure.
func textWidth(s string) float64 { return float64(len([]rune(s))) * 6.6 }

// legendLayout places the entries in rows within width and returns each
// entry's offset and the number of rows.
func legendLayout(ss []series, width float64) (pos []point, rows int) {
	x, row := 0.0, 0
	for _, s := range ss {
		w := 30 + textWidth(s.name) + 18
		if x > 0 && x+w > width {
			x, row = 0, row+1
		}
		pos = append(pos, point{x, float64(row)})
		x += w
	}
	if len(ss) > 0 {
		rows = row + 1
	}
	return pos, rows
}

// hasData says whether any series has a point the y scale can show.
func (c *chart) hasData() bool {
	for _, s := range c.series {
		for _, p := range s.points {
			if !math.IsNaN(p.y) && !math.IsInf(p.y, 0) && !math.IsNaN(p.x) {
				return true
			}
		}
	}
	return false
}

// extent is the range of the finite values, positive ones only if
// positive is set (a log scale has no place for 0).
func extent(vs []float64, positive bool) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) || (positive && v <= 0) {
			continue
		}
		lo, hi, ok = math.Min(lo, v), math.Max(hi, v), true
	}
	return lo, hi, ok
}

// svg renders the chart.
func (c *chart) svg() string {
	w, h := float64(c.width), float64(c.height)
	var b strings.Builder
	_, legendRows := legendLayout(c.series, w-marginLeft-marginRight)
	total := h + float64(legendRows)*legendRow
	fmt.Fprintf(&b, `<svg class="chart" id="%s" viewBox="0 0 %g %g" width="%g" height="%g" role="img" aria-label="%s" font-family="%s">`,
		esc(c.id), w, total, w, total, esc(c.title), fontFamily)
	fmt.Fprintf(&b, `<title>%s</title>`, esc(c.title))
	fmt.Fprintf(&b, `<text x="%d" y="18" font-size="14" font-weight="600" fill="#1a1a1a">%s</text>`, marginLeft, esc(c.title))
	if c.note != "" {
		fmt.Fprintf(&b, `<text x="%d" y="33" font-size="11" fill="#666">%s</text>`, marginLeft, esc(c.note))
	}
	left, right, top, bottom := float64(marginLeft), w-marginRight, float64(marginTop), h-marginBottom
	fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%g" height="%g" fill="#fff" stroke="#bbb"/>`, left, top, right-left, bottom-top)
	if c.noData != "" || !c.hasData() {
		msg := "no data"
		if c.noData != "" {
			msg = "no data: " + c.noData
		}
		fmt.Fprintf(&b, `<text class="nodata" x="%g" y="%g" font-size="14" fill="#888" text-anchor="middle">%s</text></svg>`,
			(left+right)/2, (top+bottom)/2, esc(msg))
		return b.String()
	}
	xs, ys := c.scales(left, right, top, bottom)
	xt, yt := c.ticks(&xs, &ys)

	// Grid and ticks first, so the data is drawn over them.
	for _, t := range yt {
		y := ys.px(t.v)
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#eee"/>`, left, right, y, y)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" fill="#444" text-anchor="end" dominant-baseline="middle">%s</text>`, left-6, y, esc(t.label))
	}
	for _, t := range xt {
		x := xs.px(t.v)
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#eee"/>`, x, x, top, bottom)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" fill="#444" text-anchor="middle">%s</text>`, x, bottom+15, esc(t.label))
	}
	clip := "clip-" + c.id
	fmt.Fprintf(&b, `<clipPath id="%s"><rect x="%g" y="%g" width="%g" height="%g"/></clipPath>`, esc(clip), left, top, right-left, bottom-top)

	for _, bd := range c.bands {
		x0, x1 := math.Max(xs.px(bd.x0), left), math.Min(xs.px(bd.x1), right)
		if x1 <= x0 {
			continue
		}
		class, fill, text, ly := "band", "#f03e3e", "#c92a2a", top+13
		if bd.host {
			// Amber, labelled lower, so a stall the host caused is not
			// taken for a fault window drawn on the same seconds.
			class, fill, text, ly = "band host", "#f59f00", "#e67700", top+26
		}
		fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="%g" width="%.1f" height="%g" fill="%s" fill-opacity="0.09" stroke="%s" stroke-opacity="0.35" stroke-dasharray="3 3"/>`,
			class, x0, top, x1-x0, bottom-top, fill, fill)
		fmt.Fprintf(&b, `<text x="%.1f" y="%g" font-size="11" fill="%s">%s</text>`, x0+4, ly, text, esc(bd.label))
	}

	fmt.Fprintf(&b, `<g clip-path="url(#%s)" fill="none" stroke-linejoin="round" stroke-linecap="round">`, esc(clip))
	for _, s := range c.series {
		sw := s.width
		if sw == 0 {
			sw = 2
		}
		dash := ""
		if s.dash != "" {
			dash = fmt.Sprintf(` stroke-dasharray="%s"`, s.dash)
		}
		for _, seg := range segments(s.points, xs, ys) {
			if len(seg) == 1 {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="%g" fill="%s" stroke="none"/>`, seg[0].x, seg[0].y, sw+0.5, s.color)
				continue
			}
			fmt.Fprintf(&b, `<polyline stroke="%s" stroke-width="%g"%s points="`, s.color, sw, dash)
			for i, p := range seg {
				if i > 0 {
					b.WriteByte(' ')
				}
				fmt.Fprintf(&b, "%.1f,%.1f", p.x, p.y)
			}
			b.WriteString(`"/>`)
		}
	}
	b.WriteString(`</g>`)

	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="12" fill="#333" text-anchor="middle">%s</text>`, (left+right)/2, bottom+32, esc(c.x.label))
	fmt.Fprintf(&b, `<text transform="translate(14 %.1f) rotate(-90)" font-size="12" fill="#333" text-anchor="middle">%s</text>`, (top+bottom)/2, esc(c.y.label))

	pos, _ := legendLayout(c.series, w-marginLeft-marginRight)
	for i, s := range c.series {
		x, y := left+pos[i].x, h+pos[i].y*legendRow
		dash := ""
		if s.dash != "" {
			dash = fmt.Sprintf(` stroke-dasharray="%s"`, s.dash)
		}
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="3"%s/>`, x, x+24, y, y, s.color, dash)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="12" fill="#222" dominant-baseline="middle">%s</text>`, x+30, y, esc(s.name))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// scales fits the axes to the data.
func (c *chart) scales(left, right, top, bottom float64) (xs, ys scale) {
	var xv, yv []float64
	for _, s := range c.series {
		for _, p := range s.points {
			if !math.IsNaN(p.y) {
				xv = append(xv, p.x)
				yv = append(yv, p.y)
			}
		}
	}
	for _, bd := range c.bands {
		xv = append(xv, bd.x0, bd.x1)
	}
	xs = scale{log: c.x.log || c.x.percentile, lo: left, hi: right}
	ys = scale{log: c.y.log, lo: bottom, hi: top}
	if !ys.log && c.logAbove > 0 {
		if lo, hi, ok := extent(yv, true); ok && hi/lo > c.logAbove {
			ys.log = true
		}
	}
	xs.min, xs.max, _ = extent(xv, xs.log)
	if c.xFixed && !xs.log {
		xs.min, xs.max = c.xFrom, c.xTo
	}
	ys.min, ys.max, _ = extent(yv, ys.log)
	if c.x.fromZero && !xs.log {
		xs.min = math.Min(xs.min, 0)
	}
	if c.y.fromZero && !ys.log {
		ys.min = math.Min(ys.min, 0)
	}
	return xs, ys
}

// ticks rounds each scale's domain out to its ticks.
func (c *chart) ticks(xs, ys *scale) (xt, yt []tick) {
	switch {
	case c.x.percentile:
		xs.min, xs.max, xt = percentileTicks(xs.max)
	case xs.log:
		xs.min, xs.max, xt = logTicks(xs.min, xs.max)
	default:
		// Time axes end where the data ends; rounding out would leave an
		// empty stretch after the last second.
		lo, hi := xs.min, xs.max
		_, _, xt = linearTicks(lo, hi, 8)
		xt = within(xt, lo, hi)
	}
	if ys.log {
		ys.min, ys.max, yt = logTicks(ys.min, ys.max)
	} else {
		ys.min, ys.max, yt = linearTicks(ys.min, ys.max, 5)
	}
	return xt, yt
}

func within(ts []tick, lo, hi float64) []tick {
	var out []tick
	for _, t := range ts {
		if t.v >= lo-1e-9 && t.v <= hi+1e-9 {
			out = append(out, t)
		}
	}
	return out
}

// segments maps the points to pixels and splits them where a value is
// missing or cannot be shown on the scale.
func segments(pts []point, xs, ys scale) [][]point {
	var out [][]point
	var cur []point
	for _, p := range pts {
		if !xs.valid(p.x) || !ys.valid(p.y) {
			if len(cur) > 0 {
				out = append(out, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, point{xs.px(p.x), ys.px(p.y)})
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func esc(s string) string { return html.EscapeString(s) }
