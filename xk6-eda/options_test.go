package eda

import (
	"testing"

	"github.com/edabench/edabench/targets/bus/kafka"
	natsbus "github.com/edabench/edabench/targets/bus/nats"
	"github.com/edabench/edabench/targets/eda"
	"github.com/grafana/sobek"
)

// TestSettledBrokerOptions: what a client over each broker settles to
// when the script names little: the private node's URL, k6's end queue
// under the prefix where the driver routes itself, the management API on
// RabbitMQ only.
func TestSettledBrokerOptions(t *testing.T) {
	const grpc = `grpc: "127.0.0.1:7200"`
	cases := []struct {
		name, js                    string
		broker, url, endQueue, mgmt string
	}{
		{"rabbitmq by default", `{ twin: "eda", ` + grpc + ` }`, "rabbitmq", eda.DefaultConfig().URL, "", DefaultMgmtURL},
		{"rabbitmq by amqp", `{ twin: "eda", ` + grpc + `, amqp: "amqp://u:p@127.0.0.1:5999/" }`, "rabbitmq", "amqp://u:p@127.0.0.1:5999/", "", DefaultMgmtURL},
		{"kafka", `{ twin: "eda", ` + grpc + `, broker: "kafka" }`, kafka.Name, kafka.DefaultURL, "edabench.k6", ""},
		{"kafka with prefix", `{ twin: "hybrid", ` + grpc + `, broker: "kafka", prefix: "p1", brokerUrl: "127.0.0.1:9999" }`, kafka.Name, "127.0.0.1:9999", "p1.k6", ""},
		{"nats", `{ twin: "eda", ` + grpc + `, broker: "nats" }`, natsbus.Name, natsbus.DefaultURL, "edabench.k6", ""},
		{"nats with prefix and url", `{ twin: "eda", ` + grpc + `, broker: "nats", prefix: "p2", brokerUrl: "nats://127.0.0.1:4999" }`, natsbus.Name, "nats://127.0.0.1:4999", "p2.k6", ""},
		{"nats with end queue", `{ twin: "eda", ` + grpc + `, broker: "nats", endQueue: "p3.mine" }`, natsbus.Name, natsbus.DefaultURL, "p3.mine", ""},
		{"nats with mgmt off", `{ twin: "eda", ` + grpc + `, broker: "nats", mgmt: "" }`, natsbus.Name, natsbus.DefaultURL, "edabench.k6", ""},
		{"rr ignores the broker", `{ twin: "rr", ` + grpc + `, broker: "nats" }`, "", "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rt := sobek.New()
			v, err := rt.RunString("(" + c.js + ")")
			if err != nil {
				t.Fatal(err)
			}
			o, err := parseOptions(rt, v)
			if err != nil {
				t.Fatalf("%s: %v", c.js, err)
			}
			if o.Broker != c.broker || o.BrokerURL != c.url || o.EndQueue != c.endQueue || o.Mgmt != c.mgmt {
				t.Fatalf("%s settles to broker %q url %q endQueue %q mgmt %q; want %q %q %q %q",
					c.js, o.Broker, o.BrokerURL, o.EndQueue, o.Mgmt, c.broker, c.url, c.endQueue, c.mgmt)
			}
		})
	}
}
