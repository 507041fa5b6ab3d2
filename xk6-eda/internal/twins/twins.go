// Package twins starts an edabench twin the way the harness does
// (harness/launch: one process per service) for k6 runs, and tells a k6
// script where it is through environment variables.
package twins

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/edabench/edabench/internal/twinkind"
	"github.com/edabench/edabench/xk6-eda/internal/k6build"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/launch"
	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/drivers"
	"github.com/edabench/edabench/targets/eda"
	"github.com/edabench/edabench/targets/ops"
	"github.com/edabench/edabench/targets/workflow"
)

// Running is a started twin.
type Running struct {
	Twin   *launch.Twin
	Name   string // rr, eda or hybrid
	Prefix string // EDA, hybrid: the queue prefix
	// Broker is the driver the twin runs over (EDA, hybrid): rabbitmq,
	// kafka or nats; over Kafka and NATS it declares k6's end queue,
	// PREFIX.k6.
	Broker string
	node   brokernode.Node
	// release deletes what is left under Prefix and the node's record of it.
	release func(context.Context)
}

// Start starts the twin (rr, eda or hybrid) with the binary built by
// launch.BuildTarget (or `make build`), logs and data under dir. A twin
// over the broker uses node and a prefix of its own, so runs sharing the
// broker never see each other's messages.
func Start(ctx context.Context, node brokernode.Node, binary, dir, twin string) (*Running, error) {
	return StartOver(ctx, node, "", binary, dir, twin)
}

// StartOver is Start over the named broker driver ("" is RabbitMQ) on
// node, a node of that broker. Over Kafka the twin declares k6's end
// queue, PREFIX.k6 (the k6 client's default), since its driver produces
// an order's end only to the queues its services declared.
func StartOver(ctx context.Context, node brokernode.Node, broker, binary, dir, twin string) (*Running, error) {
	if broker == "" {
		broker = bus.RabbitMQ
	}
	spec := launch.Spec{Twin: twin, Topology: workflow.Chain, Binary: binary, Dir: dir, Seed: 1}
	r := &Running{Name: twin, Broker: broker, node: node, release: func(context.Context) {}}
	if twinkind.Of(twin).UsesBroker() {
		b := make([]byte, 4)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		r.Prefix = "k6test" + hex.EncodeToString(b)
		spec.URL, spec.Prefix, spec.Broker = node.ClientURL(), r.Prefix, broker
		if routesItself(broker) {
			spec.EndQueue = r.EndQueue()
		}
		// Recorded before the services declare it, so a killed k6 run's
		// queues (k6's own <prefix>.k6.<run> too) go at the next node start.
		r.release = node.Claim(ctx, brokernode.Topology{Prefixes: []string{r.Prefix}})
	}
	tw, err := launch.Start(ctx, spec)
	if err != nil {
		r.release(ctx)
		return nil, fmt.Errorf("start the %s twin: %w", twin, err)
	}
	r.Twin = tw
	return r, nil
}

// Env is what the example scripts read: TWIN, GRPC, and for a twin over the
// broker (EDA, hybrid) PREFIX and METRICS (the services' /metrics URLs,
// comma separated, for eda_consumer_lag_seconds), with AMQP and MGMT over
// RabbitMQ, BROKER, BROKER_URL and END_QUEUE over Kafka and NATS.
func (r *Running) Env() []string {
	env := []string{"TWIN=" + r.Name, "GRPC=" + r.Twin.GatewayAddr()}
	if twinkind.Of(r.Name).UsesBroker() {
		var urls []string
		for _, svc := range r.Twin.Services() {
			urls = append(urls, "http://"+r.Twin.HTTPAddr(svc)+"/metrics")
		}
		env = append(env, "PREFIX="+r.Prefix, "METRICS="+strings.Join(urls, ","))
		if r.Broker == bus.RabbitMQ {
			env = append(env, "AMQP="+r.node.ClientURL(), "MGMT="+r.node.AdminURL())
		} else {
			env = append(env, "BROKER="+r.Broker, "BROKER_URL="+r.node.ClientURL(), "END_QUEUE="+r.EndQueue())
		}
	}
	return env
}

// Applied is how many orders the step applied, from its service's audit
// (GET /audit?totals=1). For the notification step, the last of the chain,
// it is the number of orders that completed.
func (r *Running) Applied(ctx context.Context, step workflow.Step) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	url := "http://" + r.Twin.HTTPAddr(string(step)) + "/audit?totals=1"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("audit %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("audit %s: %s", url, resp.Status)
	}
	var a ops.Audit
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		return 0, fmt.Errorf("audit %s: %w", url, err)
	}
	t, ok := a.Steps[step]
	if !ok {
		return 0, fmt.Errorf("audit %s: no step %s in the reply", url, step)
	}
	return t.Applied, nil
}

// Stop stops the services and, for the EDA twin, deletes its queues and
// exchanges so the shared broker does not collect idle quorum queues.
func (r *Running) Stop(ctx context.Context) error {
	err := r.Twin.Stop(ctx)
	if twinkind.Of(r.Name).UsesBroker() {
		cfg := eda.Config{Prefix: r.Prefix, Topology: workflow.Chain, SyncPayment: twinkind.Of(r.Name).HandsOff()}
		cfg.Driver = r.Broker
		if routesItself(r.Broker) {
			cfg.EndQueue = r.EndQueue()
		}
		if derr := eda.DeleteTopology(ctx, r.node.ClientURL(), cfg); derr != nil && err == nil {
			err = derr
		}
		r.release(ctx)
	}
	return err
}

// EndQueue is k6's end queue over Kafka: PREFIX.k6.
func (r *Running) EndQueue() string { return r.Prefix + ".k6" }

// BuildTarget compiles the twins' binary (targets/cmd/target) into dir, in
// the edabench checkout xk6-eda's go.mod replaces its parent with, so it is
// built with the parent module's own dependency versions, as `make build`
// builds it.
func BuildTarget(ctx context.Context, dir string) (string, error) {
	ext, err := k6build.ExtensionDir(ctx, "go")
	if err != nil {
		return "", err
	}
	root, err := k6build.ParentDir(ctx, "go", ext)
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "target")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./targets/cmd/target")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./targets/cmd/target in %s: %w\n%s", root, err, b)
	}
	return out, nil
}

// routesItself says whether broker's driver routes by the topology its
// services declared (bus.Kind.RoutesItself): k6's end queue is then the
// twin's to declare.
func routesItself(broker string) bool {
	k, err := drivers.Builtin().Lookup(broker)
	return err == nil && k.RoutesItself
}
