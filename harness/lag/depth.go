package lag

import (
	"log/slog"
	"time"
)

// DefaultBrokerFreshness is how old RabbitMQ's figure for a queue may be
// when the management API answers: its statistics are emitted every 5 s
// (collect_statistics_interval), and a quorum queue's counts move only then.
const DefaultBrokerFreshness = 5 * time.Second

// depthBook turns each tick's per-service counters into each queue's depth.
//
// A queue's counted depth is the sum, over every service, of what its
// publishes put in minus what its settles took out, accumulated from
// increases per service and per counter the way Prometheus's increase()
// reads a counter: a service that restarts begins again at zero, and its
// new counts add to what was counted before instead of erasing it (a plain
// sum of the live counters would read a killed consumer's whole history
// as backlog).
//
// What a killed service counted between the last scrape and its death is
// lost (up to one tick of its throughput; a few messages when the harness
// read it just before killing it, see checkpoint), so the count can drift
// from the truth after a crash. It is re-anchored to the broker's figure when that
// figure is trustworthy: the queue is quiet (no publish or settle counted
// for two ticks), the figure unchanged for two ticks, and the figure was
// taken during the quiet (it changed after the quiet began, or the quiet
// is older than the broker's freshness), since a figure read a few seconds
// before the queue went quiet would re-anchor it to a stale number.
type depthBook struct {
	urls      []string
	freshness time.Duration
	log       *slog.Logger
	services  map[string]serviceScrape // the last answer of each service
	queues    map[string]*queueBook
	lastAt    time.Time
}

// queueBook is one queue's account.
type queueBook struct {
	counted int64
	// quietTicks counts ticks since one that counted a publish or a
	// settle, which was at activeAt (zero: never).
	quietTicks int
	activeAt   time.Time
	// broker is the broker's last figure, seen unchanged for brokerTicks
	// ticks; it took this value at a tick after one at changedAfter.
	broker       int64
	brokerTicks  int
	changedAfter time.Time
	brokerSeen   bool
}

// queueDepth is one queue's depth at a tick and where it came from.
type queueDepth struct {
	depth  int64
	source string
	// checked: the queue was quiet and the broker's figure trusted, and
	// off is how far the count was from it before it was re-anchored.
	checked bool
	off     int64
}

// newDepthBook accounts the counters of the services at urls; freshness
// <= 0 means DefaultBrokerFreshness.
func newDepthBook(urls []string, freshness time.Duration, log *slog.Logger) *depthBook {
	if freshness <= 0 {
		freshness = DefaultBrokerFreshness
	}
	if log == nil {
		log = slog.Default()
	}
	return &depthBook{urls: append([]string(nil), urls...), freshness: freshness, log: log,
		services: map[string]serviceScrape{}, queues: map[string]*queueBook{}}
}

// tick takes one tick's scrape and the broker's figure of each queue, and
// returns each of those queues' depth. Ticks must come in time order.
func (b *depthBook) tick(at time.Time, r scrapeResult, broker map[string]int64) map[string]queueDepth {
	pub, set, countable := b.account(r)
	out := make(map[string]queueDepth, len(broker))
	for q, fig := range broker {
		qb := b.queues[q]
		if qb == nil {
			qb = &queueBook{}
			b.queues[q] = qb
		}
		qb.counted += pub[q] - set[q]
		qb.observe(at, b.lastAt, pub[q]+set[q] > 0, fig)
		if !countable {
			out[q] = queueDepth{depth: fig, source: SourceBroker}
			continue
		}
		d := queueDepth{source: SourceCounters}
		if qb.trustBroker(at, b.freshness) {
			d.checked, d.off = true, qb.counted-fig
			if d.off != 0 {
				b.log.Info("lag: re-anchoring a quiet queue's counted depth to the broker's figure",
					"queue", q, "counted", qb.counted, "broker", fig)
				qb.counted = fig
			}
		}
		d.depth = max(qb.counted, 0)
		out[q] = d
	}
	b.lastAt = at
	return out
}

// account folds the services' answers into the book and returns each
// queue's increase of published and of settled since the last tick, and
// whether the counted depth means anything: there are services (an
// external twin's are not scraped), every one answered with the counters
// (or as a service off the bus) at least once, and none on the bus
// answered without them now.
func (b *depthBook) account(r scrapeResult) (pub, set map[string]int64, countable bool) {
	pub, set, countable = map[string]int64{}, map[string]int64{}, len(b.urls) > 0
	for _, url := range b.urls {
		now, answered := r.services[url]
		last, known := b.services[url]
		switch {
		case answered && now.ok && now.offBus:
			b.services[url] = now
			continue
		case answered && now.ok && !now.counts:
			countable = false
			continue
		case !answered || !now.ok:
			countable = countable && known
			continue
		}
		// A service seen for the first time counts from zero: its
		// counters began at zero when it started, before its queues
		// held anything of this twin's.
		restarted := known && now.start != 0 && last.start != 0 && now.start != last.start
		for q, v := range now.pub {
			pub[q] += increase(last.pub[q], v, restarted)
		}
		for q, v := range now.set {
			set[q] += increase(last.set[q], v, restarted)
		}
		b.services[url] = now
	}
	return pub, set, countable
}

// checkpoint folds one service's answer in between ticks: what the harness
// scrapes from a service just before it kills it, so that what it counted
// since the last tick is not lost with it. Its increases count as activity.
// It is scraped before the book is locked, so a tick may have folded in a
// newer answer meanwhile: an answer of another process or with a counter
// below the book's is that older one, and is dropped rather than read as a
// restart.
func (b *depthBook) checkpoint(at time.Time, url string, s serviceScrape) {
	last, known := b.services[url]
	if len(b.queues) == 0 || !known || !s.ok || !s.counts || s.start != last.start ||
		below(s.pub, last.pub) || below(s.set, last.set) {
		return // before the first tick the service's history still counts from zero then
	}
	r := newScrapeResult()
	r.services[url] = s
	pub, set, _ := b.account(r)
	for q, qb := range b.queues {
		qb.counted += pub[q] - set[q]
		if pub[q]+set[q] > 0 {
			qb.quietTicks, qb.activeAt = 0, at
		}
	}
}

// below says whether any counter of now is below its value in last.
func below(now, last map[string]float64) bool {
	for q, v := range last {
		if now[q] < v {
			return true
		}
	}
	return false
}

// observe updates the queue's quiet and broker-figure streaks at a tick.
func (qb *queueBook) observe(at, lastAt time.Time, active bool, fig int64) {
	if active {
		qb.quietTicks, qb.activeAt = 0, at
	} else {
		qb.quietTicks++
	}
	if !qb.brokerSeen || fig != qb.broker {
		qb.broker, qb.brokerTicks, qb.changedAfter, qb.brokerSeen = fig, 0, lastAt, true
		return
	}
	qb.brokerTicks++
}

// trustBroker says whether the broker's figure is the queue's depth now.
func (qb *queueBook) trustBroker(at time.Time, freshness time.Duration) bool {
	if qb.quietTicks < 2 || qb.brokerTicks < 2 {
		return false
	}
	takenInQuiet := !qb.changedAfter.IsZero() && !qb.changedAfter.Before(qb.activeAt)
	return takenInQuiet || at.Sub(qb.activeAt) >= freshness
}
