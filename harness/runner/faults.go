package runner

import (
	"sort"
	"time"

	"github.com/edabench/edabench/harness/fault"
	"github.com/edabench/edabench/harness/lag"
	"github.com/edabench/edabench/harness/output"
	"github.com/edabench/edabench/harness/results"
)

// faultWindows measures what each fault did: failures inside its window,
// the backlog it built, and how long the twin took to recover and drain.
func faultWindows(st *twinState, tk *ticker, env *twinEnv) []results.FaultWindow {
	rows := tk.rowsBySecond()
	var samples []lag.Sample
	if env.sampler != nil {
		samples = env.sampler.Samples()
	}
	var out []results.FaultWindow
	for _, w := range env.inj.Windows() {
		end := w.End
		if end.IsZero() {
			end = time.Now()
		}
		fw := results.FaultWindow{Fault: w.Name(), StartS: w.Start.Sub(st.start).Seconds(), EndS: end.Sub(st.start).Seconds(),
			Error: w.Err, RecoveryMs: -1, DrainMs: -1}
		for s := st.sec(w.Start); s <= st.sec(end); s++ {
			fw.Errors += st.secErrors[s].Load()
			fw.Timeouts += st.secTimeouts[s].Load()
			fw.Dropped += st.secDropped[s].Load()
		}
		fw.UnavailableS = unavailable(st, st.sec(w.Start), st.sec(end.Add(unavailableAfter)))
		if w.Node != nil {
			fw.Node, fw.Queue, fw.NewLeaderMs = w.Node.Node, w.Node.Queue, w.Node.NewLeaderMs
		}
		fw.RecoveryMs = recovery(rows, st.sec(w.Start), end, st.start)
		if w.Marks != nil {
			fw.Down = nodeDown(*w.Marks, w.Duration, st)
		}
		if env.sampler == nil {
			fw.DrainMs = 0 // no queues: nothing builds up, nothing to drain
		}
		if len(samples) > 0 {
			base := lag.Baseline(samples, w.Start.Add(-5*time.Second), w.Start)
			var after []lag.Sample
			for _, s := range samples {
				if !s.At.Before(w.Start) {
					after = append(after, s)
				}
			}
			// Under load a few messages are always in flight (unacked):
			// "back" means within 20%, or 5 messages, of the depth before.
			a := lag.AnalyzeWith(after, end, max(base+base/5, base+5))
			fw.Backlog = max(a.MaxQueueDepth-base, 0)
			fw.DrainMs = a.DrainMs
		}
		out = append(out, fw)
	}
	return out
}

// unavailableAfter is how long after a window's end its failures still
// count as the fault's: a node's clients reconnect, elect, republish.
const unavailableAfter = 30 * time.Second

// unavailable counts the seconds from..to (inclusive) in which a request
// failed with an error or a timeout.
func unavailable(st *twinState, from, to int) int {
	n := 0
	for s := from; s <= to && s < len(st.secErrors); s++ {
		if st.secErrors[s].Load()+st.secTimeouts[s].Load() > 0 {
			n++
		}
	}
	return n
}

// recovery is the time from end until the per-second end-to-end p99 is
// back within 20% of its median over the 5 s before the fault began.
func recovery(rows []output.Row, startSec int, end, zero time.Time) float64 {
	var before []float64
	for _, r := range rows {
		if r.Sec >= startSec-5 && r.Sec < startSec && r.E2EP99 > 0 {
			before = append(before, r.E2EP99)
		}
	}
	if len(before) == 0 {
		return -1
	}
	sort.Float64s(before)
	base := before[len(before)/2]
	for _, r := range rows {
		at := zero.Add(time.Duration(r.Sec) * time.Second)
		if at.Before(end) || r.E2EP99 == 0 {
			continue
		}
		if r.E2EP99 <= 1.2*base {
			return ms(at.Sub(end))
		}
	}
	return -1
}

// nodeDown puts a broker fault's node marks on the run's clock and reads
// the twin's first acceptance and completion after the node served.
func nodeDown(m fault.NodeMarks, window time.Duration, st *twinState) *results.NodeDown {
	at := func(t time.Time) float64 {
		if t.IsZero() {
			return -1
		}
		return t.Sub(st.start).Seconds()
	}
	span := func(from, to time.Time) float64 {
		if from.IsZero() || to.IsZero() {
			return -1
		}
		return ms(to.Sub(from))
	}
	d := &results.NodeDown{StopAskedS: at(m.StopAsked), GoneS: at(m.Gone), StartAskedS: at(m.StartAsked),
		BackS: at(m.Back), ServingS: at(m.Serving),
		StopMs: span(m.StopAsked, m.Gone), AwayMs: span(m.Gone, m.Serving), DownMs: span(m.StopAsked, m.Serving),
		WindowMs: ms(window), StartMs: span(m.StartAsked, m.Serving), LateMs: -1,
		FirstAcceptS: -1, FirstCompletionS: -1, AcceptAfterMs: -1, CompleteAfterMs: -1}
	if !m.StopAsked.IsZero() && !m.StartAsked.IsZero() {
		d.LateMs = ms(m.StartAsked.Sub(m.StopAsked.Add(window)))
	}
	if m.Serving.IsZero() {
		return d
	}
	if t, ok := st.firstAccept.after(m.Serving); ok {
		d.FirstAcceptS, d.AcceptAfterMs = at(t), span(m.Serving, t)
	}
	if t, ok := st.firstEnd.after(m.Serving); ok {
		d.FirstCompletionS, d.CompleteAfterMs = at(t), span(m.Serving, t)
	}
	return d
}
