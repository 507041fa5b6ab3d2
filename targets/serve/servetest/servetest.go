// Package servetest runs real twin services in a test's own process, for
// tests that need an edabench gateway to talk to without starting children.
package servetest

import (
	"github.com/edabench/edabench/internal/twinkind"
	"io"
	"testing"

	"github.com/edabench/edabench/targets/serve"
)

// RRGateway runs a whole RR twin in this process through the target's own
// code (what bin/target and edabench serve run) and returns its gateway's
// gRPC address; the twin stops with the test.
func RRGateway(t *testing.T) string {
	t.Helper()
	r, stop, err := serve.InProcess(t.Context(), []string{"--twin", twinkind.RR, "--service", "all", "--log-level", "error"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop() })
	return r.GRPC
}
