package results

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/edabench/edabench/harness/audit"
	"github.com/edabench/edabench/harness/cpubill"
	"github.com/edabench/edabench/harness/procstat"
	"github.com/edabench/edabench/harness/record"
	"github.com/edabench/edabench/harness/staleness"
)

// SchemaVersion changes when a key of summary.json changes meaning or goes.
const SchemaVersion = 1

// Summary is summary.json: everything one run measured. docs/results.md
// documents every key; docs/results.schema.json is checked by a test.
type Summary struct {
	SchemaVersion int       `json:"schema_version"`
	RunID         string    `json:"run_id"`
	StartedAt     time.Time `json:"started_at"`
	EndedAt       time.Time `json:"ended_at"`
	// Partial is true when the run did not finish its schedule (interrupted,
	// or a child crashed): the figures are what was measured until then.
	Partial       bool                   `json:"partial"`
	PartialReason string                 `json:"partial_reason,omitempty"`
	Scenario      any                    `json:"scenario"`
	Environment   Environment            `json:"environment"`
	Twins         map[string]*TwinResult `json:"twins"`
	// Shard is this run's slice of a sharded load (edabench run --shard
	// I/N); nil for a run of the whole schedule.
	Shard *ShardInfo `json:"shard,omitempty"`
	// Merged is what edabench merge joined into this run; nil for a run
	// one generator made.
	Merged *MergeInfo `json:"merged,omitempty"`
}

// ShardInfo names a shard's slice and what its siblings must share with
// it for edabench merge to join them.
type ShardInfo struct {
	Index int `json:"index"` // 1-based
	Count int `json:"count"`
	// ScenarioHash is ScenarioHash of the scenario as it ran (overrides
	// applied): shards of different scenarios do not merge.
	ScenarioHash string    `json:"scenario_hash"`
	Seed         uint64    `json:"seed"`
	StartAt      time.Time `json:"start_at"` // the schedule's shared time zero
	// LoadStartedAt is when this shard's load began by its own clock:
	// StartAt, unless the shard was ready late (within the runner's 50 ms).
	LoadStartedAt time.Time `json:"load_started_at"`
}

// MergeInfo says which shards a merged run is made of, and what was wrong
// with them: a missing shard, or clocks further apart than the tolerance.
type MergeInfo struct {
	Count  int           `json:"count"` // N of the shards' I/N
	Shards []MergedShard `json:"shards"`
	// Missing are the shard indices of 1..Count no run folder was given for.
	Missing []int `json:"missing,omitempty"`
	// StartSpreadMs is how far apart the shards' load starts were, by
	// their own clocks; above ToleranceMs it is a gap.
	StartSpreadMs float64 `json:"start_spread_ms"`
	ToleranceMs   float64 `json:"tolerance_ms"`
	// Gaps say in words what is missing or off; empty when the merge is whole.
	Gaps []string `json:"gaps,omitempty"`
}

// MergedShard is one shard run a merge read.
type MergedShard struct {
	Index int    `json:"index"`
	RunID string `json:"run_id"`
	Dir   string `json:"dir"`
	Host  string `json:"hostname"`
}

// Environment is what the run ran on, so figures are never quoted without it.
type Environment struct {
	Edabench  string `json:"edabench"` // VCS revision of the harness, if known
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model,omitempty"`
	MemoryMiB int64  `json:"memory_mib,omitempty"`
	Kernel    string `json:"kernel,omitempty"`
	Hostname  string `json:"hostname"`
	// Broker is the backbone the EDA and hybrid twins ran over (absent
	// when only RR ran). RabbitMQ repeats its version for the readers
	// written before Kafka could be chosen.
	Broker   *BrokerInfo `json:"broker,omitempty"`
	RabbitMQ string      `json:"rabbitmq,omitempty"`
}

// BrokerInfo names a run's broker (the value of --broker) and its version.
type BrokerInfo struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	// Nodes is the size of the private cluster the run used (replicated
	// queues); absent (0) for the single node.
	Nodes int `json:"nodes,omitempty"`
}

// Counts accounts for every request: sent = ok + rejected + errors + timeouts + dropped.
type Counts struct {
	// Sent is every request the schedule made due, including the ones
	// dropped at the in-flight cap.
	Sent     int64 `json:"sent"`
	OK       int64 `json:"ok"`       // a reply: ACCEPTED (EDA) or COMPLETED (RR)
	Rejected int64 `json:"rejected"` // a reply: REJECTED
	Errors   int64 `json:"errors"`   // a gRPC error other than a timeout
	Timeouts int64 `json:"timeouts"` // the request's deadline passed
	Dropped  int64 `json:"dropped"`  // never sent: the in-flight cap was reached
}

// Add adds c2 into c.
func (c *Counts) Add(c2 Counts) {
	c.Sent += c2.Sent
	c.OK += c2.OK
	c.Rejected += c2.Rejected
	c.Errors += c2.Errors
	c.Timeouts += c2.Timeouts
	c.Dropped += c2.Dropped
}

// TwinResult is one twin's figures.
type TwinResult struct {
	Counts
	ErrorsByCode map[string]int64 `json:"errors_by_code"`
	OfferedRPS   float64          `json:"offered_rps"`  // sent / load duration
	AchievedRPS  float64          `json:"achieved_rps"` // replies (ok + rejected) / load duration
	LoadSeconds  float64          `json:"load_seconds"`
	// Ack is until PlaceOrder replied; E2E until the order was complete (the
	// reply for RR, the harness seeing OrderCompleted for EDA). Both from the
	// intended send time; the _uncorrected ones from the actual send time.
	Ack            record.Summary `json:"ack"`
	E2E            record.Summary `json:"e2e"`
	AckUncorrected record.Summary `json:"ack_uncorrected"`
	E2EUncorrected record.Summary `json:"e2e_uncorrected"`
	// Steps is each step's own time as its service reports it (its
	// edabench_step_duration_seconds histogram, first applications only).
	Steps map[string]StepLatency `json:"steps,omitempty"`
	// Orders: accepted = completed + failed + lost (after the drain).
	Orders OrderCounts               `json:"orders"`
	Phases map[string]*PhaseResult   `json:"phases"`
	Lag    LagStats                  `json:"lag"`
	Usage  map[string]procstat.Usage `json:"usage"` // per service, "broker" and "harness"
	// CPUPerOrderMs is the twin's and the broker's CPU per completed order.
	CPUPerOrderMs float64 `json:"cpu_per_order_ms"`
	// GeneratorCPUPer1k is the harness's own CPU seconds per 1,000 requests.
	GeneratorCPUPer1k float64 `json:"generator_cpu_per_1k_requests_s"`
	// HarnessCPU splits the harness's own CPU over the same window into
	// its observers and the load (harness/cpubill); nil in summaries
	// written before it.
	HarnessCPU        *cpubill.Split `json:"harness_cpu,omitempty"`
	MaxDispatchLateMs float64        `json:"max_dispatch_late_ms"`
	Knee              *Knee          `json:"knee,omitempty"`
	// Audit reconciles what the client saw with what every step applied.
	Audit *audit.Report `json:"audit,omitempty"`
	// Staleness is from the reply until GetOrder first reported the order
	// COMPLETED, for a sample of orders: the read side's lag.
	Staleness *staleness.Result `json:"staleness,omitempty"`
	// Faults are the scenario's fault windows as they happened.
	Faults  []FaultWindow `json:"faults,omitempty"`
	Clamped int64         `json:"latencies_clamped"`
	// Host is the host's interference (CPU steal and pressure) during the
	// load; nil when nothing was measured or the summary predates it.
	Host *HostStats `json:"host,omitempty"`
	// Within is the whole run's within-run latency intervals (see
	// LatencyWithin); nil in summaries written before them.
	Within *LatencyWithin `json:"within_run,omitempty"`
	// CPUBudgets are the cores each tier was capped at (generator, each
	// service, broker) when the deployment was isolated; nil when shared.
	CPUBudgets map[string]float64 `json:"cpu_budgets,omitempty"`
}

// LagStats is summary.json's lag object: what harness/lag's Analyze makes
// of a run's queue samples. It is defined here, not in lag, so that
// reading a summary does not link the broker client lag samples with.
type LagStats struct {
	// MaxQueueDepth is the largest total depth (all queues) of one tick.
	MaxQueueDepth int64 `json:"max_queue_depth"`
	// MaxLagMs is the largest lag gauge reading sampled. Sampling sees one
	// delivery per queue per tick, so it can miss a brief worse one; the
	// services' edabench_consumer_lag_seconds histogram has the full
	// distribution.
	MaxLagMs float64 `json:"max_lag_ms"`
	// DrainMs runs from Analyze's from (the end of the load) until the first tick whose total
	// depth, like that of every later tick, is within the threshold: 0 when
	// the last tick at or before from already was, -1 when the last tick is
	// still above it (or no tick follows from). Resolution is the sampling
	// interval plus the broker's ~1 s statistics age.
	DrainMs float64 `json:"drain_ms"`
	// PeakAt is the tick of MaxQueueDepth (the first, on a tie).
	PeakAt time.Time `json:"peak_at"`
	// DeadLettered is how much the total dead-letter queue depth grew over
	// the samples (peak minus first tick): messages dead-lettered while
	// sampling, even if a twin reuses a prefix whose DLQs are not empty.
	DeadLettered int64 `json:"dead_lettered"`
}

// OrderCounts follows each accepted order to its end.
type OrderCounts struct {
	Accepted  int64 `json:"accepted"`
	Completed int64 `json:"completed"`
	Failed    int64 `json:"failed"`
	Lost      int64 `json:"lost"` // accepted and never seen to end within the drain
	// DuplicateEnds counts completion events seen twice (at-least-once delivery).
	DuplicateEnds int64   `json:"duplicate_end_events"`
	DrainMs       float64 `json:"drain_ms"` // from the end of load until the last accepted order ended
}

// PhaseResult is one scenario phase (stage) of one twin.
type PhaseResult struct {
	Counts
	OfferedRPS  float64        `json:"offered_rps"`
	AchievedRPS float64        `json:"achieved_rps"`
	Seconds     float64        `json:"seconds"`
	Ack         record.Summary `json:"ack"`
	E2E         record.Summary `json:"e2e"`
	// Within is the phase's within-run latency intervals, over the
	// seconds cut in it; nil in summaries written before them.
	Within *LatencyWithin `json:"within_run,omitempty"`
}

// Knee is a ramp's or a search's answer: the highest step rate the twin
// sustained with p99 under the SLO and errors under the limit. For a
// search, RPS and BrokenAt are the ack SLO's bracket [held, broke], and
// Completion is the completion SLO's knee in the same form.
type Knee struct {
	RPS      float64 `json:"rps"`       // 0: not even the first step held
	BrokenAt float64 `json:"broken_at"` // the first (for a search: the lowest) step that broke the SLO; 0 if none did
	Reason   string  `json:"reason"`
	Reached  bool    `json:"reached"` // false: the ramp ended before any step broke the SLO
	// Method is "search" for the knee search; empty for the ramp.
	Method string `json:"method,omitempty"`
	// Precision is the bracket the search aimed at (0.10: BrokenAt/RPS ≤
	// 1.10); a bracket wider than it was cut short (Reason says why).
	Precision float64 `json:"precision,omitempty"`
	// Completion is the completion SLO's knee: e2e p99 under its SLO, no
	// order left incomplete and a backlog that did not grow.
	Completion *Knee `json:"completion,omitempty"`
	// Steps are the search's steps in the order run.
	Steps []KneeStep `json:"steps,omitempty"`
}

// Bracketed says whether a search's knee is within its precision: both
// ends known and BrokenAt/RPS ≤ 1+Precision.
func (k *Knee) Bracketed() bool {
	return k != nil && k.RPS > 0 && k.BrokenAt > 0 && k.BrokenAt <= k.RPS*(1+k.Precision)*(1+1e-9)
}

// KneeStep is one step of a knee search and both its judgments.
type KneeStep struct {
	Phase    string  `json:"phase"`
	RPS      float64 `json:"rps"`
	Seconds  float64 `json:"seconds"`
	Sent     int64   `json:"sent"`
	AckP99Ms float64 `json:"ack_p99_ms"`
	E2EP99Ms float64 `json:"e2e_p99_ms"`
	// BacklogGrowth is the queue depth at the step's end less its start
	// (0 for a twin with no queues).
	BacklogGrowth  int64  `json:"backlog_growth"`
	AckHeld        bool   `json:"ack_held"`
	CompletionHeld bool   `json:"completion_held"`
	Why            string `json:"why,omitempty"` // what broke, when something did
}

// StepLatency is one step's time from its service's Prometheus histogram:
// percentiles interpolated within its buckets, so only as fine as they are
// (a factor of 2 apart), unlike the harness's HDR figures.
type StepLatency struct {
	Count  uint64  `json:"count"`
	MeanMs float64 `json:"mean_ms"`
	P50Ms  float64 `json:"p50_ms"`
	P99Ms  float64 `json:"p99_ms"`
}

// FaultWindow is one injected fault and what it did to the twin.
type FaultWindow struct {
	Fault  string  `json:"fault"`   // type:target
	StartS float64 `json:"start_s"` // from the start of the load
	EndS   float64 `json:"end_s"`
	Error  string  `json:"error,omitempty"` // the fault could not be applied or undone
	// Errors and Timeouts are the requests that failed inside the window.
	Errors   int64 `json:"errors"`
	Timeouts int64 `json:"timeouts"`
	Dropped  int64 `json:"dropped"`
	// Backlog is the most the twin's queues grew above their depth when
	// the fault began (EDA).
	Backlog int64 `json:"backlog"`
	// RecoveryMs is from the end of the window until the per-second p99
	// (end to end) is back within 20% of its level in the 5 s before the
	// fault; -1 if it never was before the run ended.
	RecoveryMs float64 `json:"recovery_ms"`
	// DrainMs is from the end of the window until the queues are back to
	// their pre-fault depth; -1 if they never were.
	DrainMs float64 `json:"drain_ms"`
	// Down is a broker fault's node timeline and the twin's recovery
	// after it; nil for other faults and in summaries written before it.
	Down *NodeDown `json:"down,omitempty"`
	// UnavailableS counts the seconds, from the window's start until 30 s
	// after its end, in which the twin answered an order with an error or
	// a timeout: how long the fault kept the twin from accepting.
	UnavailableS int `json:"unavailable_s"`
	// Node, Queue and NewLeaderMs are a node fault's (kill-node,
	// pause-node, restart-node on a cluster): the member hit, the queue
	// or partition it led, and the time from the fault's start until
	// another member led it (-1: none within the window).
	Node        string  `json:"node,omitempty"`
	Queue       string  `json:"queue,omitempty"`
	NewLeaderMs float64 `json:"new_leader_ms,omitempty"`
}

// NodeDown tells a broker fault's real down time apart from the twin's
// reconnect: the node's own marks, then when the twin first used it again.
// Times are seconds from the start of the load, -1 for a step not reached;
// durations are milliseconds, -1 when either end is missing.
type NodeDown struct {
	StopAskedS  float64 `json:"stop_asked_s"`  // the node was asked to stop
	GoneS       float64 `json:"gone_s"`        // its OS process had ended
	StartAskedS float64 `json:"start_asked_s"` // it was started again
	BackS       float64 `json:"back_s"`        // its new OS process was up
	ServingS    float64 `json:"serving_s"`     // it first confirmed a publish
	// StopMs is stop asked to gone (the node's own shutdown), AwayMs gone
	// to serving (no node at all, then one that boots), DownMs stop asked
	// to serving: the node away, as clients saw it, since every backbone
	// stops taking messages as soon as it is asked to stop.
	StopMs float64 `json:"stop_ms"`
	AwayMs float64 `json:"away_ms"`
	DownMs float64 `json:"down_ms"`
	// WindowMs is the fault's duration as the scenario wrote it; StartMs
	// start asked to serving, the node's own start; LateMs how much later
	// than the window's end (stop asked + WindowMs) the start was asked:
	// a stop longer than the window, or the harness's own work after it.
	// DownMs = WindowMs + LateMs + StartMs, so a fault kept the node away
	// no longer than its window plus the node's start exactly when LateMs
	// is about 0. Zero in summaries written before them.
	WindowMs float64 `json:"window_ms"`
	StartMs  float64 `json:"start_ms"`
	LateMs   float64 `json:"late_ms"`
	// FirstAcceptS is the twin's first ACCEPTED reply at or after serving,
	// FirstCompletionS the first order end at or after it (to within
	// 10 ms); AcceptAfterMs and CompleteAfterMs count them from serving:
	// the twin's reconnect, not the node's restart.
	FirstAcceptS     float64 `json:"first_accept_s"`
	FirstCompletionS float64 `json:"first_completion_s"`
	AcceptAfterMs    float64 `json:"accept_after_ms"`
	CompleteAfterMs  float64 `json:"complete_after_ms"`
}

// Check reports what is wrong with a complete timeline: a mark missing or
// out of order (stop asked, gone, start asked, back, serving; start asked
// no earlier than the window's end), parts that do not add up to DownMs,
// or no first acceptance after serving. It asserts no speed.
func (d NodeDown) Check() error {
	var errs []error
	marks := []struct {
		name string
		at   float64
	}{{"stop_asked_s", d.StopAskedS}, {"gone_s", d.GoneS}, {"start_asked_s", d.StartAskedS}, {"back_s", d.BackS}, {"serving_s", d.ServingS}}
	for i, m := range marks {
		if m.at < 0 {
			errs = append(errs, fmt.Errorf("%s missing", m.name))
		} else if i > 0 && marks[i-1].at >= 0 && m.at < marks[i-1].at {
			errs = append(errs, fmt.Errorf("%s %.3f before %s %.3f", m.name, m.at, marks[i-1].name, marks[i-1].at))
		}
	}
	// 1 ms of slack: the fields are rounded apart.
	const slack = 1.0
	if d.LateMs < -slack {
		errs = append(errs, fmt.Errorf("start asked %.0f ms before the %.0f ms window ended", -d.LateMs, d.WindowMs))
	}
	if d.StopMs > d.WindowMs+d.LateMs+slack {
		errs = append(errs, fmt.Errorf("start asked %.0f ms after stop asked, before the node was gone (stop %.0f ms)", d.WindowMs+d.LateMs, d.StopMs))
	}
	if diff := d.DownMs - (d.WindowMs + d.LateMs + d.StartMs); diff > 2*slack || diff < -2*slack {
		errs = append(errs, fmt.Errorf("down %.0f ms is not window %.0f + late %.0f + start %.0f ms", d.DownMs, d.WindowMs, d.LateMs, d.StartMs))
	}
	if diff := d.DownMs - (d.StopMs + d.AwayMs); diff > 2*slack || diff < -2*slack {
		errs = append(errs, fmt.Errorf("down %.0f ms is not stop %.0f + away %.0f ms", d.DownMs, d.StopMs, d.AwayMs))
	}
	if d.FirstAcceptS < d.ServingS || d.AcceptAfterMs < 0 {
		errs = append(errs, fmt.Errorf("no first acceptance recorded after serving (first_accept_s %.3f, accept_after_ms %.0f)", d.FirstAcceptS, d.AcceptAfterMs))
	}
	return errors.Join(errs...)
}

// ScenarioHash is the hex SHA-256 of the scenario's JSON as summary.json
// records it, so that two summaries (two shards) can tell whether they ran
// the same scenario with the same overrides.
func ScenarioHash(scenario any) (string, error) {
	b, err := json.Marshal(scenario)
	if err != nil {
		return "", fmt.Errorf("hash the scenario: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
