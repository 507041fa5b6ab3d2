package verdict

import (
	"sort"
	"strings"

	"github.com/edabench/edabench/harness/stats"
)

// intervalList is the claim's deciding figures, by name.
func intervalList(ivs map[string]stats.Interval, sep string) string {
	names := make([]string, 0, len(ivs))
	for k := range ivs {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]string, len(names))
	for i, k := range names {
		out[i] = k + " " + ivs[k].String()
	}
	return strings.Join(out, sep)
}

// cell keeps a value inside its Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\n", " ")
	if s == "" {
		return "–"
	}
	return s
}
