// Package report turns a run folder into report.html: one self-contained
// page (inline CSS and SVG, no script, no link to anything outside it) that
// a reviewer can open offline, attach to an issue, or keep with the run.
package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/edabench/edabench/internal/twinkind"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/edabench/edabench/harness/results"
)

// ErrInput marks errors in what the caller asked for (no such folder, not a
// run folder, an unreadable --verdict file), as opposed to failing to write.
var ErrInput = errors.New("bad input")

// FileName is the report's name inside the run folder.
const FileName = "report.html"

// Options adjust a report.
type Options struct {
	// Verdict is a verdict.json to show. Empty: verdict.json in the run
	// folder, else in its parent (the results folder), if either exists.
	Verdict string
	// Now stamps the report; zero means time.Now.
	Now time.Time
}

// Result says where the report went and what could not be drawn.
type Result struct {
	Path     string
	Warnings []string // files missing or unreadable; the report says "no data" there
}

// Metrics are the .hgrm files each twin has, in the order they are drawn.
var metrics = [...]string{"ack", "e2e", "ack_uncorrected", "e2e_uncorrected"}

// run is everything read from one run folder.
type run struct {
	dir      string
	summary  results.Summary
	raw      results.RawSummary
	twins    []string
	hgrm     map[string]map[string][]hgrmPoint // twin, metric
	ts       *results.Timeseries
	tsErr    string
	verdict  *verdict
	vpath    string
	warnings []string
}

// Write reads the run folder dir (a `latest` symlink is followed) and
// writes dir/report.html.
func Write(dir string, opts Options) (Result, error) {
	r, err := load(dir, opts.Verdict)
	if err != nil {
		return Result{}, err
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	var buf bytes.Buffer
	if err := render(&buf, r, now); err != nil {
		return Result{}, fmt.Errorf("rendering the report of %s: %w", r.dir, err)
	}
	path := filepath.Join(r.dir, FileName)
	if err := writeAtomic(path, defang(buf.Bytes())); err != nil {
		return Result{}, err
	}
	return Result{Path: path, Warnings: r.warnings}, nil
}

// load reads what the report needs. Only summary.json is required: the
// rest, when missing or broken, becomes a warning and a "no data" chart.
func load(dir, verdictPath string) (*run, error) {
	resolved, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: run folder %s: %w (want a folder written by edabench run, e.g. results/latest)", ErrInput, dir, err)
	}
	if st, err := os.Stat(resolved); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a folder (want a run folder written by edabench run, e.g. results/latest)", ErrInput, dir)
	}
	f, err := results.ReadSummary(resolved)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s is not a run folder: it has no summary.json (want a folder written by edabench run, e.g. results/latest)", ErrInput, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w (want the summary.json edabench run writes)", ErrInput, err)
	}
	r := &run{dir: resolved, summary: f.Summary, raw: f.Raw, hgrm: map[string]map[string][]hgrmPoint{}}
	for name, tw := range r.summary.Twins {
		if tw != nil {
			r.twins = append(r.twins, name)
		}
	}
	sortTwins(r.twins)

	for _, twin := range r.twins {
		r.hgrm[twin] = map[string][]hgrmPoint{}
		for _, m := range metrics {
			p := filepath.Join(resolved, twin+"."+m+".hgrm")
			f, err := os.Open(p)
			if err != nil {
				r.warn("%s: %v", filepath.Base(p), err)
				continue
			}
			pts, err := parseHgrm(f)
			f.Close()
			if err != nil {
				r.warn("%s: %v", filepath.Base(p), err)
				continue
			}
			r.hgrm[twin][m] = pts
		}
	}

	if r.ts, err = results.ReadTimeseries(resolved); err != nil {
		r.tsErr = "timeseries.csv unreadable"
		if errors.Is(err, fs.ErrNotExist) {
			r.tsErr = "timeseries.csv missing"
		}
		r.warn("timeseries.csv: %v", err)
	}

	if err := r.loadVerdict(verdictPath); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *run) warn(format string, a ...any) {
	r.warnings = append(r.warnings, fmt.Sprintf(format, a...))
}

// loadVerdict reads an explicit verdict file, which must be readable, or
// looks for verdict.json beside and above the run, which may be absent.
func (r *run) loadVerdict(explicit string) error {
	if explicit != "" {
		v, err := readVerdict(explicit)
		if err != nil {
			return fmt.Errorf("%w: --verdict %s: %w", ErrInput, explicit, err)
		}
		r.verdict, r.vpath = v, explicit
		return nil
	}
	for _, p := range []string{filepath.Join(r.dir, "verdict.json"), filepath.Join(filepath.Dir(r.dir), "verdict.json")} {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		v, err := readVerdict(p)
		if err != nil {
			r.warn("%s: %v (the report has no verdict)", p, err)
			return nil
		}
		r.verdict, r.vpath = v, p
		return nil
	}
	return nil
}

// twinOrder is the order twins are shown in; any other twin follows,
// alphabetically.
var twinOrder = [...]string{twinkind.RR, twinkind.EDA, twinkind.Hybrid}

func sortTwins(ts []string) {
	rank := func(s string) int {
		if i := slices.Index(twinOrder[:], s); i >= 0 {
			return i
		}
		return len(twinOrder)
	}
	sort.Slice(ts, func(i, j int) bool {
		if ri, rj := rank(ts[i]), rank(ts[j]); ri != rj {
			return ri < rj
		}
		return ts[i] < ts[j]
	})
}

// twinColors keeps each twin's colour the same on every chart and every
// report. The colours are distinct enough to count in a screenshot.
var twinColors = map[string]string{twinkind.RR: "#1864ab", twinkind.EDA: "#e8590c", twinkind.Hybrid: "#2b8a3e"}

// spareColors go to twins without a colour of their own, in order.
var spareColors = [...]string{"#862e9c", "#0b7285", "#c2255c", "#5c940d"}

func colorOf(twins []string, twin string) string {
	if c, ok := twinColors[twin]; ok {
		return c
	}
	n := 0
	for _, t := range twins {
		if t == twin {
			break
		}
		if _, ok := twinColors[t]; !ok {
			n++
		}
	}
	return spareColors[n%len(spareColors)]
}

// urlScheme finds what would read as a link. The report must hold none
// (it is viewed offline, and a reviewer must be able to trust that it
// fetches nothing), so a URL in the data, say in a verdict's evidence, is
// written with its colon as a character reference: it reads the same.
var urlScheme = regexp.MustCompile(`(?i)\b(https?):(//)`)

func defang(b []byte) []byte { return urlScheme.ReplaceAll(b, []byte("$1&#58;$2")) }

// writeAtomic writes like the run does: a reader never sees half a file.
func writeAtomic(path string, data []byte) error {
	return results.WriteFile(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// orderedFields lists an object's keys and values in the order written.
func orderedFields(raw json.RawMessage) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("want an object, got %v", tok)
	}
	var out []field
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, field{key: fmt.Sprint(k), value: v})
	}
	return out, nil
}

type field struct {
	key   string
	value any
}

// formatValue writes a JSON value for a table cell.
func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case json.Number:
		if f, err := x.Float64(); err == nil {
			return formatNumber(f)
		}
		return x.String()
	case float64:
		return formatNumber(x)
	case string:
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format("15:04:05.000")
		}
		return x
	case []any:
		if len(x) == 0 {
			return "—"
		}
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = formatValue(e)
		}
		return strings.Join(parts, ", ")
	case bool:
		if x {
			return "yes"
		}
		return "no"
	}
	b, _ := json.Marshal(v)
	return string(b)
}
