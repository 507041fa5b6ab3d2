package drivers_test

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

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

// Every registered kind fills every required field, and what it fills is
// consistent: its URL check takes its own default URL on loopback and
// refuses every other driver's, its twin options are its own with the
// twins' common prefetch, its flags' defaults are accepted, and its
// proxied flag is one of its flags.
func TestBuiltinKindsAreComplete(t *testing.T) {
	kinds := drivers.Builtin().Kinds()
	if len(kinds) == 0 || kinds[0].Name != bus.RabbitMQ {
		t.Fatalf("Builtin() lists %v first; want the default %q", drivers.Builtin().Names(), bus.RabbitMQ)
	}
	for _, k := range kinds {
		t.Run(k.Name, func(t *testing.T) {
			if err := k.Check(); err != nil {
				t.Fatal(err)
			}
			if err := k.CheckURL(k.DefaultURL); err != nil {
				t.Errorf("CheckURL(DefaultURL %q) = %v", k.DefaultURL, err)
			}
			addrs := k.Addrs(k.DefaultURL)
			if len(addrs) == 0 {
				t.Errorf("Addrs(%q) is empty", k.DefaultURL)
			}
			for _, a := range addrs {
				if host, _, err := net.SplitHostPort(a); err != nil || host != "127.0.0.1" {
					t.Errorf("Addrs(%q) = %v: want HOST:PORT on 127.0.0.1 (the private node)", k.DefaultURL, addrs)
				}
			}
			for _, other := range kinds {
				if other.Name != k.Name && k.CheckURL(other.DefaultURL) == nil {
					t.Errorf("CheckURL takes %s's URL %q: a URL for the wrong --broker must be refused", other.Name, other.DefaultURL)
				}
			}
			defaults := map[string]string{}
			for _, f := range k.Flags {
				if f.Name == "" || f.Usage == "" {
					t.Errorf("flag %+v: want a name and a usage", f)
				}
				defaults[f.Name] = f.Default
			}
			for _, s := range []bus.TwinSettings{{}, {Prefetch: 64, Flags: defaults}} {
				want := s.Prefetch
				o, err := k.TwinOptions(s)
				if err != nil {
					t.Fatalf("TwinOptions(%+v): %v", s, err)
				}
				if o.Broker() != k.Name {
					t.Errorf("TwinOptions gives %s's options", o.Broker())
				}
				if d := k.Describe(o); (want != 0 && d.Prefetch != want) || d.Prefetch < 1 || d.Settings == "" {
					t.Errorf("Describe(twin options %+v) = %+v: want the prefetch asked (else the twin's own, at least 1) and the settings", s, d)
				}
			}
			if o, err := k.TwinOptions(bus.TwinSettings{Prefetch: 7}); err != nil || k.Describe(o).Prefetch != 7 {
				t.Errorf("TwinOptions with prefetch 7 = %v, %v: the prefetch must reach the options", o, err)
			}
			if _, err := k.TwinOptions(bus.TwinSettings{Flags: map[string]string{"no-such-flag": "1"}}); err == nil {
				t.Error("TwinOptions takes a flag that is none of the driver's")
			}
			if k.Instrument != nil {
				o, _ := k.TwinOptions(bus.TwinSettings{})
				if got := k.Instrument(o, prometheus.NewRegistry()); got == nil || got.Broker() != k.Name {
					t.Errorf("Instrument(twin options) = %v", got)
				}
			}
		})
	}
}

// A kind lacking a required field is refused at registration, naming it.
func TestNewRegistryRefusesAnIncompleteKind(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(fmt.Sprint(r), "has no Title") {
			t.Fatalf("NewRegistry(incomplete) panicked with %v; want it to name the missing Title", r)
		}
	}()
	k := drivers.Builtin().Kinds()[0]
	k.Title = ""
	bus.NewRegistry(k)
}
