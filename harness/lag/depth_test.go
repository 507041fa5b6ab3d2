package lag

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDepthBook replays scripted ticks through the depth accounting: resets
// of a restarted service (by a decreasing counter or a new process start
// time), the fallback to the broker's figure, and when a quiet queue's
// count is re-anchored to that figure and when it is not. Each fixture in
// testdata/depth holds ticks of per-service counters and broker figures,
// and the depth and source wanted after each.
func TestDepthBook(t *testing.T) {
	for _, tc := range []struct{ file, what string }{
		{"steady.txt", "the count moves each second while the broker's figure holds"},
		{"crash.txt", "a killed consumer's restart is no backlog; its lost settles re-anchored when quiet"},
		{"crash-checkpoint.txt", "a killed consumer read just before its kill loses nothing"},
		{"checkpoint-late.txt", "a checkpoint older than the tick before it is dropped"},
		{"restart-passed.txt", "a restart found by the process start time"},
		{"stale-or-drift.txt", "a figure read before the quiet is not trusted until it is older than the broker's freshness"},
		{"busy.txt", "a busy queue is never re-anchored"},
		{"fallback.txt", "the broker's figure while a service is unknown or lacks the counters"},
		{"offbus.txt", "a service that does not use the bus needs no counters"},
	} {
		t.Run(strings.TrimSuffix(tc.file, ".txt"), func(t *testing.T) {
			sc := readScript(t, filepath.Join("testdata", "depth", tc.file))
			b := newDepthBook(sc.services, sc.freshness, slog.New(slog.DiscardHandler))
			for _, tk := range sc.ticks {
				got := b.tick(time.Unix(int64(tk.at), 0), tk.scrape, tk.broker)
				for _, c := range tk.checkpoints {
					b.checkpoint(time.Unix(int64(tk.at), 5e8), c.url, c.s)
				}
				for q, w := range tk.want {
					if got[q].depth != w.depth || got[q].source != w.source {
						t.Errorf("%s: tick %d: %s = %d (%s), want %d (%s)", tc.what, tk.at, q, got[q].depth, got[q].source, w.depth, w.source)
					}
				}
			}
		})
	}
}

type script struct {
	services  []string
	freshness time.Duration
	ticks     []scriptTick
}

type scriptTick struct {
	at     int
	scrape scrapeResult
	broker map[string]int64
	want   map[string]queueDepth
	// checkpoints are read half a second after the tick.
	checkpoints []checkpoint
}

type checkpoint struct {
	url string
	s   serviceScrape
}

// readScript parses a fixture: "tick S" begins a tick; "broker Q=N ..."
// gives its broker figures; "svc NAME start=T Q=PUB/SET ...", "svc NAME
// down", "svc NAME nocounters" (an older build) and "svc NAME offbus" (a
// service that does not use the bus) a service's answer; "checkpoint NAME
// start=T Q=PUB/SET ..." a service read between this tick and the next;
// "want Q=N/SOURCE ..." the depths; "freshness D" the broker's freshness.
func readScript(t *testing.T, path string) script {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc, err := parseScript(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return sc
}

func parseScript(r io.Reader) (script, error) {
	var sc script
	lines := bufio.NewScanner(r)
	for n := 1; lines.Scan(); n++ {
		fields := strings.Fields(lines.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if err := sc.line(fields); err != nil {
			return sc, fmt.Errorf("line %d: %w", n, err)
		}
	}
	return sc, lines.Err()
}

func (sc *script) line(f []string) error {
	var err error
	if f[0] == "tick" || f[0] == "freshness" {
		if len(f) != 2 {
			return fmt.Errorf("%s takes one value", f[0])
		}
		if f[0] == "freshness" {
			sc.freshness, err = time.ParseDuration(f[1])
			return err
		}
		at, err := strconv.Atoi(f[1])
		sc.ticks = append(sc.ticks, scriptTick{at: at, scrape: newScrapeResult(), broker: map[string]int64{}, want: map[string]queueDepth{}})
		return err
	}
	if len(sc.ticks) == 0 {
		return fmt.Errorf("%q before the first tick", f[0])
	}
	tk := &sc.ticks[len(sc.ticks)-1]
	switch f[0] {
	case "broker":
		return eachPair(f[1:], func(q, v string) error {
			tk.broker[q], err = strconv.ParseInt(v, 10, 64)
			return err
		})
	case "want":
		return eachPair(f[1:], func(q, v string) error {
			n, src, _ := strings.Cut(v, "/")
			d, err := strconv.ParseInt(n, 10, 64)
			tk.want[q] = queueDepth{depth: d, source: src}
			return err
		})
	case "svc":
		return sc.service(tk, f[1:])
	case "checkpoint":
		r := newScrapeResult()
		if err := sc.service(&scriptTick{scrape: r}, f[1:]); err != nil {
			return err
		}
		tk.checkpoints = append(tk.checkpoints, checkpoint{url: f[1], s: r.services[f[1]]})
		return nil
	}
	return fmt.Errorf("unknown line %q", f[0])
}

// service reads "NAME down", "NAME nocounters", "NAME offbus" or "NAME
// start=T Q=PUB/SET ...".
func (sc *script) service(tk *scriptTick, f []string) error {
	if len(f) < 2 {
		return fmt.Errorf("svc needs a name and an answer")
	}
	name := f[0]
	if !slices.Contains(sc.services, name) {
		sc.services = append(sc.services, name)
	}
	switch f[1] {
	case "down":
		tk.scrape.failed(name)
		return nil
	case "nocounters":
		tk.scrape.services[name] = serviceScrape{ok: true}
		return nil
	case "offbus":
		tk.scrape.services[name] = serviceScrape{ok: true, offBus: true}
		return nil
	}
	s := serviceScrape{ok: true, counts: true, pub: map[string]float64{}, set: map[string]float64{}}
	err := eachPair(f[1:], func(k, v string) error {
		if k == "start" {
			var err error
			s.start, err = strconv.ParseFloat(v, 64)
			return err
		}
		p, st, ok := strings.Cut(v, "/")
		if !ok {
			return fmt.Errorf("%s=%s: want PUBLISHED/SETTLED", k, v)
		}
		var err1, err2 error
		s.pub[k], err1 = strconv.ParseFloat(p, 64)
		s.set[k], err2 = strconv.ParseFloat(st, 64)
		if err1 != nil {
			return err1
		}
		return err2
	})
	tk.scrape.services[name] = s
	return err
}

func eachPair(fields []string, f func(k, v string) error) error {
	for _, kv := range fields {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("%q: want KEY=VALUE", kv)
		}
		if err := f(k, v); err != nil {
			return fmt.Errorf("%s: %w", kv, err)
		}
	}
	return nil
}
