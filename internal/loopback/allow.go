package loopback

import (
	"fmt"
	"net"
	"slices"
	"strings"
)

// Allowlist replaces the loopback-only rule where the targets are not on
// this machine (a cluster): an address is allowed if it is on loopback or
// names one of the listed hosts, with the listed port when an entry gives
// one. Names are compared as written, so a Service allowed as
// "rr-gateway" does not admit "rr-gateway.other-namespace". A nil
// *Allowlist is the loopback-only rule.
type Allowlist struct {
	entries []allowed
}

type allowed struct{ host, port string }

// NewAllowlist reads entries of the form HOST or HOST:PORT (a Service's
// name, its namespaced DNS name, or an IP). An empty list is refused:
// the loopback rule needs no list, and an empty one allowing nothing but
// loopback is almost certainly a configuration that lost its value.
func NewAllowlist(entries []string) (*Allowlist, error) {
	a := &Allowlist{}
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		host, port, err := net.SplitHostPort(e)
		if err != nil {
			host, port = e, ""
		}
		if host == "" || strings.ContainsAny(host, "/ ") || host == "*" {
			return nil, fmt.Errorf("allowlist entry %q: want HOST or HOST:PORT naming one target (no wildcard)", e)
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			return nil, fmt.Errorf("allowlist entry %q: the unspecified address is not a target", e)
		}
		a.entries = append(a.entries, allowed{strings.ToLower(host), port})
	}
	if len(a.entries) == 0 {
		return nil, fmt.Errorf("the allowlist is empty: name the targets the harness may drive, e.g. rr-gateway:7000")
	}
	return a, nil
}

// ParseAllowlist reads a comma-separated list ("" gives nil: loopback only).
func ParseAllowlist(list string) (*Allowlist, error) {
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	return NewAllowlist(strings.Split(list, ","))
}

// Check allows addr if it is a loopback HOST:PORT or matches an entry.
func (a *Allowlist) Check(addr string) error {
	if a == nil {
		return Check(addr)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not HOST:PORT: %w", addr, err)
	}
	if Check(addr) == nil {
		return nil
	}
	h := strings.ToLower(host)
	if slices.ContainsFunc(a.entries, func(e allowed) bool { return e.host == h && (e.port == "" || e.port == port) }) {
		return nil
	}
	return fmt.Errorf("%q is not in the harness's allowlist (%s): it drives only the targets its configuration names; add it to --allow (EDABENCH_ALLOW) if it is your twin", addr, a)
}

// String lists the entries as given to NewAllowlist.
func (a *Allowlist) String() string {
	if a == nil {
		return "loopback only"
	}
	var s []string
	for _, e := range a.entries {
		if e.port == "" {
			s = append(s, e.host)
		} else {
			s = append(s, net.JoinHostPort(e.host, e.port))
		}
	}
	return strings.Join(s, ",")
}
