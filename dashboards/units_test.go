package dashboards

// A panel's value means its query's number read in its unit. These turn
// that into a base unit, so a figure on a dashboard can be held against
// the same figure in a run's summary (live_test.go): a panel labelled ms
// whose query returns seconds reads 1,000 times too small, and fails.

import (
	"fmt"
	"math"
	"strconv"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/units"
)

type dimension string

const (
	dimDuration dimension = "a duration"
	dimCount    dimension = "a count"
	dimRate     dimension = "a rate per second"
	dimRatio    dimension = "a ratio"
	dimBytes    dimension = "a size"
	dimInstant  dimension = "an instant"
)

// unitScale says what a Grafana unit measures and how many base units
// (seconds, 1, per second, bytes, Unix seconds) one of it is.
type unitScale struct {
	dim    dimension
	toBase float64
}

// grafanaUnits are the units the dashboards may use; checkPanelDoc rejects
// others, so every figure can be converted.
var grafanaUnits = map[string]unitScale{
	units.Seconds:           {dimDuration, 1},
	units.Milliseconds:      {dimDuration, 1e-3},
	units.Microseconds:      {dimDuration, 1e-6},
	units.Short:             {dimCount, 1},
	units.NoUnit:            {dimCount, 1},
	units.RequestsPerSecond: {dimRate, 1},
	units.OpsPerSecond:      {dimRate, 1},
	units.PercentUnit:       {dimRatio, 1},
	units.BytesIEC:          {dimBytes, 1},
	units.DatetimeISO:       {dimInstant, 1e-3}, // Grafana's dateTime units take ms since the epoch
}

// reading is a figure in its dimension's base unit.
type reading struct {
	v   float64
	dim dimension
}

func (r reading) String() string {
	base := map[dimension]string{dimDuration: "s", dimRate: "/s", dimBytes: " B", dimInstant: " (Unix s)"}[r.dim]
	return strconv.FormatFloat(r.v, 'g', 4, 64) + base
}

// inUnit reads v as a number in the Grafana unit u.
func inUnit(u string, v float64) (reading, error) {
	s, ok := grafanaUnits[u]
	if !ok {
		return reading{}, fmt.Errorf("unit %q: not in grafanaUnits", u)
	}
	return reading{v * s.toBase, s.dim}, nil
}

// agree is nil when got and want measure the same thing and are within a
// factor of each other (both zero counts as agreeing).
func agree(got, want reading, factor float64) error {
	if got.dim != want.dim {
		return fmt.Errorf("the panel shows %s (%v), the summary %s (%v)", got.dim, got, want.dim, want)
	}
	if got.v == want.v {
		return nil
	}
	r := got.v / want.v
	if want.v == 0 || got.v == 0 || math.IsNaN(r) || r > factor || r < 1/factor {
		return fmt.Errorf("the panel shows %v, the summary %v: more than %gx apart (a unit or scale error?)", got, want, factor)
	}
	return nil
}

func TestAgree(t *testing.T) {
	for _, c := range []struct {
		name              string
		gotUnit, wantUnit string
		got, want         float64
		ok                bool
	}{
		{"seconds against ms", units.Seconds, units.Milliseconds, 0.012, 12, true},
		{"within the factor", units.Seconds, units.Milliseconds, 0.030, 12, true},
		{"ms labelled on seconds", units.Milliseconds, units.Milliseconds, 0.012, 12, false},
		{"seconds scaled by 1000", units.Seconds, units.Milliseconds, 12, 12, false},
		{"a rate against a count", units.RequestsPerSecond, units.Short, 80, 80, false},
		{"both zero", units.Short, units.Short, 0, 0, true},
		{"zero against some", units.Short, units.Short, 0, 3, false},
		{"instants", units.DatetimeISO, units.Seconds, 1.7e12, 1.7e9, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			g, err := inUnit(c.gotUnit, c.got)
			if err != nil {
				t.Fatal(err)
			}
			w, err := inUnit(c.wantUnit, c.want)
			if err != nil {
				t.Fatal(err)
			}
			if err := agree(g, w, 3); (err == nil) != c.ok {
				t.Errorf("agree(%v, %v) = %v, want ok %v", g, w, err, c.ok)
			}
		})
	}
}

// unitOf is the unit the panel shows column (a table's field, "" for the
// panel's default) in.
func unitOf(p panel, column string) string {
	for _, o := range p.FieldConfig.Overrides {
		if column == "" || o.Matcher.ID != "byName" || o.Matcher.Options != column {
			continue
		}
		for _, pr := range o.Properties {
			if pr.ID == "unit" {
				u, _ := strconv.Unquote(string(pr.Value))
				return u
			}
		}
	}
	return p.FieldConfig.Defaults.Unit
}
