package bus_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/edabench/edabench/targets/bus"
)

type fakeOptions struct{ N int }

func (fakeOptions) Broker() string { return "fake" }
func (o fakeOptions) Validate() error {
	if o.N < 0 {
		return errors.New("N below 0")
	}
	return nil
}

type otherOptions struct{}

func (otherOptions) Broker() string  { return "other" }
func (otherOptions) Validate() error { return nil }

func TestOptionsAs(t *testing.T) {
	tests := []struct {
		name    string
		in      bus.DriverOptions
		want    int
		wantErr string
	}{
		{"none", nil, 0, ""},
		{"value", fakeOptions{N: 3}, 3, ""},
		{"pointer", &fakeOptions{N: 4}, 4, ""},
		{"invalid", fakeOptions{N: -1}, -1, "fake: N below 0"},
		{"another broker's", otherOptions{}, 0, `options of broker "other" given to the fake driver`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := bus.OptionsAs[fakeOptions]("fake", bus.DriverConfig{Options: tt.in})
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if got.N != tt.want {
				t.Errorf("N = %d, want %d", got.N, tt.want)
			}
		})
	}
}
