// Package hops puts a Toxiproxy proxy, run in the harness's own process, on
// the network hops of a twin, so a fault can slow, throttle or cut one hop
// while the load runs: the link into each RR step from its caller, or an
// EDA service's link to the broker.
//
// Proxies are only placed when a scenario asks for a network fault or a
// network profile (harness/netprofile): a proxy costs a copy and a
// goroutine hop per message, which a loopback run without network faults
// should not measure. A profile is a base degradation every hop carries
// from the moment its proxy starts; faults add to it and undo only their
// own toxics.
package hops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/rs/zerolog"

	"github.com/edabench/edabench/internal/loopback"
)

// removeTimeout bounds the removal of a toxic: Toxiproxy v2.5.0 has been
// seen to hang there, and a fault must be undone on every exit path.
const removeTimeout = 5 * time.Second

// CutMode is how a cut hop fails.
type CutMode string

const (
	// Reset closes every connection with a TCP reset, and resets every new
	// one as soon as it sends: a crashed peer host, a firewall's RST.
	Reset CutMode = "reset"
	// Blackhole keeps connections open and drops all data both ways: a
	// partition, where the caller learns of it only from its own timeouts
	// (or AMQP heartbeats).
	Blackhole CutMode = "timeout"
)

// ParseCutMode accepts a cut's mode; "" means reset.
func ParseCutMode(s string) (CutMode, error) {
	switch CutMode(s) {
	case "", Reset:
		return Reset, nil
	case Blackhole:
		return Blackhole, nil
	}
	return "", fmt.Errorf("cut mode %q: want reset (connections reset) or timeout (held open, no data)", s)
}

// Degradation is what a network fault does to one hop.
type Degradation struct {
	// Latency is added each way, so a request-reply crossing the hop waits
	// twice this; Jitter varies it uniformly by up to ± Jitter.
	Latency, Jitter time.Duration
	// RateKBps throttles each direction to this many KB/s.
	RateKBps int64
	// Cut breaks the hop; "" leaves it up.
	Cut CutMode
}

// Set is the proxies of one twin, named by hop.
type Set struct {
	server *toxiproxy.ApiServer
	log    *slog.Logger

	mu      sync.Mutex
	proxies map[string]*toxiproxy.Proxy
	seq     int
	base    Degradation // every hop's, from its start (a network profile)
}

// New makes an empty set.
func New(log *slog.Logger) *Set {
	if log == nil {
		log = slog.Default()
	}
	// Toxiproxy logs every accepted connection; our logs say what matters.
	zl := zerolog.New(nil).Level(zerolog.Disabled)
	return &Set{server: toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zl), log: log, proxies: map[string]*toxiproxy.Proxy{}}
}

// Add starts a proxy for hop in front of upstream, listening on a free
// loopback port, and returns the address callers should use instead.
// Adding a hop again moves its proxy to the new upstream (a service that
// came back on another port).
func (s *Set) Add(hop, upstream string) (string, error) {
	if err := loopback.Check(upstream); err != nil {
		return "", fmt.Errorf("proxy for hop %s: %w", hop, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.proxies[hop]; ok {
		if p.Upstream != upstream {
			if err := p.Update(&toxiproxy.Proxy{Listen: p.Listen, Upstream: upstream, Enabled: true}); err != nil {
				return "", fmt.Errorf("proxy for hop %s: move to %s: %w", hop, upstream, err)
			}
		}
		return p.Listen, nil
	}
	p := toxiproxy.NewProxy(s.server, hop, "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		return "", fmt.Errorf("proxy for hop %s (to %s): %w", hop, upstream, err)
	}
	// The base goes on before anyone knows the address, so no connection
	// ever crosses the hop without it.
	for _, t := range plan(baseTag, s.base) {
		if err := addToxic(p, t); err != nil {
			p.Stop()
			return "", fmt.Errorf("proxy for hop %s: network profile: %w", hop, err)
		}
	}
	s.proxies[hop] = p
	s.log.Debug("proxy started", "hop", hop, "listen", p.Listen, "upstream", upstream)
	return p.Listen, nil
}

// baseTag names the toxics of the base degradation.
const baseTag = "profile"

// SetBase makes d the degradation every hop carries for as long as its
// proxy runs: a network profile. Only before the first Add, so that every
// hop carries the same.
func (s *Set) SetBase(d Degradation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.proxies) > 0 {
		return errors.New("set the network profile before placing the proxies, so every hop carries it from its start")
	}
	if d.Cut != "" {
		return errors.New("a network profile cannot cut hops")
	}
	s.base = d
	return nil
}

// Hops names the hops with a proxy, sorted.
func (s *Set) Hops() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.proxies))
	for h := range s.proxies {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

// Degrade applies d to hop and returns the function that undoes it.
func (s *Set) Degrade(ctx context.Context, hop string, d Degradation) (func(context.Context) error, error) {
	s.mu.Lock()
	p, ok := s.proxies[hop]
	s.seq++
	tag := fmt.Sprintf("edabench%d", s.seq)
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("no proxy on hop %q; hops with a proxy: %s", hop, strings.Join(s.Hops(), ", "))
	}
	plan := plan(tag, d)
	if len(plan) == 0 {
		return nil, fmt.Errorf("hop %s: the degradation changes nothing", hop)
	}
	var added []string
	undo := func(ctx context.Context) error {
		var errs []error
		for _, name := range added {
			errs = append(errs, remove(ctx, p, name))
		}
		return errors.Join(errs...)
	}
	for _, t := range plan {
		if err := addToxic(p, t); err != nil {
			err = fmt.Errorf("hop %s: %w", hop, err)
			return nil, errors.Join(err, undo(context.WithoutCancel(ctx)))
		}
		added = append(added, t.Name)
	}
	if d.Cut == Reset {
		// A reset toxic only fires when a connection sends; an idle one (a
		// gRPC channel between calls, an AMQP consumer waiting) would stay
		// up. Restarting the proxy closes every open link now, so all
		// callers reconnect into the reset.
		if err := restart(p); err != nil {
			return nil, errors.Join(fmt.Errorf("hop %s: drop open connections: %w", hop, err), undo(context.WithoutCancel(ctx)))
		}
	}
	s.log.Info("hop degraded", "hop", hop, "latency", d.Latency, "jitter", d.Jitter, "rate_kbps", d.RateKBps, "cut", d.Cut)
	return undo, nil
}

// Toxics lists the toxics in place on each hop, for checks that a run left
// none behind.
func (s *Set) Toxics() map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]string{}
	for h, p := range s.proxies {
		for _, t := range p.Toxics.GetToxicArray() {
			if w, ok := t.(*toxics.ToxicWrapper); ok {
				out[h] = append(out[h], w.Name)
			}
		}
	}
	return out
}

// Close removes every toxic and stops every proxy.
func (s *Set) Close(ctx context.Context) error {
	s.mu.Lock()
	proxies := s.proxies
	s.proxies = map[string]*toxiproxy.Proxy{}
	s.mu.Unlock()
	var errs []error
	for hop, p := range proxies {
		done := make(chan struct{})
		go func() {
			defer close(done)
			p.Toxics.ResetToxics(context.WithoutCancel(ctx))
			p.Stop()
		}()
		select {
		case <-done:
		case <-time.After(removeTimeout):
			errs = append(errs, fmt.Errorf("hop %s: stopping its proxy hung for %v", hop, removeTimeout))
		}
	}
	return errors.Join(errs...)
}

// plan is the toxics of d, both directions, named after tag.
func plan(tag string, d Degradation) []toxic {
	var out []toxic
	both := func(typ string, attrs map[string]any) {
		for _, dir := range []string{"upstream", "downstream"} {
			out = append(out, toxic{Name: tag + "-" + typ + "-" + dir, Type: typ, Stream: dir, Toxicity: 1, Attributes: attrs})
		}
	}
	if d.Latency > 0 || d.Jitter > 0 {
		both(delayType, map[string]any{"latency_us": d.Latency.Microseconds(), "jitter_us": d.Jitter.Microseconds()})
	}
	if d.RateKBps > 0 {
		both("bandwidth", map[string]any{"rate": d.RateKBps})
	}
	switch d.Cut {
	case Reset:
		both("reset_peer", map[string]any{"timeout": 0})
	case Blackhole:
		both("timeout", map[string]any{"timeout": 0})
	}
	return out
}

func addToxic(p *toxiproxy.Proxy, t toxic) error {
	b, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("encode %s toxic: %w", t.Type, err)
	}
	if _, err := p.Toxics.AddToxicJson(strings.NewReader(string(b))); err != nil {
		return fmt.Errorf("add %s toxic: %w", t.Type, err)
	}
	return nil
}

type toxic struct {
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Stream     string         `json:"stream"`
	Toxicity   float32        `json:"toxicity"`
	Attributes map[string]any `json:"attributes"`
}

// remove takes one toxic off, bounded in time; a hang is reported, never
// waited out.
func remove(ctx context.Context, p *toxiproxy.Proxy, name string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), removeTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Toxics.RemoveToxic(ctx, name) }()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, toxiproxy.ErrToxicNotFound) {
			return fmt.Errorf("hop %s: remove toxic %s: %w", p.Name, name, err)
		}
		return nil
	case <-ctx.Done():
		// The toxic is off the chain before the links are told, so new
		// connections are clean; restarting the proxy frees the stuck ones.
		if err := restart(p); err != nil {
			return fmt.Errorf("hop %s: removing toxic %s hung for %v, and restarting the proxy failed: %w", p.Name, name, removeTimeout, err)
		}
		return nil
	}
}

// restart closes every open connection of p and listens again on the same
// address.
func restart(p *toxiproxy.Proxy) error {
	listen, upstream := p.Listen, p.Upstream
	p.Stop()
	var err error
	// The port was ours a moment ago; a connection in TIME_WAIT does not
	// block a listener, but another process could take it in between.
	for range 20 {
		if err = p.Update(&toxiproxy.Proxy{Listen: listen, Upstream: upstream, Enabled: true}); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}
