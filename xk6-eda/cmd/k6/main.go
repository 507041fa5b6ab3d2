// Command k6 is k6 with the xk6-eda extension built in, as the xk6 builder
// generates it: `make k6` builds it into bin/k6.
package main

import (
	k6cmd "go.k6.io/k6/cmd"

	_ "github.com/edabench/edabench/xk6-eda"
)

func main() {
	k6cmd.Execute()
}
