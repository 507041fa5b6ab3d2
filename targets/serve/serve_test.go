package serve

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/internal/twinkind"
	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/kafka"
	"github.com/edabench/edabench/targets/bus/rabbitmq"
)

func TestRunRejectsBadInput(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"help", []string{"--help"}, 0, "Usage:"},
		{"no twin", []string{"--service", "gateway"}, 2, "--twin is required"},
		{"unknown twin", []string{"--twin", "grpc", "--service", "gateway"}, 2, `unknown twin "grpc": want rr, eda, hybrid`},
		{"hybrid gateway without payment", []string{"--twin", "hybrid", "--service", "gateway"}, 2, "calls payment: pass --peer payment=HOST:PORT"},
		{"no service", []string{"--twin", "rr"}, 2, "--service is required"},
		{"unknown service", []string{"--twin", "rr", "--service", "billing"}, 2, `unknown step "billing"`},
		{"unknown flag", []string{"--twin", "rr", "--colour", "red"}, 2, "flag provided but not defined: -colour"},
		{"stray argument", []string{"--twin", "rr", "--service", "all", "extra"}, 2, `unexpected argument "extra"`},
		{"bad topology", []string{"--twin", "rr", "--service", "all", "--topology", "ring"}, 2, "want chain or fanout"},
		{"bad cost", []string{"--twin", "rr", "--service", "all", "--cost", "dist=pareto"}, 2, "--cost: cost: dist \"pareto\""},
		{"step cost for another step", []string{"--twin", "rr", "--service", "payment", "--peer", "inventory=127.0.0.1:1", "--step-cost", "shipping=mean=2ms"}, 2, "this process runs [payment], not shipping"},
		{"missing peer", []string{"--twin", "rr", "--service", "gateway"}, 2, "pass --peer payment=HOST:PORT"},
		{"non-loopback peer", []string{"--twin", "rr", "--service", "gateway", "--peer", "payment=192.0.2.1:80"}, 2, "is not a loopback address"},
		{"non-loopback listen", []string{"--twin", "rr", "--service", "all", "--listen", "0.0.0.0:7000"}, 2, "is not a loopback address"},
		{"bad queue type", []string{"--twin", "eda", "--service", "payment", "--queue-type", "stream"}, 2, "want quorum or classic"},
		{"bad prefetch", []string{"--twin", "eda", "--service", "payment", "--prefetch", "0"}, 2, "prefetch 0"},
		{"bad log level", []string{"--twin", "rr", "--service", "all", "--log-level", "loud"}, 2, "--log-level"},
		{"zero steps", []string{"--twin", "rr", "--service", "all", "--steps", "0"}, 2, "--steps: 0 steps: want 1 to 4"},
		{"too many steps", []string{"--twin", "eda", "--service", "payment", "--steps", "5"}, 2, "--steps: 5 steps: want 1 to 4"},
		{"steps not a number", []string{"--twin", "rr", "--service", "all", "--steps", "two"}, 2, `invalid value "two" for flag -steps`},
		{"service outside the plan", []string{"--twin", "rr", "--service", "shipping", "--steps", "2"}, 2, "--service shipping: not a step of the chain of 2 steps (payment, inventory)"},
		{"eda service outside the plan", []string{"--twin", "eda", "--service", "notification", "--steps", "3"}, 2, "--service notification: not a step of the chain of 3 steps"},
		{"step cost outside the plan", []string{"--twin", "rr", "--service", "all", "--steps", "1", "--step-cost", "inventory=mean=2ms"}, 2, "this process runs [payment], not inventory"},
		{"fanout gateway needs the plan's peers", []string{"--twin", "rr", "--service", "gateway", "--topology", "fanout", "--steps", "2", "--peer", "payment=127.0.0.1:1"}, 2, "pass --peer inventory=HOST:PORT"},
		{"port in use", []string{"--twin", "rr", "--service", "notification", "--listen", busy.Addr().String()}, 1, "address already in use"},
		{"unknown broker", []string{"--twin", "eda", "--service", "payment", "--broker", "pulsar"}, 2, `--broker: broker "pulsar": no bus driver of that name; use one of rabbitmq, kafka, nats`},
		{"amqp on kafka", []string{"--twin", "hybrid", "--service", "inventory", "--broker", "kafka", "--amqp", "amqp://127.0.0.1:5682/"}, 2, "--amqp is RabbitMQ's; with --broker kafka give the seed broker as --broker-url"},
		{"queue type on kafka", []string{"--twin", "eda", "--service", "payment", "--broker", "kafka", "--queue-type", "classic"}, 2, "--queue-type is RabbitMQ's"},
		{"via seed on rabbitmq", []string{"--twin", "eda", "--service", "payment", "--kafka-via-seed"}, 2, "--kafka-via-seed is Kafka's"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(t.Context(), "target", tt.args, &stdout, &stderr)
			if code != tt.code || !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("run(%q) = %d, stderr:\n%s\nwant exit %d and %q", tt.args, code, stderr.String(), tt.code, tt.want)
			}
			if tt.code != 0 && strings.Contains(stdout.String(), "EDABENCH_READY") {
				t.Fatal("announced ready although it failed")
			}
		})
	}
}

// A shorter workflow needs only the services, and the peers, of its steps.
func TestBuildWithFewerSteps(t *testing.T) {
	tests := []struct {
		name                string
		twin, service, top  string
		steps               int
		peers               []string
		wantSteps, wantNext string // the steps this process runs; what an RR chain step calls
	}{
		{"rr chain gateway of 2 calls payment only", "rr", "gateway", "chain", 2, []string{"payment=127.0.0.1:1"}, "", ""},
		{"rr fanout gateway of 2 calls payment and inventory", "rr", "gateway", "fanout", 2, []string{"payment=127.0.0.1:1", "inventory=127.0.0.1:2"}, "", ""},
		{"rr inventory ends a chain of 2", "rr", "inventory", "chain", 2, nil, "inventory", ""},
		{"rr payment of 2 calls inventory", "rr", "payment", "chain", 2, []string{"inventory=127.0.0.1:2"}, "payment", "inventory"},
		{"rr payment alone", "rr", "payment", "chain", 1, nil, "payment", ""},
		{"rr all of 3", "rr", "all", "chain", 3, nil, "payment,inventory,shipping", ""},
		{"eda payment alone", "eda", "payment", "fanout", 1, nil, "payment", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := options{twin: tt.twin, service: tt.service, topology: tt.top, steps: tt.steps, peers: tt.peers,
				listen: "127.0.0.1:0", httpAddr: "127.0.0.1:0", prefix: "edabench", prefetch: 64, maxAttempts: 5}
			s, err := build(o, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, st := range s.steps {
				names = append(names, string(st))
			}
			if got := strings.Join(names, ","); got != tt.wantSteps {
				t.Errorf("runs %q, want %q", got, tt.wantSteps)
			}
			if len(s.steps) == 1 && tt.top == "chain" {
				var next []string
				for _, st := range s.plan.Next(s.steps[0]) {
					next = append(next, string(st))
				}
				if got := strings.Join(next, ","); got != tt.wantNext {
					t.Errorf("calls %q, want %q", got, tt.wantNext)
				}
			}
			if tt.twin == "eda" && s.edaConfig.Plan().Len() != tt.steps {
				t.Errorf("eda config runs %d steps, want %d", s.edaConfig.Plan().Len(), tt.steps)
			}
		})
	}
}

// The help and the errors name the command as it was invoked, so `edabench
// serve` does not tell its user to run a `target` they may not have.
func TestMainNamesItsCommand(t *testing.T) {
	for _, name := range []string{"target", "edabench serve"} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := Main(t.Context(), name, []string{"--help"}, &stdout, &stderr); code != 0 {
				t.Fatalf("--help = exit %d", code)
			}
			if want := "  " + name + " --twin rr|eda|hybrid --service NAME"; !strings.Contains(stderr.String(), want) {
				t.Errorf("help does not contain %q:\n%s", want, stderr.String())
			}
			stderr.Reset()
			if code := Main(t.Context(), name, []string{"--service", "gateway"}, &stdout, &stderr); code != 2 || !strings.HasPrefix(stderr.String(), name+": --twin is required") {
				t.Errorf("no --twin = exit %d, %q; want 2 and %q first", code, stderr.String(), name+": --twin is required")
			}
		})
	}
}

// A twin the descriptor table knows must have an implementation here, or
// `serve --twin NAME` would pass the name check and then find nothing to run.
func TestEveryTwinHasAStarter(t *testing.T) {
	s := &service{}
	for _, name := range twinkind.All() {
		if s.starters()[name] == nil {
			t.Errorf("twin %q has no starter in targets/serve", name)
		}
	}
}

// --broker kafka picks the Kafka driver, its URL from --broker-url (the
// private node's by default) and the prefetch into its own options.
func TestBrokerFlagPicksTheKafkaDriver(t *testing.T) {
	for _, url := range []string{"", "127.0.0.1:19092"} {
		o := options{twin: "eda", service: "payment", topology: "chain", steps: 4, listen: "127.0.0.1:0", httpAddr: "127.0.0.1:0",
			broker: "kafka", brokerURL: url, amqpURL: "amqp://guest:guest@127.0.0.1:5682/", prefix: "edabench",
			prefetch: 16, maxAttempts: 5, driverFlags: map[string]string{"queue-type": "quorum", "heartbeat": "10s", "kafka-via-seed": "false"}}
		s, err := build(o, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		want := url
		if want == "" {
			want = kafka.DefaultURL
		}
		if s.edaConfig.Broker() != kafka.Name || s.edaConfig.URL != want {
			t.Errorf("--broker-url %q: broker %q at %q, want %q at %q", url, s.edaConfig.Broker(), s.edaConfig.URL, kafka.Name, want)
		}
		if got, ok := s.edaConfig.Options.(kafka.Options); !ok || got.Prefetch != 16 {
			t.Errorf("driver options %#v, want kafka.Options with prefetch 16", s.edaConfig.Options)
		}
	}
}

// The AMQP flags are the RabbitMQ driver's own settings: they reach its
// options, not the broker-neutral part of the twin's config.
func TestAMQPFlagsReachTheRabbitMQDriver(t *testing.T) {
	tests := []struct {
		name      string
		queueType string
		prefetch  int // 0: --prefetch not given
		heartbeat time.Duration
		want      int
	}{
		{"defaults: the twin's prefetch", "quorum", 0, 10 * time.Second, rabbitmq.TwinDefaults().Prefetch},
		{"prefetch 64", "quorum", 64, 10 * time.Second, 64},
		{"classic, small prefetch", "classic", 1, 3 * time.Second, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := options{twin: "eda", service: "payment", topology: "chain", steps: 4, listen: "127.0.0.1:0", httpAddr: "127.0.0.1:0",
				amqpURL: "amqp://guest:guest@127.0.0.1:5682/", prefix: "edabench", prefetch: tt.prefetch, maxAttempts: 5,
				driverFlags: map[string]string{"queue-type": tt.queueType, "heartbeat": tt.heartbeat.String(), "kafka-via-seed": "false"}}
			s, err := build(o, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			want := rabbitmq.Options{QueueType: rabbitmq.QueueType(tt.queueType), Prefetch: tt.want, Heartbeat: tt.heartbeat}
			got, ok := s.edaConfig.Options.(rabbitmq.Options)
			if !ok || got.QueueType != want.QueueType || got.Prefetch != want.Prefetch || got.Heartbeat != want.Heartbeat {
				t.Errorf("driver options %#v, want %#v", s.edaConfig.Options, want)
			}
			if s.edaConfig.Broker() != bus.RabbitMQ || s.edaConfig.URL != o.amqpURL {
				t.Errorf("broker %q at %q, want %q at %q", s.edaConfig.Broker(), s.edaConfig.URL, bus.RabbitMQ, o.amqpURL)
			}
		})
	}
}
