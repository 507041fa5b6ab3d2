// Command target runs one service of one edabench twin as its own OS process
// (so faults can kill, pause or starve it), or a whole twin in one process
// for quick local use. See `target --help`; `edabench serve` is the same
// code, for an installed edabench with no target binary beside it.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/edabench/edabench/targets/serve"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := serve.Main(ctx, "target", os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
