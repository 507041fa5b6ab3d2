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
		if got := Of(tt.twin).ServiceUsesBroker(tt.service); got != tt.broker {
			t.Errorf("ServiceUsesBroker(%s, %s) = %v", tt.twin, tt.service, got)
		}
		if got := Of(tt.twin).CalledOverGRPC(tt.service); got != tt.grpcCalls {
			t.Errorf("CalledOverGRPC(%s, %s) = %v", tt.twin, tt.service, got)
		}
	}
}

func TestPeers(t *testing.T) {
	steps := []string{"payment", "inventory", "shipping"}
	tests := []struct {
		twin, service string
		want          []string
	}{
		{RR, "gateway", steps},
		{RR, "payment", []string{"inventory", "shipping"}},
		{RR, "shipping", []string{"inventory", "shipping"}},
		{EDA, "gateway", []string{}},
		{EDA, "payment", []string{}},
		{Hybrid, "gateway", []string{"payment"}},
		{Hybrid, "inventory", []string{}},
	}
	for _, tt := range tests {
		if got := Of(tt.twin).Peers(tt.service, steps); !slices.Equal(got, tt.want) {
			t.Errorf("%s %s: peers %v, want %v", tt.twin, tt.service, got, tt.want)
		}
	}
}

func TestDescriptors(t *testing.T) {
	tests := []struct {
		twin                                   string
		broker, atReply, compensates, handsOff bool
	}{
		{RR, false, true, true, false},
		{EDA, true, false, false, false},
		{Hybrid, true, false, true, true},
		{"grpc", false, false, false, false},
	}
	for _, tt := range tests {
		d := Of(tt.twin)
		got := []bool{d.UsesBroker(), d.EndsAtReply(), d.Compensates(), d.HandsOff()}
		want := []bool{tt.broker, tt.atReply, tt.compensates, tt.handsOff}
		if !slices.Equal(got, want) {
			t.Errorf("%s: broker, at reply, compensates, hands off = %v, want %v", tt.twin, got, want)
		}
	}
	if _, err := Lookup("grpc"); err == nil {
		t.Error("Lookup(grpc) accepted an unknown twin")
	}
}
