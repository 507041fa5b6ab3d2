package runner

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/edabench/edabench/harness/attack"
	"github.com/edabench/edabench/harness/audit"
	"github.com/edabench/edabench/harness/completion"
	"github.com/edabench/edabench/harness/load"
	"github.com/edabench/edabench/harness/output"
	"github.com/edabench/edabench/harness/record"
	"github.com/edabench/edabench/harness/staleness"
	"github.com/edabench/edabench/internal/bitset"
	"google.golang.org/grpc/codes"
)

// The four latency series of a twin, indices of every [4] array of them.
const (
	mAck  = output.Ack
	mAckU = output.AckUncorrected
	mE2E  = output.E2E
	mE2EU = output.E2EUncorrected
)

// twinState is what one twin's run accumulates. The load workers write it
// concurrently: counters are atomics, latencies go to per-worker shards.
type twinState struct {
	name  string
	start time.Time // the schedule's time zero

	recs [4]*record.Recorder
	// lanes hold the ack shards; worker w records into lane w % len(lanes).
	// A shard per worker needed no lock but cost ~740 KB (two ~370 KB HDR
	// shards) for every worker that ever got a reply: a stall that woke 512
	// workers held 380 MB. A few locked lanes bound it; their locks are
	// rarely contended, with only as many cores as lanes/2.
	lanes               []ackLane
	e2eShard, e2eUShard *record.Shard // the completion observer's, EDA only

	total    phaseCounts
	phases   map[string]*phaseCounts // fixed at start: read-only map
	tl       timeline
	codes    [17]atomic.Int64 // errors by gRPC code
	inFlight atomic.Int64

	// Per second since start: offered by intended time, replies by end time.
	secOffered, secReplies, secErrors, secTimeouts, secDropped, secEnded []atomic.Int64

	accepted, counted bitset.Set // EDA: which orders were ACCEPTED; whose end was counted
	// firstAccept and firstEnd keep when replies said ACCEPTED and when
	// orders ended, for a broker fault's twin recovery after the node
	// serves again.
	firstAccept, firstEnd *firsts
	ledger                *audit.Ledger
	endedAccepted         atomic.Int64
	obs                   *completion.Observer
	// stale probes a sample of orders' read side after their reply; runID
	// rebuilds their order IDs.
	stale *staleness.Prober
	runID string

	// Interval histograms merged per phase by the ticker.
	mu       sync.Mutex
	phaseHis map[string]*[4]*hdrhistogram.Histogram
}

// ackLane is one pair of ack shards shared by several workers; the shards
// are made on first use, so an idle lane costs nothing.
type ackLane struct {
	mu        sync.Mutex
	ack, ackU *record.Shard
}

func (l *ackLane) record(recs *[4]*record.Recorder, r load.Result) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ack == nil {
		l.ack, l.ackU = recs[mAck].Shard(), recs[mAckU].Shard()
	}
	l.ack.Record(r.Latency())
	l.ackU.Record(r.ServiceTime())
}

type phaseCounts struct {
	sent, ok, rejected, errors, timeouts, dropped atomic.Int64
	ended                                         atomic.Int64 // orders of the phase seen to end (EDA)
}

// timeline records when each phase actually began. A ramp pauses between
// steps to judge them, so phases cannot be derived from planned durations.
type timeline struct {
	mu    sync.Mutex
	spans []span
}

type span struct {
	at   time.Time
	name string
}

func (tl *timeline) begin(name string, at time.Time) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.spans = append(tl.spans, span{at, name})
}

// phaseAt names the phase running at t ("" before the first).
func (tl *timeline) phaseAt(t time.Time) string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	name := ""
	for _, s := range tl.spans {
		if t.Before(s.at) {
			break
		}
		name = s.name
	}
	return name
}

func newTwinState(name string, start time.Time, phases []string, workers int, seconds int, maxOrders int64) *twinState {
	s := &twinState{name: name, start: start, phases: map[string]*phaseCounts{}, phaseHis: map[string]*[4]*hdrhistogram.Histogram{}}
	for i, series := range output.SeriesNames() {
		s.recs[i] = record.New(name + "." + series)
	}
	s.lanes = make([]ackLane, min(workers+1, 2*runtime.GOMAXPROCS(0)))
	s.e2eShard, s.e2eUShard = s.recs[mE2E].Shard(), s.recs[mE2EU].Shard()
	for _, p := range phases {
		s.phases[p] = &phaseCounts{}
	}
	for _, a := range []*[]atomic.Int64{&s.secOffered, &s.secReplies, &s.secErrors, &s.secTimeouts, &s.secDropped, &s.secEnded} {
		*a = make([]atomic.Int64, seconds)
	}
	s.accepted, s.counted = bitset.New(maxOrders), bitset.New(maxOrders)
	s.firstAccept = newFirsts(start, time.Duration(seconds)*time.Second)
	s.firstEnd = newFirsts(start, time.Duration(seconds)*time.Second)
	s.ledger = audit.NewLedger(maxOrders)
	return s
}

func (s *twinState) sec(t time.Time) int {
	i := int(t.Sub(s.start) / time.Second)
	if i < 0 {
		return 0
	}
	if i >= len(s.secOffered) {
		return len(s.secOffered) - 1
	}
	return i
}

// handle accounts one request; called by load workers.
func (s *twinState) handle(rrTwin bool) func(worker int, r load.Result) {
	return func(worker int, r load.Result) {
		out, _ := attack.Classify(r)
		s.ledger.Record(r.Seq, audit.Classify(out, r.Err))
		ph := s.phases[r.Phase]
		for _, c := range []*phaseCounts{&s.total, ph} {
			if c == nil {
				continue
			}
			c.sent.Add(1)
			switch out {
			case attack.OK:
				c.ok.Add(1)
			case attack.Rejected:
				c.rejected.Add(1)
			case attack.Error:
				c.errors.Add(1)
			case attack.Timeout:
				c.timeouts.Add(1)
			case attack.Dropped:
				c.dropped.Add(1)
			}
		}
		s.secOffered[s.sec(r.Intended)].Add(1)
		switch out {
		case attack.Dropped:
			s.secDropped[s.sec(r.Intended)].Add(1)
			return
		case attack.Error:
			s.codes[codeIndex(r.Err)].Add(1)
			s.secErrors[s.sec(r.End)].Add(1)
			return
		case attack.Timeout:
			s.codes[codes.DeadlineExceeded].Add(1)
			s.secTimeouts[s.sec(r.End)].Add(1)
			return
		}
		// A reply: its latency from the intended send time, and from the
		// actual one. Errors are not timed: a fast failure must not make a
		// twin look faster.
		s.secReplies[s.sec(r.End)].Add(1)
		s.lanes[worker%len(s.lanes)].record(&s.recs, r)
		if s.stale != nil && out == attack.OK {
			s.stale.Offer(attack.OrderID(s.runID, r.Seq, r.Intended, r.Start), r.End)
		}
		if out == attack.OK {
			s.firstAccept.record(r.End)
		}
		if rrTwin {
			s.secEnded[s.sec(r.End)].Add(1)
			s.firstEnd.record(r.End)
			return
		}
		if out == attack.OK {
			s.accepted.Add(r.Seq)
			if seen, _ := s.obs.End(r.Seq); seen {
				s.countEnd(r.Seq)
			}
		}
	}
}

// onEnd is the completion observer's callback (one goroutine).
func (s *twinState) onEnd(e completion.Event) {
	s.e2eShard.Record(e.Latency())
	s.e2eUShard.Record(e.ServiceTime())
	s.secEnded[s.sec(e.At)].Add(1)
	s.firstEnd.record(e.At)
	if ph := s.phases[s.tl.phaseAt(e.Intended)]; ph != nil {
		ph.ended.Add(1)
	}
	if s.accepted.Has(e.Seq) {
		s.countEnd(e.Seq)
	}
}

// countEnd counts an accepted order's end once, whichever of the reply and
// the completion event arrives second.
func (s *twinState) countEnd(seq uint64) {
	if s.counted.Add(seq) {
		s.endedAccepted.Add(1)
	}
}

func codeIndex(err error) codes.Code {
	c := codesOf(err)
	if int(c) >= 17 {
		return codes.Unknown
	}
	return c
}

// inFlightAttacker counts calls under way, for the live view.
type inFlightAttacker struct {
	load.Attacker
	n *atomic.Int64
}

func (a inFlightAttacker) Attack(ctx context.Context, r load.Request) load.Result {
	a.n.Add(1)
	defer a.n.Add(-1)
	return a.Attacker.Attack(ctx, r)
}

func fmtDur(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%02d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}
