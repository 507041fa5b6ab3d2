// Package netprofile names the network a twin is deployed on: a one-way
// latency with jitter (and optionally a bandwidth) that every hop of the
// twin carries for the whole run, as if its services ran on separate hosts.
// The named profiles' figures come from published measurements, cited in
// docs/verdict.md ("Deployment profiles").
package netprofile

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/edabench/edabench/harness/hops"
)

// The named profiles.
const (
	// Loopback adds nothing: every hop is loopback TCP on one machine, the
	// harness's historical setting, and no proxy is placed.
	Loopback = "loopback"
	// Datacenter is two hosts in one availability zone: a 0.5 ms round
	// trip (one way 250 µs ± 50 µs).
	Datacenter = "datacenter"
	// CrossZone is two hosts in different zones of one region: a 1.5 ms
	// round trip (one way 750 µs ± 150 µs).
	CrossZone = "cross-zone"
	// Custom names a profile given by its figures.
	Custom = "custom"
)

// Profile is one network: what every hop adds.
type Profile struct {
	Name string
	// Latency is added each way; a request-reply crossing a hop waits twice
	// this. Jitter varies each chunk's delay uniformly by up to ± Jitter.
	Latency, Jitter time.Duration
	// BandwidthKBps throttles each direction of a hop; 0 means no limit.
	BandwidthKBps int64
}

// named are the built-in profiles. The figures: docs/verdict.md cites the
// published round trips they halve.
func named() []Profile {
	return []Profile{
		{Name: Loopback},
		{Name: Datacenter, Latency: 250 * time.Microsecond, Jitter: 50 * time.Microsecond},
		{Name: CrossZone, Latency: 750 * time.Microsecond, Jitter: 150 * time.Microsecond},
	}
}

// Names lists the named profiles.
func Names() []string {
	var out []string
	for _, p := range named() {
		out = append(out, p.Name)
	}
	return out
}

// Named returns the named profile, or an error listing the names.
func Named(name string) (Profile, error) {
	for _, p := range named() {
		if p.Name == name {
			return p, nil
		}
	}
	return Profile{}, fmt.Errorf("network %q: want %s, or a custom profile {latency: 1ms, jitter: 200us, bandwidth_kbps: 12500}",
		name, strings.Join(Names(), ", "))
}

// Parse reads a profile from the CLI: a name, or the custom form
// "latency=1ms,jitter=200us,bandwidth_kbps=12500".
func Parse(s string) (Profile, error) {
	if !strings.Contains(s, "=") {
		return Named(s)
	}
	p := Profile{Name: Custom}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return Profile{}, fmt.Errorf("network %q: %q is not key=value; write e.g. latency=1ms,jitter=200us", s, kv)
		}
		if err := p.Set(k, v); err != nil {
			return Profile{}, fmt.Errorf("network %q: %w", s, err)
		}
	}
	return p, p.Check()
}

// Keys are the fields of a custom profile.
func Keys() []string { return []string{"latency", "jitter", "bandwidth_kbps"} }

// Set sets one field of a custom profile from its text.
func (p *Profile) Set(key, val string) error {
	switch key {
	case "latency", "jitter":
		d, err := time.ParseDuration(val)
		if err != nil {
			return fmt.Errorf("%s %q: not a duration; write e.g. 1ms or 200us", key, val)
		}
		if key == "latency" {
			p.Latency = d
		} else {
			p.Jitter = d
		}
	case "bandwidth_kbps":
		var n int64
		if _, err := fmt.Sscan(val, &n); err != nil {
			return fmt.Errorf("bandwidth_kbps %q: not a whole number of KB/s", val)
		}
		p.BandwidthKBps = n
	default:
		return fmt.Errorf("unknown key %q; allowed: %s", key, strings.Join(Keys(), ", "))
	}
	return nil
}

// Check reports a profile that cannot be applied.
func (p Profile) Check() error {
	switch {
	case p.Latency < 0 || p.Jitter < 0:
		return fmt.Errorf("latency %v and jitter %v must not be negative", p.Latency, p.Jitter)
	case p.Jitter > p.Latency:
		return fmt.Errorf("jitter %v exceeds latency %v: a delay cannot be negative; lower the jitter", p.Jitter, p.Latency)
	case p.BandwidthKBps < 0:
		return fmt.Errorf("bandwidth_kbps %d must not be negative (0: no limit)", p.BandwidthKBps)
	case p.Name == Custom && p.IsZero():
		return fmt.Errorf("a custom network adds nothing: give latency (e.g. 1ms) or bandwidth_kbps, or use %s", Loopback)
	case p.Name != Custom && !slices.Contains(Names(), p.Name):
		return fmt.Errorf("network %q: want %s or a custom profile", p.Name, strings.Join(Names(), ", "))
	}
	return nil
}

// IsZero reports a profile that adds nothing (loopback): no proxy needed.
func (p Profile) IsZero() bool { return p.Latency == 0 && p.Jitter == 0 && p.BandwidthKBps == 0 }

// RoundTrip is what a request-reply crossing one hop waits on average.
func (p Profile) RoundTrip() time.Duration { return 2 * p.Latency }

// String is the name with its figures, for the report.
func (p Profile) String() string {
	if p.IsZero() {
		return p.Name
	}
	s := fmt.Sprintf("%s (one way %v ± %v", p.Name, p.Latency, p.Jitter)
	if p.BandwidthKBps > 0 {
		s += fmt.Sprintf(", %d KB/s", p.BandwidthKBps)
	}
	return s + ")"
}

// JSON is the profile as summary.json records it (docs/results.md).
type JSON struct {
	Name          string  `json:"name"`
	LatencyMs     float64 `json:"latency_ms"`
	JitterMs      float64 `json:"jitter_ms"`
	RoundTripMs   float64 `json:"round_trip_ms"`
	BandwidthKBps int64   `json:"bandwidth_kbps,omitempty"`
}

// JSON gives the profile's record.
func (p Profile) JSON() JSON {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return JSON{Name: p.Name, LatencyMs: ms(p.Latency), JitterMs: ms(p.Jitter), RoundTripMs: ms(p.RoundTrip()), BandwidthKBps: p.BandwidthKBps}
}

// Degradation is what the profile does to every hop's proxy.
func (p Profile) Degradation() hops.Degradation {
	return hops.Degradation{Latency: p.Latency, Jitter: p.Jitter, RateKBps: p.BandwidthKBps}
}
