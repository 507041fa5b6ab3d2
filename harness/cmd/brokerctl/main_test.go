package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/edabench/edabench/harness/broker"
	"github.com/edabench/edabench/harness/broker/brokertest"
	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/rabbitmq"
)

func flags(c broker.Config) []string {
	return []string{"--dir", c.DataDir, "--name", c.Name, "--amqp-port", strconv.Itoa(c.AMQPPort),
		"--mgmt-port", strconv.Itoa(c.MgmtPort), "--prom-port", strconv.Itoa(c.PromPort),
		"--dist-port", strconv.Itoa(c.DistPort), "--epmd-port", strconv.Itoa(c.EPMDPort)}
}

func ctl(t *testing.T, c broker.Config, args ...string) (string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(append(flags(c), args...), &out, &errOut)
	return out.String() + errOut.String(), code
}

func declare(t *testing.T, n *broker.Node, prefix string) {
	t.Helper()
	c, err := bus.Dial(t.Context(), rabbitmq.Kind(), bus.WithURL(n.AMQPURL()), bus.WithExchange(prefix+".orders"),
		bus.WithQueue(bus.Queue{Name: prefix + ".payment", Bindings: []string{"order.placed"}}),
		bus.WithDriverOptions(rabbitmq.Options{QueueType: rabbitmq.Classic}))
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
}

// status tells a live run's queues from unclaimed ones; clean keeps both,
// clean --unclaimed deletes only the unclaimed. On a node of its own:
// --unclaimed on the shared node would delete other tests' queues.
func TestStatusAndClean(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a private RabbitMQ node; run without -short")
	}
	n := brokertest.Dedicated(t)
	c := n.Config()
	release := n.Claim(t.Context(), broker.Topology{Prefixes: []string{"live"}})
	defer release(context.Background())
	declare(t, n, "live")
	declare(t, n, "stray")

	out, code := ctl(t, c, "status")
	for _, want := range []string{
		`(?m)^  live\.payment +ready=0 unacked=0 consumers=0 $`,
		`(?m)^  stray\.payment +ready=0 unacked=0 consumers=0 UNCLAIMED$`,
		`(?m)^owners: +1 running$`,
		`(?m)^leftovers: +0 queues of 0 runs that are gone, 2 unclaimed queues, 2 unclaimed exchanges$`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("status output does not match %s:\n%s", want, out)
		}
	}
	if code != exitOK {
		t.Errorf("status exit %d, want %d", code, exitOK)
	}

	if out, code := ctl(t, c, "clean"); code != exitOK || !regexp.MustCompile(`kept 2 unclaimed queues`).MatchString(out) {
		t.Errorf("clean: exit %d, want %d and the unclaimed queues kept:\n%s", code, exitOK, out)
	}
	if out, code := ctl(t, c, "clean", "--unclaimed"); code != exitOK {
		t.Errorf("clean --unclaimed: exit %d, want %d:\n%s", code, exitOK, out)
	}
	qs, err := n.QueueDepths(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := qs["stray.payment"]; ok {
		t.Errorf("clean --unclaimed kept the unclaimed queue stray.payment")
	}
	if _, ok := qs["live.payment"]; !ok {
		t.Errorf("clean --unclaimed deleted live.payment, which a running process claims")
	}
}

// A broker brokerctl cannot run is a usage error that names the ones it can,
// before anything is started.
func TestUnknownBroker(t *testing.T) {
	for _, args := range [][]string{{"--broker", "pulsar", "up"}, {"status", "--broker", "nope"}} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (usage)", args, code, exitUsage)
		}
		if msg := errOut.String(); !strings.Contains(msg, "--broker") || !strings.Contains(msg, "rabbitmq") {
			t.Errorf("%v: message %q should name the flag and the brokers it can run", args, msg)
		}
	}
}

// fakeNode is another broker's node as brokerctl sees it: only the
// brokernode interface.
type fakeNode struct {
	brokernode.Node // the methods brokerctl must not call panic
	pid             int
	stops           *int
}

func (f fakeNode) Name() string                { return "fake@localhost" }
func (f fakeNode) PID() int                    { return f.pid }
func (f fakeNode) ClientURL() string           { return "fake://127.0.0.1:1/" }
func (f fakeNode) AdminURL() string            { return "http://127.0.0.1:2" }
func (f fakeNode) Stop(context.Context) error  { *f.stops++; return nil }
func (f fakeNode) Start(context.Context) error { return nil }

// A broker other than RabbitMQ is run through its Kind alone: up, down,
// status and url work on its default node, clean (RabbitMQ's claim
// bookkeeping) is a usage error naming the commands it has.
func TestOtherBrokerThroughItsKind(t *testing.T) {
	tests := []struct {
		args      []string
		pid       int
		wantCode  int
		wantOut   string
		wantStops int
	}{
		{[]string{"--broker", "fake", "up"}, 42, exitOK, "node:       fake@localhost (pid 42)", 0},
		{[]string{"status", "--broker", "fake"}, 0, exitNotRunning, "client:     fake://127.0.0.1:1/", 0},
		{[]string{"--broker", "fake", "down"}, 42, exitOK, "", 1},
		{[]string{"--broker", "fake", "url"}, 42, exitOK, "fake://127.0.0.1:1/", 0},
		{[]string{"--broker", "fake", "url", "admin"}, 42, exitOK, "http://127.0.0.1:2", 0},
		{[]string{"--broker", "fake", "url", "amqp"}, 42, exitUsage, "want client or admin", 0},
		{[]string{"--broker", "fake", "clean"}, 42, exitUsage, "use up, down, status or url", 0},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			stops := 0
			node := fakeNode{pid: tt.pid, stops: &stops}
			kind := brokernode.Kind{Name: "fake",
				Start: func(context.Context) (brokernode.Node, error) { return node, nil },
				Open:  func() (brokernode.Node, error) { return node, nil },
			}
			var out, errOut bytes.Buffer
			code := runWith(brokernode.NewRegistry(broker.Kind(), kind), tt.args, &out, &errOut)
			if code != tt.wantCode || !strings.Contains(out.String()+errOut.String(), tt.wantOut) || stops != tt.wantStops {
				t.Errorf("exit %d, %d stops, output:\n%s%s\nwant exit %d, %d stops and %q", code, stops, out.String(), errOut.String(),
					tt.wantCode, tt.wantStops, tt.wantOut)
			}
		})
	}
}
