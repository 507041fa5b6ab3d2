package drivers_test

import (
	"strings"
	"testing"

	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/drivers"
)

func TestBuiltinLookup(t *testing.T) {
	for _, tc := range []struct {
		name    string
		wantErr string
	}{
		{bus.RabbitMQ, ""},
		{"kafka", ""},
		{"nats", ""},
		{"pulsar", "use one of rabbitmq, kafka, nats"},
		{"", "no bus driver"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := drivers.Builtin().Lookup(tc.name)
			switch {
			case tc.wantErr == "" && (err != nil || k.Name != tc.name || k.Open == nil || k.Delete == nil):
				t.Fatalf("Lookup(%q) = %+v, %v", tc.name, k, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Lookup(%q) error = %v, want one containing %q", tc.name, err, tc.wantErr)
			}
		})
	}
}
