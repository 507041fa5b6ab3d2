// Command k6build is `make k6`: it builds k6 with the xk6-eda extension as
// the xk6 builder would (internal/k6build), so that `k6 version` lists the
// extension with its module path and version.
//
//	go run -C xk6-eda ./cmd/k6build --out bin/k6
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/edabench/edabench/xk6-eda/internal/k6build"
)

func main() {
	out := flag.String("out", "", "the k6 binary to write (required), e.g. bin/k6")
	ext := flag.String("ext", "", "xk6-eda's directory (default: found from the working directory)")
	k6 := flag.String("k6-version", "", "the k6 version to build (default: the one xk6-eda's go.mod requires, the one it is tested with)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := k6build.Build(ctx, k6build.Options{Out: *out, ExtDir: *ext, K6Version: *k6}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
