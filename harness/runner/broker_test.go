package runner

import (
	"errors"
	"strings"
	"testing"
)

// The run's broker is --broker, else the scenario's broker key, else
// RabbitMQ; a name that is not both a node kind and a driver is the
// user's to fix, and so is a running twin's broker URL in the other
// broker's form.
func TestOptionsBroker(t *testing.T) {
	tests := []struct {
		name, flag, key, target, url string
		twins                        []string
		want, err                    string
	}{
		{"default", "", "", "", "", []string{"eda"}, "rabbitmq", ""},
		{"scenario key", "", "kafka", "", "", []string{"eda"}, "kafka", ""},
		{"flag wins", "rabbitmq", "kafka", "", "", []string{"eda"}, "rabbitmq", ""},
		{"unknown", "pulsar", "", "", "", []string{"eda"}, "", `broker "pulsar": not a broker node edabench can run; use one of rabbitmq, kafka, nats`},
		{"target over kafka", "kafka", "", "127.0.0.1:7200", "127.0.0.1:9102", []string{"eda"}, "kafka", ""},
		{"target over kafka, an AMQP URL", "kafka", "", "127.0.0.1:7200", "amqp://127.0.0.1:1/", []string{"eda"}, "", "is a RabbitMQ (AMQP) URL"},
		{"target over rabbitmq, a Kafka URL", "", "", "127.0.0.1:7200", "127.0.0.1:9102", []string{"hybrid"}, "", "not an AMQP URL"},
		{"target over rabbitmq", "", "", "127.0.0.1:7200", "amqp://127.0.0.1:1/", []string{"eda"}, "rabbitmq", ""},
		{"rr target ignores it", "kafka", "", "127.0.0.1:7100", "amqp://127.0.0.1:1/", []string{"rr"}, "kafka", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := mustScenario(t, "name: b\nstages:\n  - {name: s, duration: 1s, rate: 1}\n")
			sc.Broker = tt.key
			o := Options{Twins: tt.twins, Scenario: sc, Broker: tt.flag, Target: tt.target, BrokerURL: tt.url, Prefix: "p"}
			err := o.defaults()
			switch {
			case tt.err != "" && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("defaults() = %v; want ErrInvalid with %q", err, tt.err)
			case tt.err == "" && err != nil:
				t.Fatal(err)
			case tt.err == "" && o.Broker != tt.want:
				t.Fatalf("broker %q, want %q", o.Broker, tt.want)
			}
		})
	}
}

// A scenario file's broker key reaches Scenario.Broker.
func TestScenarioBrokerKey(t *testing.T) {
	sc := mustScenario(t, "name: b\nstages:\n  - {name: s, duration: 1s, rate: 1}\nbroker: kafka\n")
	if sc.Broker != "kafka" {
		t.Fatalf("broker %q, want kafka", sc.Broker)
	}
}
