package nats

import (
	"strings"
	"testing"
	"time"
)

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		want string // "" when valid
	}{
		{"zero takes the defaults", Options{}, ""},
		{"ping interval", Options{PingInterval: time.Second}, ""},
		{"ping interval too short", Options{PingInterval: 10 * time.Millisecond}, "ping interval"},
		{"ping interval negative", Options{PingInterval: -time.Second}, "ping interval"},
		{"ping interval too long", Options{PingInterval: time.Hour}, "ping interval"},
		{"ack wait too short", Options{AckWait: time.Millisecond}, "ack wait"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
	if got := (Options{}).withDefaults().PingInterval; got != DefaultPingInterval {
		t.Fatalf("default ping interval %s, want %s", got, DefaultPingInterval)
	}
}
