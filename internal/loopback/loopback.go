// Package loopback holds edabench to this machine: every address it serves
// on, calls or loads must be on 127.0.0.0/8 or ::1.
package loopback

import (
	"fmt"
	"net"
)

// Check refuses an address that is not HOST:PORT on a loopback host.
func Check(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not HOST:PORT (want 127.0.0.1:PORT): %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address: edabench serves, calls and loads only 127.0.0.0/8 or [::1]", addr)
	}
	return nil
}
