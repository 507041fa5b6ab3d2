package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/edabench/edabench/harness/load"
	"github.com/edabench/edabench/harness/scenario"
	"github.com/edabench/edabench/targets/serve/servetest"
)

// run is edabench as the tests call it: with no executable of its own to
// serve the twins (the test binary cannot), so the runner's default stands.
func run(args []string, stdout, stderr io.Writer) int { return cli{}.run(args, stdout, stderr) }

// deadAddr is a loopback address nothing listens on: a port just released.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestRunRejectsBadInput(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dead, gw := deadAddr(t), servetest.RRGateway(t)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("name: bad\nstages:\n  - {name: a, duration: 10s, rate: -5}\n"), 0o644)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"help", []string{"help"}, 0, ""},
		{"unknown command", []string{"attack"}, 2, `unknown command "attack"`},
		{"unknown twin", []string{"run", "--twin", "kafka"}, 2, `unknown twin "kafka": want rr, eda, hybrid, both (rr and eda) or all`},
		{"negative rate", []string{"run", "--rate", "-10"}, 2, "--rate -10: must be positive"},
		{"negative duration", []string{"run", "--duration", "-1s"}, 2, "--duration -1s: must be positive"},
		{"no repetition", []string{"run", "--repeat", "0"}, 2, "--repeat 0: want 1 to 20"},
		{"unbounded repetitions", []string{"run", "--repeat", "21"}, 2, "--repeat 21: want 1 to 20"},
		{"unreadable scenario", []string{"run", "--scenario", "/no/such/file.yaml"}, 2, "/no/such/file.yaml"},
		{"unknown scenario name", []string{"run", "--scenario", "smok"}, 2, `no scenario named "smok" is built in: want one of capacity, chain,`},
		{"invalid scenario", []string{"run", "--scenario", bad}, 2, "stages[0].rate: -5 must be positive"},
		{"unknown arrival", []string{"run", "--arrival", "bursty"}, 2, `--arrival: arrival "bursty": want uniform, poisson or on-off`},
		{"bad topology", []string{"run", "--topology", "star"}, 2, `--topology "star": want chain or fanout`},
		{"unknown flag", []string{"run", "--speed", "1"}, 2, "flag provided but not defined: -speed"},
		{"unknown broker", []string{"run", "--broker", "pulsar", "--out", t.TempDir()}, 2, `edabench run: --broker: broker "pulsar": not a broker node edabench can run; use one of rabbitmq, kafka, nats`},
		{"stray argument", []string{"run", "smoke"}, 2, `unexpected argument "smoke"`},
		{"non-loopback target", []string{"run", "--twin", "rr", "--target", "192.0.2.7:7100", "--scenario", "smoke"}, 2, "is not a loopback address"},
		{"target with both twins", []string{"run", "--target", "127.0.0.1:7100", "--scenario", "smoke"}, 2, "pass --twin rr, eda or hybrid, not several"},
		{"target with every twin", []string{"run", "--twin", "all", "--target", "127.0.0.1:7100", "--scenario", "smoke"}, 2, "pass --twin rr, eda or hybrid, not several"},
		{"metrics port in use", []string{"run", "--twin", "rr", "--target", gw, "--scenario", "smoke",
			"--metrics-addr", busy.Addr().String(), "--out", t.TempDir()}, 2, "--metrics-addr " + busy.Addr().String()},
		{"target where nothing listens", []string{"run", "--twin", "rr", "--target", dead, "--out", t.TempDir()}, 2,
			"edabench run: --target " + dead + ": nothing listens there (connection refused); start the twin"},
		{"target that is no gRPC server", []string{"run", "--twin", "rr", "--target", busy.Addr().String(), "--out", t.TempDir()}, 2,
			"--target " + busy.Addr().String() + ": something listens there but does not answer gRPC"},
		{"amqp where nothing listens", []string{"run", "--twin", "eda", "--target", gw, "--amqp", "amqp://guest:guest@" + dead + "/", "--out", t.TempDir()}, 2,
			"--broker-url (--amqp) amqp://guest:xxxxx@" + dead + "/: " + dead + ": nothing listens there (connection refused)"},
		{"eda target without its broker", []string{"run", "--twin", "eda", "--target", gw, "--out", t.TempDir()}, 2,
			"--target with --twin eda needs --broker-url (--amqp on RabbitMQ) and --prefix"},
		{"amqp with kafka", []string{"run", "--twin", "eda", "--target", gw, "--broker", "kafka", "--amqp", "amqp://guest:guest@127.0.0.1:5682/"}, 2,
			"--amqp is RabbitMQ's broker URL; with --broker kafka give the running twin's as --broker-url"},
		{"amqp and broker-url disagree", []string{"run", "--twin", "eda", "--target", gw, "--amqp", "amqp://guest:guest@127.0.0.1:5682/", "--broker-url", "amqp://guest:guest@127.0.0.1:5683/"}, 2,
			"disagree: --amqp is another name for --broker-url"},
		{"rabbitmq url with kafka", []string{"run", "--twin", "eda", "--target", gw, "--broker", "kafka", "--broker-url", "amqp://guest:guest@127.0.0.1:5682/", "--out", t.TempDir()}, 2,
			"is a RabbitMQ (AMQP) URL: Kafka's is the seed broker's HOST:PORT"},
		{"kafka url with rabbitmq", []string{"run", "--twin", "eda", "--target", gw, "--broker-url", "127.0.0.1:9102", "--out", t.TempDir()}, 2,
			"not an AMQP URL"},
		{"kafka where nothing listens", []string{"run", "--twin", "hybrid", "--target", gw, "--broker", "kafka", "--broker-url", dead, "--out", t.TempDir()}, 2,
			"--broker-url " + dead + ": nothing listens there (connection refused); start the running twin's broker (go run ./harness/cmd/brokerctl up --broker kafka)"},
		{"nats where nothing listens", []string{"run", "--twin", "eda", "--target", gw, "--broker", "nats", "--broker-url", "nats://" + dead, "--prefix", "p", "--out", t.TempDir()}, 2,
			"--broker-url nats://" + dead + ": nothing listens there (connection refused); start the running twin's broker (go run ./harness/cmd/brokerctl up --broker nats)"},
		{"kafka url with nats", []string{"run", "--twin", "eda", "--target", gw, "--broker", "nats", "--broker-url", "127.0.0.1:9102", "--prefix", "p", "--out", t.TempDir()}, 2,
			"a NATS client URL is nats://HOST:PORT"},
		{"shard without a target", []string{"run", "--twin", "rr", "--shard", "1/2", "--start-at", "2026-01-01T00:00:00Z", "--out", t.TempDir()}, 2,
			"--shard 1/2 drives a twin every shard shares: start it once and pass its gateway as --target"},
		{"shard without a start", []string{"run", "--twin", "rr", "--target", gw, "--shard", "1/2"}, 2, "--shard 1/2 needs --start-at"},
		{"shard out of range", []string{"run", "--twin", "rr", "--target", gw, "--shard", "5/4"}, 2, `--shard "5/4": shard 5 of 4: want 1 to 4`},
		{"shard from no job", []string{"run", "--twin", "rr", "--target", gw, "--shard", "job/4"}, 2, "takes the shard from $JOB_COMPLETION_INDEX"},
		{"start-at in seconds", []string{"run", "--twin", "rr", "--target", gw, "--start-at", "1764900000"}, 2, "has 13 digits"},
		{"start-at unreadable", []string{"run", "--twin", "rr", "--target", gw, "--start-at", "tomorrow"}, 2, "want RFC 3339"},
		{"shard of a ramp", []string{"run", "--twin", "rr", "--target", gw, "--scenario", "capacity", "--shard", "1/2", "--start-at", "2026-01-01T00:00:00Z", "--out", t.TempDir()}, 2,
			"whose steps are judged on the whole load"},
		{"shard of eda over kafka", []string{"run", "--twin", "eda", "--target", gw, "--broker", "kafka", "--broker-url", dead, "--prefix", "x", "--shard", "1/2", "--start-at", "2026-01-01T00:00:00Z", "--out", t.TempDir()}, 2,
			"--shard with --twin eda over kafka: the shards would share the end queue"},
		{"target not allowed", []string{"run", "--twin", "rr", "--allow", "rr-gateway:7000", "--target", "192.0.2.7:7100", "--out", t.TempDir()}, 2,
			`"192.0.2.7:7100" is not in the harness's allowlist (rr-gateway:7000)`},
		{"empty allowlist entry", []string{"run", "--twin", "rr", "--allow", "*", "--target", gw}, 2, "--allow: allowlist entry"},
		{"scenarios with two names", []string{"scenarios", "smoke", "spike"}, 2, "want at most one name, got 2"},
		{"scenarios of an unknown name", []string{"scenarios", "smok"}, 2, `no scenario named "smok" is built in`},
		{"scenarios of a path", []string{"scenarios", "./smoke.yaml"}, 2, `no scenario named "./smoke" is built in`},
		{"serve without a twin", []string{"serve", "--service", "gateway"}, 2, "edabench serve: --twin is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			if code != tt.code || !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("edabench %q = exit %d, stderr:\n%s\nwant exit %d and %q", tt.args, code, stderr.String(), tt.code, tt.want)
			}
		})
	}
}

// TestRunReportsABrokerThatCannotStart: the private node's AMQP port is held
// by something else; the run must say so, exit 1, and still leave its
// results folder with "partial": true.
func TestRunReportsABrokerThatCannotStart(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	t.Setenv("EDABENCH_BROKER_DIR", t.TempDir())
	t.Setenv("EDABENCH_BROKER_NAME", "edabench-badport@localhost")
	t.Setenv("EDABENCH_AMQP_PORT", strconv.Itoa(busy.Addr().(*net.TCPAddr).Port))
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run([]string{"run", "--twin", "eda", "--scenario", "smoke", "--out", out, "--metrics-addr", "off"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "the private RabbitMQ node did not start") || !strings.Contains(stderr.String(), "in use") {
		t.Fatalf("exit %d, stderr:\n%s\nwant exit 1 naming the broker and the port in use", code, stderr.String())
	}
	b, err := os.ReadFile(filepath.Join(out, "latest", "summary.json"))
	if err != nil {
		t.Fatalf("no summary.json after a failed start: %v", err)
	}
	var sum struct {
		Partial bool   `json:"partial"`
		Reason  string `json:"partial_reason"`
	}
	if err := json.Unmarshal(b, &sum); err != nil || !sum.Partial || sum.Reason == "" {
		t.Fatalf("summary.json: %s (%v); want partial with a reason", b, err)
	}
}

// The --scenario help names every scenario shipped, so a new one is not
// left out of what `edabench help` teaches.
func TestScenarioHelpListsEveryScenario(t *testing.T) {
	fs, _ := runFlags(io.Discard)
	usage := fs.Lookup("scenario").Usage
	files, err := filepath.Glob("../../../scenarios/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios found: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		if !strings.Contains(usage, name) {
			t.Errorf("--scenario help does not name %s: %q", name, usage)
		}
	}
}

// edabench scenarios lists every built-in scenario with its description,
// and prints one byte for byte as shipped, to copy and edit.
func TestScenariosCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"scenarios"}, &stdout, &stderr); code != 0 {
		t.Fatalf("edabench scenarios = exit %d, stderr:\n%s", code, stderr.String())
	}
	files, err := filepath.Glob("../../../scenarios/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios found: %v", err)
	}
	lines := strings.Split(stdout.String(), "\n")
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		sc, err := scenario.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(lines, func(l string) bool {
			return strings.HasPrefix(l, name+" ") && strings.HasSuffix(l, " "+sc.Description)
		}) {
			t.Errorf("no line %q ... %q in:\n%s", name, sc.Description, stdout.String())
		}
		want, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, arg := range []string{name, name + ".yaml"} {
			stdout.Reset()
			if code := run([]string{"scenarios", arg}, &stdout, &stderr); code != 0 || !bytes.Equal(stdout.Bytes(), want) {
				t.Errorf("edabench scenarios %s = exit %d, %d bytes; want exit 0 and %s as is (%d bytes)", arg, code, stdout.Len(), f, len(want))
			}
		}
	}
}

// edabench help teaches the commands an installed binary has.
func TestHelpNamesEveryCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"help"}, &stdout, &stderr); code != 0 {
		t.Fatalf("edabench help = exit %d", code)
	}
	for _, want := range []string{"edabench run [flags]", "edabench scenarios [NAME]", "edabench serve --twin", "edabench gate", "edabench compare",
		"edabench report", "edabench verdict", "-scenario string", "a value with a / or a . is a file"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("edabench help does not mention %q", want)
		}
	}
	stderr.Reset()
	if code := run([]string{"serve", "--help"}, &stdout, &stderr); code != 0 || !strings.Contains(stderr.String(), "edabench serve --twin rr|eda|hybrid --service NAME") {
		t.Errorf("edabench serve --help = exit %d:\n%s", code, stderr.String())
	}
}

// What runs the twins' services: --binary, else the target beside
// edabench, else edabench itself as edabench serve.
func TestTargetCommand(t *testing.T) {
	withTarget, alone := t.TempDir(), t.TempDir()
	for _, f := range []string{filepath.Join(withTarget, "edabench"), filepath.Join(withTarget, "target"), filepath.Join(alone, "edabench")} {
		if err := os.WriteFile(f, nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, self, binary, wantPath string
		wantArgs                     []string
	}{
		{"--binary wins", filepath.Join(withTarget, "edabench"), "/opt/target", "/opt/target", nil},
		{"the target beside edabench", filepath.Join(withTarget, "edabench"), "", filepath.Join(withTarget, "target"), nil},
		{"edabench alone serves", filepath.Join(alone, "edabench"), "", filepath.Join(alone, "edabench"), []string{"serve"}},
		{"no executable: the runner's default", "", "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, args := cli{self: tt.self}.targetCommand(tt.binary)
			if path != tt.wantPath || !slices.Equal(args, tt.wantArgs) {
				t.Errorf("targetCommand(%q) = %q %q, want %q %q", tt.binary, path, args, tt.wantPath, tt.wantArgs)
			}
		})
	}
}

// --arrival replaces the scenario's arrival process; without it the
// scenario's stands.
func TestRunArrivalOverride(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want load.Arrival
	}{
		{[]string{"--scenario", "smoke"}, load.Poisson},
		{[]string{"--scenario", "smoke", "--arrival", "uniform"}, load.Uniform},
		{[]string{"--scenario", "smoke", "--arrival", "poisson"}, load.Poisson},
	} {
		fs, o := runFlags(io.Discard)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		_, sc, _, err := o.check()
		if err != nil || sc.Arrival != tt.want {
			t.Errorf("%v: arrival %q (%v), want %q", tt.args, sc.Arrival, err, tt.want)
		}
	}
}
