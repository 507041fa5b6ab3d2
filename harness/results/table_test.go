package results

import (
	"bytes"
	"strings"
	"testing"
)

// The table's header names the backbone next to each broker twin, so two
// runs' tables on two backbones are not mistaken for one another.
func TestWriteTableNamesTheBackbone(t *testing.T) {
	for _, tt := range []struct {
		env  Environment
		want string
	}{
		{Environment{Broker: &BrokerInfo{Name: "kafka", Version: "4.4.0"}}, "rr eda@kafka hybrid@kafka"},
		{Environment{RabbitMQ: "3.10.8"}, "rr eda@rabbitmq hybrid@rabbitmq"},
	} {
		s := &Summary{Environment: tt.env, Twins: map[string]*TwinResult{"rr": {}, "eda": {}, "hybrid": {}}}
		var b bytes.Buffer
		if err := WriteTable(&b, s); err != nil {
			t.Fatal(err)
		}
		header := strings.Join(strings.Fields(strings.SplitN(b.String(), "\n", 2)[0]), " ")
		if header != tt.want {
			t.Errorf("header %q, want %q", header, tt.want)
		}
	}
}
