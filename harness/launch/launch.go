// Package launch starts a twin as one OS process per service, so faults can
// kill, pause or starve one of them, and stops them all.
package launch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/edabench/edabench/harness/hops"
	"github.com/edabench/edabench/harness/supervise"
	"github.com/edabench/edabench/internal/twinkind"
	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/drivers"
	"github.com/edabench/edabench/targets/workflow"
)

// Spec is one twin to start.
type Spec struct {
	Twin     string // "rr", "eda" or "hybrid"
	Topology workflow.Topology
	Steps    int    // how many steps of the workflow run (0: all 4); only their services start
	Binary   string // the target binary (see BuildTarget), or a command that serves as one (see BinaryArgs)
	// BinaryArgs go before every service's flags: {"serve"} when Binary is
	// edabench itself, whose serve subcommand is the target's code (an
	// installed edabench has no target binary and no source to build one).
	BinaryArgs []string
	Dir        string // logs/ and data/ go here
	// Broker names the broker driver of the twins over the broker (EDA,
	// hybrid): a name in drivers.Builtin(), "" meaning RabbitMQ. URL is its
	// client URL in the driver's form (amqp://... for RabbitMQ, HOST:PORT
	// for Kafka); Prefix keeps twins sharing a broker apart (default
	// "edabench").
	Broker, URL, Prefix string
	// EndQueue is the harness's queue of the order ends, declared by the
	// twin (eda.Config.EndQueue); "" for none.
	EndQueue  string
	Cost      string            // --cost for every step
	StepCosts map[string]string // step -> --step-cost spec
	Args      []string          // extra flags for every service
	Seed      uint64
	// Hops, if set, gets a proxy on every hop, for network faults: a caller
	// reaches each step called over gRPC (every RR step, the hybrid's
	// payment) through one, and every service that talks to the broker
	// (EDA, the hybrid's others) reaches it through one. Named by service:
	// no service has both.
	Hops *hops.Set
}

// Twin is a running twin.
type Twin struct {
	spec  Spec
	mu    sync.Mutex
	procs map[string]*supervise.Process
	args  map[string][]string
	// order is the start order: downstream first, gateway last, so the
	// steps a service calls over gRPC (RR's, the hybrid's payment) already
	// listen when it starts.
	order []string
	via   map[string]string // service -> the proxy in front of its hop
}

// Plan is the workflow the twin runs.
func (s Spec) Plan() workflow.Plan { return workflow.Plan{Topology: s.Topology, N: s.Steps} }

// Services lists the service names of the whole workflow in start order;
// Twin.Services lists those a twin actually runs.
func Services(t workflow.Topology) []string { return services(workflow.Plan{Topology: t}) }

// services lists the plan's service names in start order.
func services(p workflow.Plan) []string {
	steps := p.Steps()
	out := make([]string, 0, len(steps)+1)
	// Downstream first, so an RR service's peers already listen when it starts.
	for i := len(steps) - 1; i >= 0; i-- {
		out = append(out, string(steps[i]))
	}
	return append(out, "gateway")
}

// Start starts every service and waits until each is ready. On failure it
// stops what it started.
func Start(ctx context.Context, spec Spec) (*Twin, error) {
	if err := twinkind.Check(spec.Twin); err != nil {
		return nil, fmt.Errorf("launch: %w", err)
	}
	if spec.Prefix == "" {
		spec.Prefix = "edabench"
	}
	if spec.Topology == "" {
		spec.Topology = workflow.Chain
	}
	if spec.Steps == 0 {
		spec.Steps = workflow.MaxSteps
	}
	if err := spec.Plan().Validate(); err != nil {
		return nil, fmt.Errorf("launch %s twin: %w", spec.Twin, err)
	}
	t := &Twin{spec: spec, procs: map[string]*supervise.Process{}, args: map[string][]string{}, order: services(spec.Plan()), via: map[string]string{}}
	// Fixed ports, picked now: a killed RR step must come back on the
	// address its caller knows.
	ports, https := map[string]string{}, map[string]string{}
	for _, svc := range t.order {
		for _, m := range []map[string]string{ports, https} {
			addr, err := FreeAddr()
			if err != nil {
				return nil, err
			}
			m[svc] = addr
		}
	}
	for _, svc := range t.order {
		// A port picked free can be taken before the child binds it (by an
		// outgoing connection, or another run): pick again and retry. The
		// callers' --peer flags are built later, from the final ports.
		var err error
		if spec.Hops != nil && twinkind.Of(spec.Twin).ServiceUsesBroker(svc) {
			err = t.proxyBroker(svc)
		}
		for attempt := 0; err == nil; attempt++ {
			t.args[svc] = t.serviceArgs(svc, ports, https[svc])
			_, err = t.start(ctx, svc)
			if err == nil || attempt == 2 || !strings.Contains(err.Error(), "address already in use") {
				break
			}
			if ports[svc], err = FreeAddr(); err != nil {
				break
			}
			if https[svc], err = FreeAddr(); err != nil {
				break
			}
		}
		if err == nil && spec.Hops != nil && twinkind.Of(spec.Twin).CalledOverGRPC(svc) {
			t.via[svc], err = spec.Hops.Add(svc, ports[svc])
		}
		if err != nil {
			t.Stop(context.WithoutCancel(ctx))
			return nil, err
		}
	}
	return t, nil
}

// proxyBroker routes svc's broker connection through a proxy of its own.
func (t *Twin) proxyBroker(svc string) error {
	host, err := brokerHost(t.spec.URL)
	if err != nil {
		return err
	}
	if t.via[svc], err = t.spec.Hops.Add(svc, host); err != nil {
		return err
	}
	return nil
}

// brokerHost is the HOST:PORT of a broker URL: a URL with a scheme
// (RabbitMQ's amqp://) or a bare address (Kafka's seed broker).
func brokerHost(raw string) (string, error) {
	if strings.Contains(raw, ",") {
		return "", fmt.Errorf("broker URL %q lists several nodes (a cluster): a network fault or profile (--network) on a service's broker link proxies one node; run it on the single node (no --cluster) or with --network loopback", raw)
	}
	if !strings.Contains(raw, "://") {
		if _, _, err := net.SplitHostPort(raw); err != nil {
			return "", fmt.Errorf("broker URL %q: want SCHEME://HOST:PORT/ or HOST:PORT: %w", raw, err)
		}
		return raw, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("broker URL: %w", err)
	}
	return u.Host, nil
}

// brokerURL is the broker's URL as svc should dial it: through its proxy,
// if it has one, in the same form as Spec.URL.
func (t *Twin) brokerURL(svc string) string {
	addr, ok := t.via[svc]
	if !ok {
		return t.spec.URL
	}
	if !strings.Contains(t.spec.URL, "://") {
		return addr // a bare HOST:PORT (Kafka)
	}
	u, _ := url.Parse(t.spec.URL) // parsed by proxyBroker already
	u.Host = addr
	return u.String()
}

// peerAddr is where a caller reaches step: its proxy, if it has one.
func (t *Twin) peerAddr(step string, ports map[string]string) string {
	if addr, ok := t.via[step]; ok {
		return addr
	}
	return ports[step]
}

// Hops are the twin's proxies, nil if it has none.
func (t *Twin) Hops() *hops.Set { return t.spec.Hops }

// serviceArgs gives every service fixed ports, gRPC and HTTP alike: a
// service killed by a fault comes back where its callers, the lag sampler
// and the fault injector know it.
func (t *Twin) serviceArgs(svc string, ports map[string]string, httpAddr string) []string {
	s := t.spec
	args := []string{"--twin", s.Twin, "--service", svc, "--topology", string(s.Topology), "--steps", fmt.Sprint(s.Steps),
		"--http", httpAddr, "--seed", fmt.Sprint(s.Seed),
		// The cost faults change a step's cost model through /admin/cost,
		// which a service serves only when asked to.
		"--admin",
		"--data-dir", filepath.Join(s.Dir, "data", s.Twin)}
	if svc == "gateway" || twinkind.Of(s.Twin).CalledOverGRPC(svc) {
		args = append(args, "--listen", ports[svc])
	}
	if twinkind.Of(s.Twin).ServiceUsesBroker(svc) {
		broker := s.Broker
		if broker == "" {
			broker = bus.RabbitMQ
		}
		// An unknown broker was refused before a twin is launched; its
		// zero Kind adds no flag, and the service names the problem.
		kind, _ := drivers.Builtin().Lookup(broker)
		args = append(args, "--broker", broker, "--broker-url", t.brokerURL(svc), "--prefix", s.Prefix)
		if _, proxied := t.via[svc]; proxied && kind.ProxiedFlag != "" {
			args = append(args, "--"+kind.ProxiedFlag)
		}
		if s.EndQueue != "" {
			args = append(args, "--end-queue", s.EndQueue)
		}
	}
	if svc != "gateway" {
		if s.Cost != "" {
			args = append(args, "--cost", s.Cost)
		}
		if c, ok := s.StepCosts[svc]; ok {
			args = append(args, "--step-cost", svc+"="+c)
		}
	}
	// Every step a service may call; the target ignores those it does not.
	// The hybrid's gateway calls payment alone, and nothing calls its others.
	for _, st := range s.Plan().Steps() {
		if twinkind.Of(s.Twin).Calls(svc, string(st)) {
			args = append(args, "--peer", string(st)+"="+t.peerAddr(string(st), ports))
		}
	}
	return append(args, s.Args...)
}

func (t *Twin) start(ctx context.Context, svc string) (*supervise.Process, error) {
	p, err := supervise.Start(ctx, supervise.Spec{
		Name:    t.spec.Twin + "-" + svc,
		Path:    t.spec.Binary,
		Args:    append(slices.Clone(t.spec.BinaryArgs), t.args[svc]...),
		LogPath: filepath.Join(t.spec.Dir, "logs", t.spec.Twin+"-"+svc+".log"),
	})
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.procs[svc] = p
	t.mu.Unlock()
	return p, nil
}

// Restart starts a service again with the flags it first had (after a kill).
// It stops the old process first if it still runs.
func (t *Twin) Restart(ctx context.Context, svc string) error {
	p := t.Process(svc)
	if p == nil {
		return fmt.Errorf("%s twin has no service %q", t.spec.Twin, svc)
	}
	if !p.Exited() {
		p.Stop(ctx, 5*time.Second)
	}
	_, err := t.start(ctx, svc)
	return err
}

// Process returns the current process of a service.
func (t *Twin) Process(svc string) *supervise.Process {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.procs[svc]
}

// Services lists the services this twin runs, in start order.
func (t *Twin) Services() []string { return slices.Clone(t.order) }

// GatewayAddr is the gRPC address of the twin's OrderService.
func (t *Twin) GatewayAddr() string { return t.Process("gateway").Ready().GRPC }

// HTTPAddr is a service's ops address (/metrics, /audit, /admin/cost).
func (t *Twin) HTTPAddr(svc string) string { return t.Process(svc).Ready().HTTP }

// Spec is what the twin was started with.
func (t *Twin) Spec() Spec { return t.spec }

// Stop stops every service, gateway first (so no new work enters), and
// reports every service that did not stop cleanly.
func (t *Twin) Stop(ctx context.Context) error {
	var errs []error
	for i := len(t.order) - 1; i >= 0; i-- {
		p := t.Process(t.order[i])
		if p == nil {
			continue
		}
		if err := p.Stop(ctx, 10*time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// FreeAddr is a loopback address whose port is free right now, for a child
// process to listen on.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("pick a free loopback port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// BuildTarget compiles the target binary into dir and returns its path.
func BuildTarget(ctx context.Context, dir string) (string, error) {
	root, err := ModuleRoot(ctx)
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "target")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./targets/cmd/target")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./targets/cmd/target: %w\n%s", err, b)
	}
	return out, nil
}

// ModuleRoot is the directory of edabench's go.mod.
func ModuleRoot(ctx context.Context) (string, error) {
	b, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(b))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the edabench module: run from the repository")
	}
	return filepath.Dir(mod), nil
}
