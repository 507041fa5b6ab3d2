package dashboards

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/edabench/edabench/harness/gate"
)

const gateFile = "../gates/ci.yaml"

// citedCheck is "twins.rr.e2e.p99_ms < 1000" in a stat panel's description.
var citedCheck = regexp.MustCompile(`(twins\.([a-z]+)\.[a-z0-9_.]+) (==|!=|<=|>=|<|>) (-?[0-9][0-9.e+]*)`)

// gateLimit is where a stat panel turns red for check c, in the panel's
// unit: "< v" fails from v on; "== v" (a count) from v+1 on.
func gateLimit(c gate.Check, unit string) (float64, error) {
	v := c.Value
	if strings.HasSuffix(c.Metric, "_ms") {
		r, err := inUnit("ms", v)
		if err != nil {
			return 0, err
		}
		s, ok := grafanaUnits[unit]
		if !ok || s.dim != r.dim {
			return 0, fmt.Errorf("%s is in ms, the panel's unit %q is not a duration", c.Metric, unit)
		}
		v = r.v / s.toBase
	}
	switch c.Op {
	case gate.Less:
		return v, nil
	case "==":
		if grafanaUnits[unit].dim != dimCount {
			return 0, fmt.Errorf("%s == %g: only a count's threshold can express ==, the panel's unit is %q", c.Metric, c.Value, unit)
		}
		return v + 1, nil
	}
	return 0, fmt.Errorf("%s %s %g: no stat threshold expresses op %s yet; teach gateLimit", c.Metric, c.Op, c.Value, c.Op)
}

// TestStatThresholdsFollowTheGate: a stat panel that colours a figure red
// cites the gate checks it stands for, each exactly as gates/ci.yaml has
// it, and turns red exactly where the gate would fail; a stat citing none
// claims no limit. The overview cites every absolute check the live
// metrics can show (the audit's are computed after the run only).
func TestStatThresholdsFollowTheGate(t *testing.T) {
	gf, err := gate.Load(gateFile)
	if err != nil {
		t.Fatal(err)
	}
	byMetric := map[string]gate.Check{}
	for _, c := range gf.Checks {
		if !c.Regression {
			byMetric[c.Metric] = c
		}
	}
	cited := map[string]map[string]bool{} // dashboard uid -> metric
	for _, d := range loadDashboards(t) {
		cited[d.UID] = map[string]bool{}
		for _, p := range d.allPanels() {
			if p.Type != "stat" {
				continue
			}
			where := fmt.Sprintf("%s panel %q", d.file, p.Title)
			limit, err := citedLimit(p, byMetric, cited[d.UID])
			if err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			if err := wantSteps(p, limit); err != nil {
				t.Errorf("%s: %v", where, err)
			}
		}
	}
	for m := range byMetric {
		if !strings.Contains(m, ".audit.") && !cited["edabench-overview"][m] {
			t.Errorf("gates/ci.yaml checks %s, and no stat panel of the overview shows it", m)
		}
	}
}

// citedLimit is the red threshold p's cited checks call for (nil: none).
func citedLimit(p panel, byMetric map[string]gate.Check, cited map[string]bool) (*float64, error) {
	var limit *float64
	for _, m := range citedCheck.FindAllStringSubmatch(p.Description, -1) {
		c, ok := byMetric[m[1]]
		v, _ := strconv.ParseFloat(m[4], 64)
		if !ok || string(c.Op) != m[3] || c.Value != v {
			return nil, fmt.Errorf("cites %q, but %s has %s %s %g", m[0], gateFile, c.Metric, c.Op, c.Value)
		}
		for _, q := range p.Targets {
			if !strings.Contains(q.Expr, `twin="`+m[2]+`"`) {
				return nil, fmt.Errorf("cites %s, but its query %s does not select twin=%q", m[1], q.Expr, m[2])
			}
		}
		l, err := gateLimit(c, p.FieldConfig.Defaults.Unit)
		if err != nil {
			return nil, err
		}
		if limit != nil && *limit != l {
			return nil, fmt.Errorf("its checks call for red at %g and at %g: one panel, one limit", *limit, l)
		}
		limit = &l
		cited[c.Metric] = true
	}
	return limit, nil
}

func wantSteps(p panel, limit *float64) error {
	th := p.FieldConfig.Defaults.Thresholds
	if th == nil || th.Mode != "absolute" || len(th.Steps) == 0 || th.Steps[0].Value != nil {
		return fmt.Errorf("thresholds %+v: want absolute, a base step first", th)
	}
	switch {
	case limit == nil && len(th.Steps) != 1:
		return fmt.Errorf("cites no gate check, yet has threshold steps %s: a limit the gate does not hold", fmtSteps(th.Steps[1:]))
	case limit != nil && (len(th.Steps) != 2 || th.Steps[1].Value == nil || *th.Steps[1].Value != *limit || th.Steps[1].Color != "red"):
		return fmt.Errorf("threshold steps %s, want the base and red at %g (the gate's limit in %s)", fmtSteps(th.Steps), *limit, p.FieldConfig.Defaults.Unit)
	}
	return nil
}

func fmtSteps(steps []step) string {
	var out []string
	for _, s := range steps {
		v := "base"
		if s.Value != nil {
			v = strconv.FormatFloat(*s.Value, 'g', -1, 64)
		}
		out = append(out, s.Color+"@"+v)
	}
	return strings.Join(out, ", ")
}
