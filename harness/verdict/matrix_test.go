package verdict

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/results"
)

// onBackbone records the runs as run over the backbone (environment.broker,
// as a run with --broker writes it), their ids suffixed with it so that
// two sets' runs stay apart.
func onBackbone(runs []*Run, name, version string) []*Run {
	for _, r := range runs {
		r.Summary.Environment.Broker = &results.BrokerInfo{Name: name, Version: version}
		r.Summary.RunID = r.ID() + "-" + name
	}
	return runs
}

// rrOnly turns the chain runs into RR-only runs (as make bench runs them),
// which belong to no backbone.
func rrOnly(runs []*Run) []*Run {
	for _, r := range runs {
		if r.Scenario.Name == "chain" {
			for n := range r.Summary.Twins {
				if n != "rr" {
					delete(r.Summary.Twins, n)
				}
			}
			r.Summary.Environment.Broker, r.Summary.Environment.RabbitMQ = nil, ""
		}
	}
	return runs
}

func withoutChain(runs []*Run) []*Run { return drop(runs, "chain") }

// The matrix decides every claim once per backbone: the "holds" set's
// runs on RabbitMQ (written before --broker: no environment.broker), the
// "doesnothold" set's on Kafka, the chain runs RR-only and shared.
func TestMatrixTwoBackbones(t *testing.T) {
	runs := append(rrOnly(loadSet(t, "holds")), onBackbone(withoutChain(loadSet(t, "doesnothold")), "kafka", "4.4.0")...)
	m := EvaluateMatrix(runs, time.Unix(0, 0))
	if len(m.Backbones) != 2 || m.Backbones[0].Name != "rabbitmq" || m.Backbones[1].Name != "kafka" {
		t.Fatalf("backbones %+v, want rabbitmq then kafka", m.Backbones)
	}
	if got := m.Backbones[1].Label(); got != "kafka 4.4.0" {
		t.Errorf("kafka's label %q", got)
	}
	if got := m.Backbones[0].Versions; len(got) != 1 || !strings.HasPrefix(got[0], "3.10") {
		t.Errorf("rabbitmq's versions %v, want the summaries' environment.rabbitmq", got)
	}
	if len(m.Claims) != 11 {
		t.Fatalf("%d claims, want 11", len(m.Claims))
	}
	for _, r := range m.Claims {
		rab, kaf := r.Cell("rabbitmq"), r.Cell("kafka")
		if rab == nil || kaf == nil || len(r.Cells) != 2 {
			t.Fatalf("claim %d cells %+v", r.ID, r.Cells)
		}
		wantR, wantK := Holds, DoesNotHold
		switch r.ID {
		case 2: // the chain is RR's alone: one decision, in both columns
			wantK = Holds
			if !rab.RROnly || !kaf.RROnly {
				t.Errorf("claim 2 not marked RR only: %v %v", rab.RROnly, kaf.RROnly)
			}
		case 11: // no hybrid in these sets: not measured (no run had one)
			wantR, wantK = NotMeasured, NotMeasured
		}
		if rab.Status != wantR || kaf.Status != wantK {
			t.Errorf("claim %d: rabbitmq %s (want %s), kafka %s (want %s)\n  %s\n  %s", r.ID, rab.Status, wantR, kaf.Status, wantK, rab.Evidence, kaf.Evidence)
		}
		if r.ID == 2 || r.ID == 11 {
			continue
		}
		// Each cell reads its own backbone's runs and none of the other's.
		for _, id := range rab.Runs {
			if strings.HasSuffix(id, "-kafka") {
				t.Errorf("claim %d on rabbitmq read kafka's run %s", r.ID, id)
			}
		}
		for _, id := range kaf.Runs {
			if !strings.HasSuffix(id, "-kafka") {
				t.Errorf("claim %d on kafka read %s", r.ID, id)
			}
		}
		if len(rab.Intervals) == 0 || len(kaf.Intervals) == 0 {
			t.Errorf("claim %d: a cell without its deciding figures", r.ID)
		}
	}
	if m.Used != 10+6 {
		t.Errorf("%d runs used, want 16 (10 on rabbitmq with the shared chain, 6 on kafka)", m.Used)
	}

	var md, js bytes.Buffer
	if err := m.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"| # | claim | rabbitmq 3.10", "| kafka 4.4.0 |", "**holds (single run)**: ", "**does not hold (single run)**",
		"**holds (single run) (RR only)**", "### 4. EDA absorbs spikes", "| kafka | **does not hold (single run)** |"} {
		if !strings.Contains(md.String(), w) {
			t.Errorf("verdict.md lacks %q", w)
		}
	}
	if err := m.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Backbones []struct{ Name string } `json:"backbones"`
		Claims    []struct {
			ID    int `json:"id"`
			Cells []struct {
				Backbone  string                    `json:"backbone"`
				Status    string                    `json:"status"`
				Intervals map[string]map[string]any `json:"intervals"`
			} `json:"cells"`
		} `json:"claims"`
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Claims) != 11 || back.Claims[0].Cells[1].Backbone != "kafka" ||
		back.Claims[0].Cells[1].Status != "does not hold" || len(back.Claims[0].Cells[1].Intervals) == 0 {
		t.Fatalf("verdict.json round trip: %v %+v", err, back)
	}
}

// With one backbone, the matrix is one column and each cell is the claim
// as the per-backbone verdict decides it: the fixture sets keep every
// status they had.
func TestMatrixOneBackbone(t *testing.T) {
	for _, set := range []string{"holds", "doesnothold"} {
		t.Run(set, func(t *testing.T) {
			want := Evaluate(Select(loadSet(t, set)), time.Unix(0, 0))
			m := EvaluateMatrix(loadSet(t, set), time.Unix(0, 0))
			if len(m.Backbones) != 1 || m.Backbones[0].Name != "rabbitmq" {
				t.Fatalf("backbones %+v, want rabbitmq alone (summaries older than --broker)", m.Backbones)
			}
			for i, r := range m.Claims {
				c, w := r.Cells[0], want.Claims[i]
				if len(w.Runs) == 0 { // claim 11: no run had a hybrid
					w.Status, w.Evidence = NotMeasured, "not measured on rabbitmq: "+w.Evidence
				}
				if c.Status != w.Status || c.Evidence != w.Evidence || c.RROnly {
					t.Errorf("claim %d: cell %s (rr only %v), verdict %s", r.ID, c.Status, c.RROnly, want.Claims[i].Status)
				}
			}
		})
	}
}

// A claim whose runs are missing on one backbone is not measured there,
// not inconclusive and not refuted; the other backbone's cell is decided.
func TestMatrixClaimMissingOnOneBackbone(t *testing.T) {
	kafka := onBackbone(drop(withoutChain(loadSet(t, "holds")), "spike", "failure-slow-step"), "kafka", "4.4.0")
	runs := append(rrOnly(loadSet(t, "holds")), kafka...)
	m := EvaluateMatrix(runs, time.Unix(0, 0))
	for _, tt := range []struct {
		claim int
		want  Status
		says  string
	}{
		{4, NotMeasured, "not measured on kafka: no spike run among the inputs: run `edabench run --broker kafka --scenario spike`"},
		{9, NotMeasured, "not measured on kafka: no failure-slow-step run"},
		{1, Holds, ""},
		{2, Holds, ""},
	} {
		r := m.Claims[tt.claim-1]
		k, rab := r.Cell("kafka"), r.Cell("rabbitmq")
		if k.Status != tt.want || !strings.Contains(k.Evidence, tt.says) {
			t.Errorf("claim %d on kafka: %s %q, want %s saying %q", tt.claim, k.Status, k.Evidence, tt.want, tt.says)
		}
		if rab.Status != Holds {
			t.Errorf("claim %d on rabbitmq: %s, want holds: %s", tt.claim, rab.Status, rab.Evidence)
		}
		if tt.want == NotMeasured && (len(k.Runs) != 0 || len(k.Intervals) != 0 || k.SingleRun) {
			t.Errorf("claim %d: a not-measured cell with runs or figures: %+v", tt.claim, k)
		}
	}
	var tb bytes.Buffer
	if err := m.WriteTable(&tb); err != nil {
		t.Fatal(err)
	}
	words := strings.Join(strings.Fields(tb.String()), " ")
	for _, w := range []string{"4 EDA absorbs spikes", "rabbitmq holds (single run)", "kafka not measured not measured on kafka"} {
		if !strings.Contains(words, w) {
			t.Errorf("table lacks %q:\n%s", w, tb.String())
		}
	}
}

// RR-only runs alone: no backbone is present, so the one column is the
// default broker's, and a claim that needs EDA's runs is not measured.
func TestMatrixRROnly(t *testing.T) {
	runs := rrOnly(loadSet(t, "holds"))
	var chain []*Run
	for _, r := range runs {
		if r.Scenario.Name == "chain" {
			chain = append(chain, r)
		}
	}
	m := EvaluateMatrix(chain, time.Unix(0, 0))
	if len(m.Backbones) != 1 || m.Backbones[0].Name != "rabbitmq" {
		t.Fatalf("backbones %+v", m.Backbones)
	}
	if c := m.Claims[1].Cells[0]; c.Status != Holds || !c.RROnly {
		t.Errorf("claim 2: %s rr only %v", c.Status, c.RROnly)
	}
	if c := m.Claims[3].Cells[0]; c.Status != NotMeasured {
		t.Errorf("claim 4: %s, want not measured", c.Status)
	}
}

// make bench's knees: RR's search alone once (no backbone, so every
// column reads it) and EDA's per backbone. A column with EDA's knee
// decides claim 3 from both runs; one without it is not measured, though
// RR's knee is in every column.
func TestMatrixKneeOfRRAlone(t *testing.T) {
	split := func(runs []*Run, keep string) []*Run {
		r := find(runs, "ramp")
		r.Summary.Twins = map[string]*results.TwinResult{keep: r.Twin(keep)}
		if keep == "rr" {
			r.Summary.Environment.Broker, r.Summary.Environment.RabbitMQ = nil, ""
			r.Summary.RunID += "-rr"
		}
		return runs
	}
	rr := []*Run{find(split(loadSet(t, "holds"), "rr"), "ramp")}
	edaRabbit := split(rrOnly(loadSet(t, "holds")), "eda")
	kafka := onBackbone(drop(withoutChain(loadSet(t, "holds")), "ramp"), "kafka", "4.4.0")
	m := EvaluateMatrix(append(append(drop(edaRabbit, "chain"), rr...), append(kafka, rrOnly(loadSet(t, "holds"))[1:5]...)...), time.Unix(0, 0))
	c := m.Claims[2]
	if r := c.Cell("rabbitmq"); r.Status != Holds || len(r.Runs) != 2 {
		t.Errorf("claim 3 on rabbitmq: %s from %v, want holds from RR's run and EDA's: %s", r.Status, r.Runs, r.Evidence)
	}
	if k := c.Cell("kafka"); k.Status != NotMeasured || !strings.Contains(k.Evidence, "`edabench run --broker kafka --scenario ramp --twin eda`") {
		t.Errorf("claim 3 on kafka: %s: %s, want not measured with the command", k.Status, k.Evidence)
	}
}
