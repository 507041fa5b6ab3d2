package rabbitmq

import (
	"slices"
	"testing"
)

// A cluster's members travel as one comma-separated URL; each must be
// dialable on its own and redacted on its own.
func TestURLs(t *testing.T) {
	for _, tc := range []struct {
		raw      string
		want     []string
		redacted string
	}{
		{"amqp://u:p@127.0.0.1:5682/", []string{"amqp://u:p@127.0.0.1:5682/"}, "amqp://u:xxxxx@127.0.0.1:5682/"},
		{"amqp://u:p@127.0.0.1:5690/, amqp://u:p@127.0.0.1:5691/,", []string{"amqp://u:p@127.0.0.1:5690/", "amqp://u:p@127.0.0.1:5691/"},
			"amqp://u:xxxxx@127.0.0.1:5690/,amqp://u:xxxxx@127.0.0.1:5691/"},
	} {
		if got := URLs(tc.raw); !slices.Equal(got, tc.want) {
			t.Errorf("URLs(%q) = %q, want %q", tc.raw, got, tc.want)
		}
		if got := redactURL(tc.raw); got != tc.redacted {
			t.Errorf("redactURL(%q) = %q, want %q", tc.raw, got, tc.redacted)
		}
	}
	if addr, err := Address("amqp://u:p@127.0.0.1:5690/,amqp://u:p@127.0.0.1:5691/"); err != nil || addr != "127.0.0.1:5690" {
		t.Errorf("Address of a list = %q, %v; want the first member's", addr, err)
	}
	if _, err := Address("amqp://u:p@127.0.0.1:5690/,nonsense://x"); err == nil {
		t.Error("Address accepted a list with a bad member")
	}
}
