package drivers_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// brokerClients are the packages of the broker protocols' client modules.
var brokerClients = []string{"github.com/rabbitmq/amqp091-go", "github.com/twmb/franz-go", "github.com/nats-io/nats.go"}

// mayImportClients are the only packages of targets/ and harness/ whose
// code or tests import a broker client: the drivers and the nodes (with
// their test helpers). Everything else
// talks to a broker through the bus layer or the node interface, so a new
// broker is a new driver, not an edit across the tree.
var mayImportClients = map[string]bool{
	"github.com/edabench/edabench/targets/bus/rabbitmq":        true,
	"github.com/edabench/edabench/targets/bus/kafka":           true,
	"github.com/edabench/edabench/harness/broker":              true,
	"github.com/edabench/edabench/harness/kafkanode":           true,
	"github.com/edabench/edabench/harness/kafkanode/kafkatest": true,
	"github.com/edabench/edabench/targets/bus/nats":            true,
	"github.com/edabench/edabench/harness/natsnode":            true,
}

func TestOnlyDriversImportBrokerClients(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}`,
		"github.com/edabench/edabench/targets/...", "github.com/edabench/edabench/harness/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s(is the go command on PATH?)", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || mayImportClients[f[0]] {
			continue
		}
		for _, imp := range f[1:] {
			for _, client := range brokerClients {
				if strings.HasPrefix(imp, client) {
					t.Errorf("%s imports %s: go through the bus layer (targets/bus) or the broker node (harness/brokernode) instead", f[0], imp)
				}
			}
		}
	}
}
