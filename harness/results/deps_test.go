package results

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// brokerClient is the AMQP client module: only what talks to a broker may
// link it.
const brokerClient = "github.com/rabbitmq/amqp091-go"

// The packages that read a run's files show or judge figures already
// measured: none needs the broker client, and linking it would tie every
// broker driver's types to them.
func TestReadersDoNotLinkTheBrokerClient(t *testing.T) {
	readers := []string{
		"github.com/edabench/edabench/harness/results",
		"github.com/edabench/edabench/harness/gate",
		"github.com/edabench/edabench/harness/report",
		"github.com/edabench/edabench/harness/compare",
		"github.com/edabench/edabench/harness/verdict",
		"github.com/edabench/edabench/dashboards/cmd/plot",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, pkg := range readers {
		t.Run(pkg[strings.LastIndex(pkg, "/")+1:], func(t *testing.T) {
			// -test: the packages' tests count too.
			out, err := exec.CommandContext(ctx, "go", "list", "-deps", "-test", pkg).CombinedOutput()
			if err != nil {
				t.Fatalf("go list -deps -test %s: %v\n%s(is the go command on PATH?)", pkg, err, out)
			}
			for _, dep := range strings.Fields(string(out)) {
				if strings.HasPrefix(dep, brokerClient) {
					t.Fatalf("%s links %s: find the import with `go list -deps -test -f '{{.ImportPath}}: {{.Imports}}' %s | grep -e amqp -e broker`", pkg, brokerClient, pkg)
				}
			}
		})
	}
}
