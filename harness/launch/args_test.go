package launch

import (
	"slices"
	"strings"
	"testing"

	"github.com/edabench/edabench/targets/workflow"
)

// A twin over the broker gets --broker and its URL as --broker-url (the
// proxied flag of its driver behind a proxy); the harness's order-ends
// queue, when the driver needs it declared, as --end-queue.
func TestServiceArgsNameTheBroker(t *testing.T) {
	tests := []struct {
		name, broker, url, endQueue string
		via                         string // payment's proxy, "" for none
		want                        []string
	}{
		{"default is rabbitmq", "", "amqp://guest:guest@127.0.0.1:5682/", "", "",
			[]string{"--broker", "rabbitmq", "--broker-url", "amqp://guest:guest@127.0.0.1:5682/", "--prefix", "p"}},
		{"kafka", "kafka", "127.0.0.1:9102", "p.harness", "",
			[]string{"--broker", "kafka", "--broker-url", "127.0.0.1:9102", "--prefix", "p", "--end-queue", "p.harness"}},
		// Behind a proxy, a Kafka client is pinned to it: the advertised
		// listener would take it around the proxy.
		{"kafka proxied", "kafka", "127.0.0.1:9102", "", "127.0.0.1:7777",
			[]string{"--broker", "kafka", "--broker-url", "127.0.0.1:7777", "--prefix", "p", "--kafka-via-seed"}},
		{"rabbitmq proxied", "", "amqp://guest:guest@127.0.0.1:5682/", "", "127.0.0.1:7777",
			[]string{"--broker", "rabbitmq", "--broker-url", "amqp://guest:guest@127.0.0.1:7777/", "--prefix", "p"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tw := &Twin{spec: Spec{Twin: "eda", Topology: workflow.Chain, Steps: 4, Broker: tt.broker, URL: tt.url, Prefix: "p",
				EndQueue: tt.endQueue}, via: map[string]string{}}
			if tt.via != "" {
				tw.via["payment"] = tt.via
			}
			args := tw.serviceArgs("payment", map[string]string{}, "127.0.0.1:1")
			if slices.Contains(args, "--kafka-via-seed") != slices.Contains(tt.want, "--kafka-via-seed") {
				t.Fatalf("args %q: --kafka-via-seed only for a proxied Kafka link", strings.Join(args, " "))
			}
			i := slices.Index(args, "--broker")
			if i < 0 || len(args) < i+len(tt.want) || !slices.Equal(args[i:i+len(tt.want)], tt.want) {
				t.Fatalf("args %q: want %q in a row", strings.Join(args, " "), strings.Join(tt.want, " "))
			}
		})
	}
}

// A proxy fronts a bare Kafka HOST:PORT as well as an amqp:// URL.
func TestBrokerHost(t *testing.T) {
	for in, want := range map[string]string{"amqp://guest:guest@127.0.0.1:5682/": "127.0.0.1:5682", "127.0.0.1:9102": "127.0.0.1:9102"} {
		if got, err := brokerHost(in); err != nil || got != want {
			t.Errorf("brokerHost(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := brokerHost("kafka"); err == nil {
		t.Error("brokerHost(\"kafka\") = nil error; want one naming the forms it takes")
	}
}
