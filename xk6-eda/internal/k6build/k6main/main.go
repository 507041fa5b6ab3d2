//go:build k6main

// Command k6 is k6 with the xk6-eda extension, written into the main module
// that k6build generates (as the xk6 builder writes its main.go). The build
// tag keeps it out of this module's own builds, while `go mod tidy` (which
// sees every tag) still records the checksums of k6's whole command tree in
// xk6-eda's go.sum: the generated module starts from that go.sum and builds
// with no checksum database to ask.
package main

import (
	k6cmd "go.k6.io/k6/cmd"

	_ "github.com/edabench/edabench/xk6-eda"
)

func main() {
	k6cmd.Execute()
}
