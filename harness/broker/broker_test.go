package broker_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/edabench/edabench/harness/broker"
	"github.com/edabench/edabench/harness/broker/brokertest"
)

// The machine's own broker; the private node must never disturb it.
const systemAMQP = "127.0.0.1:5672"

func TestConfigFromEnv(t *testing.T) {
	def, err := broker.ConfigFromEnv(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    func(c *broker.Config)
		wantErr []string // substrings; nil means no error
	}{
		{name: "defaults", env: nil, want: func(*broker.Config) {}},
		{
			name: "all overrides",
			env: map[string]string{
				broker.EnvDir: "/tmp/b", broker.EnvName: "other@localhost",
				broker.EnvAMQPPort: "7001", broker.EnvMgmtPort: "7002", broker.EnvPromPort: "7003",
				broker.EnvDistPort: "7004", broker.EnvEPMDPort: " 7005 ",
			},
			want: func(c *broker.Config) {
				*c = broker.Config{Name: "other@localhost", AMQPPort: 7001, MgmtPort: 7002, PromPort: 7003,
					DistPort: 7004, EPMDPort: 7005, DataDir: "/tmp/b"}
			},
		},
		{name: "empty values keep defaults", env: map[string]string{broker.EnvAMQPPort: "", broker.EnvDir: ""}, want: func(*broker.Config) {}},
		{
			name:    "bad port keeps default and names the variable",
			env:     map[string]string{broker.EnvAMQPPort: "56x2", broker.EnvEPMDPort: "70000"},
			want:    func(*broker.Config) {},
			wantErr: []string{"EDABENCH_AMQP_PORT=\"56x2\"", "EDABENCH_EPMD_PORT=\"70000\""},
		},
		{
			name:    "dotted host rejected",
			env:     map[string]string{broker.EnvName: "x@host.example.com"},
			want:    func(*broker.Config) {},
			wantErr: []string{"EDABENCH_BROKER_NAME", "short host name"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := broker.ConfigFromEnv(func(k string) (string, bool) {
				v, ok := tt.env[k]
				return v, ok
			})
			want := def
			tt.want(&want)
			if got != want {
				t.Errorf("config = %+v\nwant     %+v", got, want)
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Errorf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want error mentioning %q", tt.wantErr)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestDefaultConfig(t *testing.T) {
	for _, k := range []string{broker.EnvDir, broker.EnvName, broker.EnvAMQPPort, broker.EnvMgmtPort,
		broker.EnvPromPort, broker.EnvDistPort, broker.EnvEPMDPort} {
		t.Setenv(k, "")
	}
	c := broker.DefaultConfig()
	if c.Name != "edabench@localhost" || c.AMQPPort != 5682 || c.EPMDPort != 4380 {
		t.Errorf("DefaultConfig = %+v", c)
	}
	if cache, err := os.UserCacheDir(); err == nil && c.DataDir != filepath.Join(cache, "edabench", "broker") {
		t.Errorf("DataDir = %s, want under %s", c.DataDir, cache)
	}
	// Never the system broker's ports.
	for _, p := range []int{c.AMQPPort, c.MgmtPort, c.PromPort, c.DistPort, c.EPMDPort} {
		if p == 5672 || p == 15672 || p == 15692 || p == 25672 || p == 4369 {
			t.Errorf("default port %d collides with a stock RabbitMQ", p)
		}
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
	t.Setenv(broker.EnvAMQPPort, "6001")
	if got := broker.DefaultConfig().AMQPPort; got != 6001 {
		t.Errorf("%s ignored: AMQPPort = %d", broker.EnvAMQPPort, got)
	}
}

func TestValidate(t *testing.T) {
	ok := broker.Config{Name: "a@localhost", AMQPPort: 1, MgmtPort: 2, PromPort: 3, DistPort: 4, EPMDPort: 5, DataDir: "/d"}
	tests := []struct {
		name    string
		mutate  func(*broker.Config)
		wantErr string
	}{
		{"valid", func(*broker.Config) {}, ""},
		{"no host", func(c *broker.Config) { c.Name = "edabench" }, "name@host"},
		{"long name", func(c *broker.Config) { c.Name = "a@b.c" }, "short host name"},
		{"zero port", func(c *broker.Config) { c.MgmtPort = 0 }, "management port 0"},
		{"duplicate port", func(c *broker.Config) { c.PromPort = 1 }, "AMQP and prometheus both use port 1"},
		{"no data dir", func(c *broker.Config) { c.DataDir = "" }, "DataDir is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mutate(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestOpenAndURLs(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	n, err := broker.Open(broker.Config{Name: "a@localhost", AMQPPort: 11, MgmtPort: 12, PromPort: 13, DistPort: 14, EPMDPort: 15, DataDir: "rel"})
	if err != nil {
		t.Fatal(err)
	}
	if got := n.Config().DataDir; got != filepath.Join(dir, "rel") {
		t.Errorf("DataDir = %s, want it made absolute", got)
	}
	if got := n.AMQPURL(); got != "amqp://guest:guest@127.0.0.1:11/" {
		t.Errorf("AMQPURL = %s", got)
	}
	if got := n.MgmtURL(); got != "http://127.0.0.1:12" {
		t.Errorf("MgmtURL = %s", got)
	}
	if n.PID() != 0 || n.Running() {
		t.Error("a node that was never started reports running")
	}
	// Stop on a node that never ran is a no-op, not an error.
	if err := n.Stop(t.Context()); err != nil {
		t.Errorf("Stop on stopped node: %v", err)
	}
	if _, err := broker.Open(broker.Config{Name: "a@localhost", AMQPPort: 11, MgmtPort: 12, PromPort: 13, DistPort: 14, EPMDPort: 15, DataDir: "/tmp/has space"}); err == nil {
		t.Error("DataDir with a space accepted; rabbitmq's scripts would break on it")
	}
}

func requireRabbit(t *testing.T) {
	t.Helper()
	brokertest.Require(t)
}

// A port held by something that is not our node must fail before anything
// is spawned, and the message must say which port and how to move it.
func TestStartFailsFastOnPortInUse(t *testing.T) {
	requireRabbit(t)
	tests := []struct {
		role string
		env  string
		set  func(c *broker.Config, port int)
	}{
		{"AMQP", broker.EnvAMQPPort, func(c *broker.Config, p int) { c.AMQPPort = p }},
		{"management", broker.EnvMgmtPort, func(c *broker.Config, p int) { c.MgmtPort = p }},
		// A plain listener on the epmd port is not an epmd we could share.
		{"epmd", broker.EnvEPMDPort, func(c *broker.Config, p int) { c.EPMDPort = p }},
	}
	for _, tt := range tests {
		t.Run(tt.role, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			port := l.Addr().(*net.TCPAddr).Port

			cfg := brokertest.FreeConfig(t)
			tt.set(&cfg, port)
			n, err := broker.Start(t.Context(), cfg)
			if err == nil {
				n.Stop(context.Background())
				t.Fatalf("Start succeeded although %s port %d is taken", tt.role, port)
			}
			if !errors.Is(err, broker.ErrPortInUse) {
				t.Errorf("error does not wrap ErrPortInUse: %v", err)
			}
			for _, want := range []string{
				fmt.Sprintf("%s port %d", tt.role, port),
				"is in use by another process",
				tt.env,
			} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if _, err := os.Stat(filepath.Join(cfg.DataDir, "rabbitmq.pid")); err == nil {
				t.Error("a pid file was written, so a node was started")
			}
		})
	}
}

func systemBrokerUp() bool {
	c, err := net.DialTimeout("tcp", systemAMQP, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func TestDedicatedNodeLifecycle(t *testing.T) {
	systemUp := systemBrokerUp()
	t.Logf("machine broker on %s up before: %v", systemAMQP, systemUp)

	ctx := t.Context()
	began := time.Now()
	n := brokertest.Dedicated(t)
	t.Logf("dedicated node %s started in %v (pid %d, %s)", n.Config().Name, time.Since(began).Round(time.Millisecond), n.PID(), n.AMQPURL())

	if err := n.Ping(ctx); err != nil {
		t.Fatalf("Ping after start: %v", err)
	}
	if _, err := n.QueueDepths(ctx); err != nil {
		t.Fatalf("QueueDepths: %v", err)
	}
	pid1 := n.PID()
	if pid1 == 0 {
		t.Fatal("PID() = 0 for a running node")
	}

	began = time.Now()
	if err := n.Restart(ctx); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	t.Logf("restart took %v", time.Since(began).Round(time.Millisecond))
	if err := n.Ping(ctx); err != nil {
		t.Fatalf("Ping after restart: %v", err)
	}
	if pid2 := n.PID(); pid2 == 0 || pid2 == pid1 {
		t.Errorf("PID after restart = %d, before = %d; want a new live VM", pid2, pid1)
	}

	// Stop is RabbitMQ's own graceful stop, the signal its script sends:
	// a client is told (connection.close 320) rather than cut off, and the
	// node's log shows the signal, not a CLI's request (none is booted).
	client, err := amqp.Dial(n.AMQPURL())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	closed := client.NotifyClose(make(chan *amqp.Error, 1))
	began = time.Now()
	if err := n.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("stop took %v", time.Since(began).Round(time.Millisecond))
	// The connection is gone with the node, so this receive ends. The
	// broker's own connection.close 320 is what a graceful stop sends, but
	// a client frame in flight at that moment (a heartbeat) can meet the
	// closing socket first and report the reset instead (seen once in CI):
	// the node's log below is what shows how it stopped.
	if e := <-closed; e == nil || e.Server && e.Code != amqp.ConnectionForced {
		t.Errorf("client saw %v when the node stopped; want the broker's own connection.close %d (a graceful stop)", e, amqp.ConnectionForced)
	} else {
		t.Logf("client saw %v when the node stopped", e)
	}
	nodeLog, err := os.ReadFile(n.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(nodeLog), "SIGTERM received - shutting down") || strings.Contains(string(nodeLog), "RabbitMQ is asked to stop") {
		t.Errorf("the node's log (%s) should show it stopped on SIGTERM, never asked by rabbitmqctl", n.LogPath())
	}
	if err := n.Stop(ctx); err != nil {
		t.Fatalf("second Stop (must be idempotent): %v", err)
	}
	if n.PID() != 0 {
		t.Errorf("PID() = %d after Stop", n.PID())
	}
	if err := n.Ping(ctx); err == nil {
		t.Error("Ping succeeded after Stop")
	}
	c := n.Config()
	for _, p := range []int{c.AMQPPort, c.MgmtPort, c.PromPort, c.DistPort, c.EPMDPort} {
		if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p)); err != nil {
			t.Errorf("port %d still held after Stop (private epmd or node left behind?): %v", p, err)
		} else {
			l.Close()
		}
	}
	if systemUp && !systemBrokerUp() {
		t.Fatalf("the machine's broker on %s went down", systemAMQP)
	}
}

// Several test binaries call Start on the same Config at once; exactly one
// node must come up and everybody must get it.
func TestConcurrentStartSharesOneNode(t *testing.T) {
	requireRabbit(t)
	cfg := brokertest.FreeConfig(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		n, err := broker.Open(cfg)
		if err == nil {
			err = n.Stop(ctx)
		}
		if err != nil {
			t.Errorf("stop: %v", err)
		}
	})

	const callers = 3
	pids := make([]int, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			n, err := broker.Start(t.Context(), cfg)
			errs[i] = err
			if err == nil {
				pids[i] = n.PID()
			}
		})
	}
	wg.Wait()
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if pids[i] == 0 || pids[i] != pids[0] {
			t.Fatalf("callers got different nodes: pids %v", pids)
		}
	}

	// Reuse must not boot anything: tests call Shared once per package. The
	// same PID says no node was started (how fast that is belongs in a
	// benchmark, not here: this machine is shared).
	n, err := broker.Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n.PID() != pids[0] {
		t.Errorf("a later Start got node pid %d, want the running %d", n.PID(), pids[0])
	}
}

// The harness samples lag with QueueDepths and the restart tests rely on
// durable queues and persistent messages surviving Restart.
func TestQueueDepthsAndDurabilityAcrossRestart(t *testing.T) {
	ctx := t.Context()
	n := brokertest.Dedicated(t)

	conn, err := amqp.Dial(n.AMQPURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	const q = "depth-q"
	if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", q, false, false,
			amqp.Publishing{DeliveryMode: amqp.Persistent, Body: []byte(strconv.Itoa(i))})
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := dc.WaitContext(ctx); err != nil || !ok {
			t.Fatalf("publish %d not confirmed: %v", i, err)
		}
	}
	if err := ch.Qos(1, 0, false); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.ConsumeWithContext(ctx, q, "c1", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}

	want := broker.QueueStat{Vhost: "/", Name: q, Messages: 3, Ready: 2, Unacked: 1, Consumers: 1}
	waitDepth(t, n, q, want)

	// Closing without ack returns the message to the queue.
	conn.Close()
	if err := n.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	waitDepth(t, n, q, broker.QueueStat{Vhost: "/", Name: q, Messages: 3, Ready: 3})
	checkStatsHandlerDroppedFirst(t, n.LogPath())
}

// checkStatsHandlerDroppedFirst reads the node's log of the stop: the
// management agent's event handler must have been removed (its terminate
// logs "to stop collect_statistics") before SIGTERM reached the node, or
// the stop waited 5 s in it (see dropStatsHandler).
func checkStatsHandlerDroppedFirst(t *testing.T, logPath string) {
	t.Helper()
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	term := strings.LastIndex(log, "SIGTERM received")
	if term < 0 {
		t.Fatalf("%s: no SIGTERM in the node's log: it was not stopped with one", logPath)
	}
	if drop := strings.LastIndex(log[:term], "Management plugin: to stop collect_statistics"); drop < 0 ||
		strings.Contains(log[drop:term], "Starting RabbitMQ") {
		t.Errorf("%s: the management agent's handler was not removed before the last SIGTERM: the stop waited in it", logPath)
	}
}

func waitDepth(t *testing.T, n *broker.Node, q string, want broker.QueueStat) {
	t.Helper()
	began := time.Now()
	var got broker.QueueStat
	for time.Since(began) < 10*time.Second {
		depths, err := n.QueueDepths(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if got = depths[q]; got == want {
			t.Logf("queue depths %+v visible after %v", got, time.Since(began).Round(10*time.Millisecond))
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("queue %s: got %+v, want %+v", q, got, want)
}

// A node that dies during boot must be reported with its log, and must not
// leave a VM or a private epmd behind.
func TestStartFailureReportsLogAndCleansUp(t *testing.T) {
	requireRabbit(t)
	cfg := brokertest.FreeConfig(t)
	// The node reads DataDir/advanced.config; a broken one kills the boot
	// early, a stand-in for any misconfiguration.
	if err := os.WriteFile(filepath.Join(cfg.DataDir, "advanced.config"), []byte("this is not erlang\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := broker.Start(t.Context(), cfg)
	if err == nil {
		n.Stop(context.Background())
		t.Fatal("Start succeeded with a broken advanced.config")
	}
	t.Logf("error (as users will see it):\n%v", err)
	for _, want := range []string{"failed to start", "exited during boot", filepath.Join(cfg.DataDir, "server.out"), "advanced_configuration_file"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q", want)
		}
	}
	for _, p := range []int{cfg.AMQPPort, cfg.DistPort, cfg.EPMDPort} {
		if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p)); err != nil {
			t.Errorf("port %d still held after failed start: %v", p, err)
		} else {
			l.Close()
		}
	}
}
