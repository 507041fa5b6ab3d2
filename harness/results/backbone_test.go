package results

import "testing"

func TestBackbone(t *testing.T) {
	for _, tt := range []struct {
		name   string
		twins  []string
		env    Environment
		want   string
		wantV  string
		labels map[string]string
	}{
		{"rr only: no backbone, whatever the environment says", []string{"rr"}, Environment{RabbitMQ: "3.10.8"}, "", "",
			map[string]string{"rr": "rr"}},
		{"before --broker: RabbitMQ", []string{"rr", "eda"}, Environment{RabbitMQ: "3.10.8"}, "rabbitmq", "3.10.8",
			map[string]string{"rr": "rr", "eda": "eda@rabbitmq"}},
		{"named", []string{"rr", "eda", "hybrid"}, Environment{Broker: &BrokerInfo{Name: "kafka", Version: "4.4.0"}}, "kafka", "4.4.0",
			map[string]string{"rr": "rr", "eda": "eda@kafka", "hybrid": "hybrid@kafka"}},
		{"hybrid alone uses the broker", []string{"hybrid"}, Environment{Broker: &BrokerInfo{Name: "rabbitmq", Version: "3.10.8"}}, "rabbitmq", "3.10.8",
			map[string]string{"hybrid": "hybrid@rabbitmq"}},
		{"a three-node cluster", []string{"rr", "eda"}, Environment{Broker: &BrokerInfo{Name: "rabbitmq", Version: "3.10.8", Nodes: 3}}, "rabbitmq", "3.10.8",
			map[string]string{"rr": "rr", "eda": "eda@rabbitmq x3"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := Summary{Environment: tt.env, Twins: map[string]*TwinResult{}}
			for _, tw := range tt.twins {
				s.Twins[tw] = &TwinResult{}
			}
			if got := s.Backbone(); got != tt.want {
				t.Errorf("Backbone() = %q, want %q", got, tt.want)
			}
			if got := s.BackboneVersion(); got != tt.wantV {
				t.Errorf("BackboneVersion() = %q, want %q", got, tt.wantV)
			}
			for tw, want := range tt.labels {
				if got := TwinLabel(tw, s.Deployment()); got != want {
					t.Errorf("TwinLabel(%s) = %q, want %q", tw, got, want)
				}
			}
		})
	}
}
