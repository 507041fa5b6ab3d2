package twinkind

import (
	"slices"
	"testing"
)

func TestParseSet(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{"rr", []string{"rr"}, false},
		{"hybrid", []string{"hybrid"}, false},
		{"both", []string{"rr", "eda"}, false},
		{"all", []string{"rr", "eda", "hybrid"}, false},
		{"grpc", nil, true},
		{"", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseSet(tt.in)
		if (err != nil) != tt.err || !slices.Equal(got, tt.want) {
			t.Errorf("ParseSet(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestWhatEachServiceTalksTo(t *testing.T) {
	tests := []struct {
		twin, service     string
		broker, grpcCalls bool
	}{
		{RR, "gateway", false, false},
		{RR, "payment", false, true},
		{RR, "inventory", false, true},
		{EDA, "gateway", true, false},
		{EDA, "payment", true, false},
		{Hybrid, "gateway", true, false},
		{Hybrid, "payment", false, true},
		{Hybrid, "shipping", true, false},
	}
	for _, tt := range tests {
		if got := ServiceUsesBroker(tt.twin, tt.service); got != tt.broker {
			t.Errorf("ServiceUsesBroker(%s, %s) = %v", tt.twin, tt.service, got)
		}
		if got := CalledOverGRPC(tt.twin, tt.service); got != tt.grpcCalls {
			t.Errorf("CalledOverGRPC(%s, %s) = %v", tt.twin, tt.service, got)
		}
	}
}
