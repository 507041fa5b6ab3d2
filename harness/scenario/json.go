package scenario

import (
	"encoding/json"
	"github.com/edabench/edabench/harness/fault"
	"github.com/edabench/edabench/harness/netprofile"
	"time"
)

// MarshalJSON writes the scenario as it ran, with the keys and the duration
// notation of the YAML files, so a summary.json reads like the scenario
// that produced it.
func (s *Scenario) MarshalJSON() ([]byte, error) {
	type stage struct {
		Name     string   `json:"name"`
		Duration string   `json:"duration"`
		Rate     float64  `json:"rate"`
		To       *float64 `json:"to,omitempty"`
	}
	type ramp struct {
		StartRate    float64 `json:"start_rate"`
		Step         float64 `json:"step"`
		StepDuration string  `json:"step_duration"`
		MaxRate      float64 `json:"max_rate"`
	}
	type searchSLO struct {
		AckP99       string  `json:"ack_p99"`
		E2EP99       string  `json:"e2e_p99"`
		MaxErrorRate float64 `json:"max_error_rate"`
	}
	type search struct {
		Start       float64   `json:"start"`
		Factor      float64   `json:"factor"`
		MaxRate     float64   `json:"max_rate"`
		Precision   float64   `json:"precision"`
		MinRequests int       `json:"min_requests"`
		MinStep     string    `json:"min_step"`
		MaxStep     string    `json:"max_step"`
		Settle      string    `json:"settle"`
		MaxSteps    int       `json:"max_steps"`
		MaxDuration string    `json:"max_duration"`
		SLO         searchSLO `json:"slo"`
	}
	type brokers struct {
		Nodes int `json:"nodes"`
	}
	type slo struct {
		P99          string  `json:"p99,omitempty"`
		MaxErrorRate float64 `json:"max_error_rate"`
	}
	out := struct {
		Name        string           `json:"name"`
		Description string           `json:"description,omitempty"`
		Source      string           `json:"source,omitempty"`
		Arrival     string           `json:"arrival"`
		Stages      []stage          `json:"stages,omitempty"`
		Ramp        *ramp            `json:"ramp,omitempty"`
		Search      *search          `json:"search,omitempty"`
		SLO         slo              `json:"slo"`
		Timeout     string           `json:"timeout"`
		MaxInFlight int              `json:"max_in_flight"`
		Drain       string           `json:"drain"`
		Topology    string           `json:"topology"`
		Steps       int              `json:"steps"`
		Cost        string           `json:"cost,omitempty"`
		Broker      string           `json:"broker,omitempty"`
		Brokers     *brokers         `json:"brokers,omitempty"`
		Seed        uint64           `json:"seed"`
		Faults      []fault.Spec     `json:"faults,omitempty"`
		Network     *netprofile.JSON `json:"network,omitempty"`
		Deployment  string           `json:"deployment,omitempty"`
	}{Name: s.Name, Description: s.Description, Source: s.source, Arrival: string(s.Arrival),
		SLO: slo{P99: durOrEmpty(s.SLO.P99), MaxErrorRate: s.SLO.MaxErrorRate}, Timeout: s.Timeout.String(),
		MaxInFlight: s.MaxInFlight, Drain: s.Drain.String(), Topology: s.Topology, Steps: s.StepCount(), Cost: s.Cost, Broker: s.Broker, Seed: s.Seed, Faults: s.Faults, Deployment: s.Deployment}
	if s.Network.Name != "" {
		n := s.Network.JSON()
		out.Network = &n
	}
	if s.BrokerNodes != 0 {
		out.Brokers = &brokers{Nodes: s.BrokerNodes}
	}
	for _, st := range s.Stages {
		out.Stages = append(out.Stages, stage{st.Name, st.Duration.String(), st.Rate, st.To})
	}
	if r := s.Ramp; r != nil {
		out.Ramp = &ramp{r.StartRate, r.Step, r.StepDuration.String(), r.MaxRate}
	}
	if sp := s.Search; sp != nil {
		out.Search = &search{sp.Start, sp.Factor, sp.MaxRate, sp.Precision, sp.MinRequests, sp.MinStep.String(), sp.MaxStep.String(),
			sp.Settle.String(), sp.MaxSteps, sp.MaxDuration.String(), searchSLO{sp.AckP99.String(), sp.E2EP99.String(), sp.MaxErrorRate}}
	}
	return json.Marshal(out)
}

func durOrEmpty(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}
