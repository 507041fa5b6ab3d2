package eda

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grafana/sobek"
	"go.k6.io/k6/metrics"
)

// Every bad option is a JS exception whose message says what is wrong; none
// panics.
func TestClientOptionErrors(t *testing.T) {
	grpc := listener(t)
	cases := []struct {
		name, js, want string
	}{
		{"no options", `new eda.Client()`, "options are required"},
		{"not an object", `new eda.Client("eda")`, "options must be an object"},
		{"no twin", `new eda.Client({ grpc: "` + grpc + `" })`, "option twin is required"},
		{"unknown twin", `new eda.Client({ twin: "soa", grpc: "` + grpc + `" })`, `unknown twin "soa"`},
		{"twin not a string", `new eda.Client({ twin: 1, grpc: "` + grpc + `" })`, "option twin must be a string"},
		{"unknown option", `new eda.Client({ twin: "rr", grpc: "` + grpc + `", grcp: "x" })`, `unknown option "grcp"`},
		{"trends not a boolean", `new eda.Client({ twin: "rr", grpc: "` + grpc + `", trends: "no" })`, "option trends must be true or false"},
		{"trends off without hdr", `new eda.Client({ twin: "rr", grpc: "` + grpc + `", trends: false })`, "trends: false needs the hdr option"},
		{"no grpc", `new eda.Client({ twin: "rr" })`, "option grpc is required"},
		{"grpc not host:port", `new eda.Client({ twin: "rr", grpc: "gateway" })`, "is not HOST:PORT"},
		{"grpc not loopback", `new eda.Client({ twin: "rr", grpc: "10.1.2.3:7100" })`, "is not a loopback address"},
		{"bad duration", `new eda.Client({ twin: "rr", grpc: "` + grpc + `", completionTimeout: "soon" })`, `option completionTimeout "soon"`},
		{"negative duration", `new eda.Client({ twin: "rr", grpc: "` + grpc + `", requestTimeout: -5 })`, "must be positive"},
		{"amqp not a URL", `new eda.Client({ twin: "eda", grpc: "` + grpc + `", amqp: "rabbit" })`, "is not an AMQP URL"},
		{"amqp not loopback", `new eda.Client({ twin: "eda", grpc: "` + grpc + `", amqp: "amqp://guest:guest@192.0.2.1:5672/" })`, "is not a loopback address"},
		{"metrics not URLs", `new eda.Client({ twin: "eda", grpc: "` + grpc + `", metrics: ["x"] })`, "option metrics"},
		{"mgmt not loopback", `new eda.Client({ twin: "eda", grpc: "` + grpc + `", mgmt: "http://example.com:15672" })`, "option mgmt"},
		{"unknown broker", `new eda.Client({ twin: "eda", grpc: "` + grpc + `", broker: "pulsar" })`, `option broker "pulsar": want one of rabbitmq, kafka, nats`},
		{"amqp with kafka", `new eda.Client({ twin: "eda", grpc: "` + grpc + `", broker: "kafka", amqp: "amqp://guest:guest@127.0.0.1:5682/" })`, `option amqp is RabbitMQ's broker URL; with broker: "kafka" give the seed broker as brokerUrl`},
		{"rabbitmq url with kafka", `new eda.Client({ twin: "hybrid", grpc: "` + grpc + `", broker: "kafka", brokerUrl: "amqp://guest:secret@127.0.0.1:5682/" })`, `is a RabbitMQ (AMQP) URL: Kafka's is the seed broker's HOST:PORT`},
		{"kafka url with rabbitmq", `new eda.Client({ twin: "eda", grpc: "` + grpc + `", brokerUrl: "127.0.0.1:9102" })`, "is not an AMQP URL"},
		{"kafka not loopback", `new eda.Client({ twin: "eda", grpc: "` + grpc + `", broker: "kafka", brokerUrl: "192.0.2.1:9092" })`, "is not a loopback address"},
		{"mgmt with kafka", `new eda.Client({ twin: "eda", grpc: "` + grpc + `", broker: "kafka", mgmt: "http://127.0.0.1:15682" })`, "option mgmt is RabbitMQ's management API"},
		{"amqp with nats", `new eda.Client({ twin: "eda", grpc: "` + grpc + `", broker: "nats", amqp: "amqp://guest:guest@127.0.0.1:5682/" })`, `option amqp is RabbitMQ's broker URL; with broker: "nats" give the NATS server's client URL as brokerUrl: "nats://127.0.0.1:4232"`},
		{"rabbitmq url with nats", `new eda.Client({ twin: "hybrid", grpc: "` + grpc + `", broker: "nats", brokerUrl: "amqp://guest:secret@127.0.0.1:5682/" })`, `is a RabbitMQ (AMQP) URL: NATS's is nats://HOST:PORT`},
		{"kafka url with nats", `new eda.Client({ twin: "eda", grpc: "` + grpc + `", broker: "nats", brokerUrl: "127.0.0.1:9102" })`, "a NATS client URL is nats://HOST:PORT"},
		{"nats url with rabbitmq", `new eda.Client({ twin: "eda", grpc: "` + grpc + `", brokerUrl: "nats://127.0.0.1:4232" })`, "is not an AMQP URL"},
		{"nats not loopback", `new eda.Client({ twin: "eda", grpc: "` + grpc + `", broker: "nats", brokerUrl: "nats://192.0.2.1:4222" })`, "is not a loopback address"},
		{"mgmt with nats", `new eda.Client({ twin: "eda", grpc: "` + grpc + `", broker: "nats", mgmt: "http://127.0.0.1:15682" })`, "option mgmt is RabbitMQ's management API; over NATS the queue depths come from brokerUrl"},
		{"endQueue with rabbitmq", `new eda.Client({ twin: "eda", grpc: "` + grpc + `", endQueue: "edabench.k6" })`, `option endQueue is for broker: "kafka"`},
		{"amqp and brokerUrl disagree", `new eda.Client({ twin: "eda", grpc: "` + grpc + `", amqp: "amqp://guest:guest@127.0.0.1:5682/", brokerUrl: "amqp://guest:guest@127.0.0.1:5683/" })`, "options amqp and brokerUrl disagree"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			v := newVU(t)
			_, err := v.run(c.js)
			if err == nil {
				t.Fatalf("%s: no exception", c.js)
			}
			var ex *sobek.Exception
			if !asException(err, &ex) {
				t.Fatalf("%s: %T %v, want a JS exception", c.js, err, err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("%s:\n got %v\nwant it to say %q", c.js, err, c.want)
			}
		})
	}
}

// The constructor, in the init context (which `k6 inspect` and `k6 archive`
// run too), opens no connection: not to the gateway, the broker, the
// management API or the services' metrics; nor do queueDepth and
// consumerLag there. The first order connects.
func TestNoNetworkInInitContext(t *testing.T) {
	grpc, amqp, mgmt, metrics := countingListener(t), countingListener(t), countingListener(t), countingListener(t)
	v := newVU(t)
	for _, twin := range []string{"rr", "eda", "hybrid"} {
		v.mustRun(fmt.Sprintf(`var c_%[1]s = new eda.Client({ twin: %[1]q, grpc: %q, amqp: "amqp://guest:guest@%s/", mgmt: "http://%s", metrics: ["http://%s/metrics"], prefix: "noio" })`,
			twin, grpc.addr, amqp.addr, mgmt.addr, metrics.addr))
	}
	for _, js := range []string{`eda.queueDepth("payment")`, `eda.consumerLag("payment")`} {
		if _, err := v.run(js); err == nil || !strings.Contains(err.Error(), "not in the init context") {
			t.Errorf("%s in the init context: %v, want it refused", js, err)
		}
	}
	for name, l := range map[string]*counting{"gRPC": grpc, "AMQP": amqp, "management API": mgmt, "metrics": metrics} {
		if n := l.accepted(); n != 0 {
			t.Errorf("the init context opened %d connections to the %s listener", n, name)
		}
	}
	v.toVUContext()
	// The listener accepts and hangs up: the gateway's address is
	// reachable, the RPC itself fails, which is a measurement (ERROR).
	if st := v.mustRun(`c_rr.placeOrder().status`).String(); st != "ERROR" {
		t.Errorf("placeOrder against a listener that hangs up: %s, want ERROR", st)
	}
	if grpc.accepted() == 0 {
		t.Error("the first order did not connect to the gateway")
	}
}

// A connection that fails at the first order ends the test with a message
// naming the address and what to check; later orders get the same answer
// without dialling again.
func TestFirstOrderConnectionFailure(t *testing.T) {
	closed := closedAddr(t)
	grpc := listener(t)
	cases := []struct{ name, opts, want string }{
		{"gateway", `{ twin: "rr", grpc: "` + closed + `" }`, "gRPC address " + closed + " is unreachable: is the rr twin's gateway running there?"},
		{"broker", `{ twin: "eda", grpc: "` + grpc + `", amqp: "amqp://guest:guest@` + closed + `/" }`, "AMQP broker amqp://guest:xxx@" + closed + "/ is unreachable: is the broker the eda twin uses up?"},
		{"broker, hybrid", `{ twin: "hybrid", grpc: "` + grpc + `", amqp: "amqp://guest:guest@` + closed + `/" }`, "is the broker the hybrid twin uses up?"},
		{"kafka broker", `{ twin: "eda", grpc: "` + grpc + `", broker: "kafka", brokerUrl: "` + closed + `" }`, "Kafka broker " + closed + " is unreachable: is the broker the eda twin uses up? (the private node: `go run ./harness/cmd/brokerctl up --broker kafka`"},
		{"nats broker", `{ twin: "eda", grpc: "` + grpc + `", broker: "nats", brokerUrl: "nats://` + closed + `" }`, "NATS broker nats://" + closed + " is unreachable: is the broker the eda twin uses up? (the private node: `go run ./harness/cmd/brokerctl up --broker nats`"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			v := newVU(t)
			v.mustRun(`var c = new eda.Client(` + c.opts + `)`)
			v.toVUContext()
			for i := range 2 {
				// The first failure interrupts the runtime (the test ends);
				// k6 would not run it again, the test does to see the
				// second order answered alike.
				v.rt.VU.Runtime().ClearInterrupt()
				_, err := v.run(`c.placeOrder()`)
				if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "k6/x/eda") {
					t.Fatalf("order %d: %v\nwant an exception saying %q", i+1, err, c.want)
				}
			}
		})
	}
}

func asException(err error, ex **sobek.Exception) bool {
	e, ok := err.(*sobek.Exception)
	if ok {
		*ex = e
	}
	return ok
}

// A malformed order is a JS exception; nothing is sent.
func TestPlaceOrderMalformed(t *testing.T) {
	v := newVU(t)
	v.mustRun(`var c = new eda.Client({ twin: "rr", grpc: "` + listener(t) + `" })`)
	if _, err := v.run(`c.placeOrder()`); err == nil || !strings.Contains(err.Error(), "not in the init context") {
		t.Fatalf("placeOrder in the init context: %v", err)
	}
	v.toVUContext()
	for js, want := range map[string]string{
		`c.placeOrder(42)`:                                                                    "malformed order: want an object",
		`c.placeOrder([1])`:                                                                   "malformed order: want an object",
		`c.placeOrder({ sku: "x" })`:                                                          `unknown field "sku"`,
		`c.placeOrder({ items: "book" })`:                                                     "items must be an array",
		`c.placeOrder({ items: [] })`:                                                         "items is empty",
		`c.placeOrder({ items: [{ sku: "", quantity: 1 }] })`:                                 "items[0].sku must be a non-empty string",
		`c.placeOrder({ items: [{ sku: "b", quantity: 0 }] })`:                                "items[0].quantity must be a whole number >= 1",
		`c.placeOrder({ items: [{ sku: "b", quantity: 1.5 }] })`:                              "items[0].quantity must be a whole number >= 1",
		`c.placeOrder({ items: [{ sku: "b", qty: 1 }] })`:                                     `items[0]: unknown field "qty"`,
		`c.placeOrder({ amountCents: -1 })`:                                                   "amountCents must be a whole number of cents >= 0",
		`c.placeOrder({ amountCents: "12" })`:                                                 "amountCents must be a whole number of cents >= 0",
		`c.placeOrder({ customer: { name: "a" } })`:                                           "customer must be a string",
		`c.placeOrder({ orderId: 7 })`:                                                        "orderId must be a string",
		`eda.queueDepth()`:                                                                    "want a queue name",
		`eda.queueDepth("payment", { mgmt: "http://10.0.0.1/" })`:                             "not a loopback address",
		`eda.queueDepth("payment", { broker: "kafka", brokerUrl: "amqp://127.0.0.1:5682/" })`: "is a RabbitMQ (AMQP) URL",
		`eda.queueDepth("payment", { broker: "nats", brokerUrl: "127.0.0.1:9102" })`:          "a NATS client URL is nats://HOST:PORT",
		`eda.queueDepth("payment", { broker: "pulsar" })`:                                     `option broker "pulsar": want one of rabbitmq, kafka, nats`,
		`eda.consumerLag("payment")`:                                                          "no service metrics URLs",
	} {
		_, err := v.run(js)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an exception saying %q", js, err, want)
		}
	}
	if n := len(v.samples); n != 0 {
		t.Errorf("%d samples pushed for malformed orders", n)
	}
	v.mustRun(`c.close(); c.close()`)
	if _, err := v.run(`c.placeOrder()`); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("placeOrder after close: %v", err)
	}
}

// The RR twin's reply is the completion: ack and end-to-end latency are the
// same and are pushed at once, with the VU's tags.
func TestRRMetrics(t *testing.T) {
	r := twin(t, "rr")
	v := newVU(t)
	v.mustRun(fmt.Sprintf(`var c = new eda.Client({ twin: "rr", grpc: %q })`, r.Twin.GatewayAddr()))
	v.toVUContext()
	res := v.mustRun(`var r = c.placeOrder({ customer: "alice", items: [{ sku: "book", quantity: 2 }], amountCents: 2500 }); r`).ToObject(v.rt.VU.Runtime())
	if st := res.Get("status").String(); st != "COMPLETED" {
		t.Fatalf("status %s (%v), want COMPLETED", st, res.Export())
	}
	if id := res.Get("orderId").String(); !strings.HasPrefix(id, "k6") {
		t.Errorf("generated order id %q", id)
	}
	if ack := res.Get("ackMs").ToFloat(); ack <= 0 {
		t.Errorf("ackMs %v", ack)
	}
	got := v.collect(time.Minute, func(ss []metrics.Sample) bool {
		n, _ := count(ss, MetricCompleted)
		return n > 0
	})
	for _, name := range []string{MetricAck, MetricE2E, MetricPlaced, MetricCompleted} {
		s, ok := find(got, name)
		if !ok {
			t.Fatalf("no %s sample in %v", name, names(got))
		}
		if tw, _ := s.Tags.Get("twin"); tw != "rr" {
			t.Errorf("%s: twin tag %q", name, tw)
		}
		if sc, _ := s.Tags.Get("scenario"); sc != "unit" {
			t.Errorf("%s: the VU's tags are missing: %v", name, s.Tags.Map())
		}
	}
	ack, _ := find(got, MetricAck)
	e2e, _ := find(got, MetricE2E)
	if ack.Value != e2e.Value || ack.Metric.Type != metrics.Trend || ack.Metric.Contains != metrics.Time {
		t.Errorf("ack %v and e2e %v: want the same Trend (time) value for RR", ack, e2e)
	}
}

// The EDA twin replies ACCEPTED; the completion comes from the broker, in
// the background, and so do the queue gauges.
func TestEDAMetrics(t *testing.T) {
	r := twin(t, "eda")
	e := env(r)
	v := newVU(t)
	v.mustRun(fmt.Sprintf(`var c = new eda.Client({ twin: "eda", grpc: %q, amqp: %q, prefix: %q, mgmt: %q, metrics: %q.split(","), completionTimeout: "60s" })`,
		e["GRPC"], e["AMQP"], e["PREFIX"], e["MGMT"], e["METRICS"]))
	v.toVUContext()
	res := v.mustRun(`c.placeOrder()`).ToObject(v.rt.VU.Runtime())
	if st := res.Get("status").String(); st != "ACCEPTED" {
		t.Fatalf("status %s (%v), want ACCEPTED", st, res.Export())
	}
	got := v.collect(time.Minute, func(ss []metrics.Sample) bool {
		nc, _ := count(ss, MetricCompleted)
		nd, _ := count(ss, MetricQueueDepth)
		nl, _ := count(ss, MetricConsumerLag)
		return nc > 0 && nd > 0 && nl > 0
	})
	for _, name := range []string{MetricAck, MetricPlaced, MetricE2E, MetricCompleted, MetricQueueDepth, MetricConsumerLag} {
		if _, ok := find(got, name); !ok {
			t.Fatalf("no %s sample in %v", name, names(got))
		}
	}
	e2e, _ := find(got, MetricE2E)
	ack, _ := find(got, MetricAck)
	if e2e.Value <= 0 || ack.Value <= 0 {
		t.Errorf("e2e %v ms, ack %v ms", e2e.Value, ack.Value)
	}
	if sc, _ := e2e.Tags.Get("scenario"); sc != "unit" {
		t.Errorf("the background e2e sample lost the VU's tags: %v", e2e.Tags.Map())
	}
	queues := map[string]bool{}
	for _, s := range got {
		if s.Metric.Name == MetricQueueDepth {
			q, _ := s.Tags.Get("queue")
			queues[q] = true
		}
	}
	if !queues[e["PREFIX"]+".payment"] || !queues[e["PREFIX"]+".gateway"] {
		t.Errorf("queue depth sampled for %v", queues)
	}
	if n, _ := count(got, MetricLost); n != 0 {
		t.Errorf("an order counted lost")
	}
	if d := v.mustRun(`eda.queueDepth("payment")`).ToInteger(); d < 0 {
		t.Errorf("queueDepth %d", d)
	}
	if lag := v.mustRun(`eda.consumerLag("payment")`); !sobek.IsNull(lag) && lag.ToFloat() < 0 {
		t.Errorf("consumerLag %v", lag)
	}
	if _, err := v.run(`eda.queueDepth("nope")`); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("queueDepth of a missing queue: %v", err)
	}
}

// An order whose completion never comes is lost when its completion timeout
// passes: here the client listens under another prefix than the twin's.
// That prefix is under the twin's own, so the twin's claim covers what the
// client declares there and its release deletes it.
func TestEDALost(t *testing.T) {
	r := twin(t, "eda")
	e := env(r)
	v := newVU(t)
	v.mustRun(fmt.Sprintf(`var c = new eda.Client({ twin: "eda", grpc: %q, amqp: %q, prefix: %q, mgmt: "", completionTimeout: "200ms" })`,
		e["GRPC"], e["AMQP"], e["PREFIX"]+".elsewhere"))
	v.toVUContext()
	if st := v.mustRun(`c.placeOrder().status`).String(); st != "ACCEPTED" {
		t.Fatalf("status %s", st)
	}
	got := v.collect(time.Minute, func(ss []metrics.Sample) bool {
		n, _ := count(ss, MetricLost)
		return n > 0
	})
	if n, sum := count(got, MetricLost); n != 1 || sum != 1 {
		t.Fatalf("lost: %d samples, sum %v; samples %v", n, sum, names(got))
	}
	if n, _ := count(got, MetricCompleted); n != 0 {
		t.Errorf("a completion seen under another prefix")
	}
}

// The HDR option writes the ack and end-to-end histograms in the harness's
// .hgrm format when the last client closes (or the test ends).
func TestHDR(t *testing.T) {
	r := twin(t, "rr")
	dir := t.TempDir()
	v := newVU(t)
	v.mustRun(fmt.Sprintf(`var c = new eda.Client({ twin: "rr", grpc: %q, hdr: %q })`, r.Twin.GatewayAddr(), dir))
	v.toVUContext()
	v.mustRun(`for (let i = 0; i < 5; i++) c.placeOrder(); c.close()`)
	for _, kind := range []string{"ack", "e2e"} {
		path := filepath.Join(dir, "k6.rr."+kind+".hgrm")
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		var header, total string
		for sc.Scan() {
			line := sc.Text()
			if header == "" {
				header = line
			}
			if strings.HasPrefix(line, "#[Max") {
				total = line
			}
		}
		f.Close()
		if !strings.Contains(header, "Percentile") || !strings.HasSuffix(strings.ReplaceAll(total, " ", ""), "Totalcount=5]") {
			t.Errorf("%s: header %q, total %q", path, header, total)
		}
	}
}

// With trends off, latency lives in the HDR histograms alone: no Trend
// sample is pushed (k6 would keep each one), and the quantile gauges carry
// the run's p50 and p99, the last value covering every order.
func TestHDRWithoutTrends(t *testing.T) {
	r := twin(t, "rr")
	v := newVU(t)
	v.mustRun(fmt.Sprintf(`var c = new eda.Client({ twin: "rr", grpc: %q, hdr: %q, trends: false })`, r.Twin.GatewayAddr(), t.TempDir()))
	v.toVUContext()
	v.mustRun(`for (let i = 0; i < 5; i++) c.placeOrder(); c.close()`)
	got := v.collect(time.Minute, func(ss []metrics.Sample) bool {
		n, _ := count(ss, MetricE2EP99)
		return n > 0
	})
	for _, name := range []string{MetricAck, MetricE2E} {
		if n, _ := count(got, name); n != 0 {
			t.Errorf("%s: %d Trend samples with trends off", name, n)
		}
	}
	if _, sum := count(got, MetricCompleted); sum != 5 {
		t.Errorf("completed: %v, want 5; samples %v", sum, names(got))
	}
	for _, name := range []string{MetricAckP50, MetricAckP99, MetricE2EP50, MetricE2EP99} {
		s, ok := find(got, name)
		if !ok || s.Value <= 0 {
			t.Errorf("%s: %v (found %v); samples %v", name, s.Value, ok, names(got))
		}
	}
}

func names(ss []metrics.Sample) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s.Metric.Name] {
			seen[s.Metric.Name] = true
			out = append(out, s.Metric.Name)
		}
	}
	return out
}

// In a cluster the runner's $EDABENCH_ALLOW names the twin's Services:
// those pass, anything else is still refused with the fix named.
func TestClientAllowlist(t *testing.T) {
	t.Setenv(AllowEnv, "rr-gateway:7000,eda-gateway:7000,edabench-rabbitmq:5672")
	v := newVU(t)
	v.mustRun(`var ok1 = new eda.Client({ twin: "rr", grpc: "rr-gateway:7000" })`)
	v.mustRun(`var ok2 = new eda.Client({ twin: "eda", grpc: "eda-gateway:7000", amqp: "amqp://u:p@edabench-rabbitmq:5672/", mgmt: "http://127.0.0.1:15672" })`)
	for js, want := range map[string]string{
		`new eda.Client({ twin: "rr", grpc: "rr-gateway:7001" })`: "not in the harness's allowlist",
		`new eda.Client({ twin: "rr", grpc: "10.1.2.3:7000" })`:   "add it to --allow (EDABENCH_ALLOW)",
	} {
		if _, err := v.run(js); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want it refused saying %q", js, err, want)
		}
	}
	t.Setenv(AllowEnv, "*")
	if _, err := v.run(`new eda.Client({ twin: "rr", grpc: "127.0.0.1:7000" })`); err == nil || !strings.Contains(err.Error(), "EDABENCH_ALLOW") {
		t.Errorf("a wildcard allowlist: %v, want it refused", err)
	}
}
