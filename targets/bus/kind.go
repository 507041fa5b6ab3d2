package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Kind is a registered driver: how to open it, and everything the twins,
// the harness and the k6 extension need to know about its backbone, so
// that none of them switches on a broker's name. Adding a backbone is a
// driver package filling a Kind and one line in drivers.Builtin; every
// field but the optional ones is required (NewRegistry panics without it,
// the drivers' test names it).
type Kind struct {
	Name string
	// Title is the broker's name as its project spells it, for messages
	// ("RabbitMQ").
	Title string
	// Open connects (retrying for ConnectTimeout) and returns the driver;
	// ctx bounds the driver's whole life, not just the connect.
	Open func(ctx context.Context, cfg DriverConfig) (Driver, error)
	// Delete removes the topology's queues (with their dead-letter queues)
	// and, if t.Exchange is set, its exchange: for twins whose services
	// stopped, so a shared broker does not collect idle queues.
	Delete func(ctx context.Context, cfg DriverConfig, t Topology) error

	// DefaultURL is the client URL of the private node the harness starts
	// (harness/brokernodes), what a command dials when given none.
	DefaultURL string
	// URLIs says what a client URL names, for messages ("the seed broker").
	URLIs string
	// CheckURL refuses a URL not in the driver's form, saying what the
	// form is (and naming another broker's URL as such where it can).
	CheckURL func(url string) error
	// Addrs are the HOST:PORT addresses a URL that CheckURL took dials,
	// the first one first: for loopback checks and a reachability dial.
	Addrs func(url string) []string
	// Handshake opens one client connection to a broker that answers at
	// url, with the URL's credentials, and closes it: whether a running
	// twin's broker would take the twins. Its error says what to fix.
	// Optional: without it a check reads the node instead.
	Handshake func(url string, timeout time.Duration) error

	// TwinOptions are the twins' settings for this driver (the twin's
	// command and the broker probe take the same): the zero TwinSettings
	// gives the twins' defaults.
	TwinOptions func(s TwinSettings) (DriverOptions, error)
	// Flags are the driver's own flags of the twin's command, passed to
	// TwinOptions in TwinSettings.Flags when given; optional.
	Flags []Flag
	// ProxiedFlag is the flag of Flags a service whose URL is a proxy in
	// front of a single node is started with: its client would otherwise
	// dial the addresses the broker advertises, around the proxy. Empty
	// when the client dials only the URL it is given.
	ProxiedFlag string
	// Describe says how the twin (and the broker probe) publish and
	// consume with options o, for the broker ceiling's table.
	Describe func(o DriverOptions) Description
	// Instrument gives o the driver's own client metrics, registered on
	// reg; nil when the driver has none.
	Instrument func(o DriverOptions, reg prometheus.Registerer) DriverOptions

	// RoutesItself says the driver delivers only to the queues the twin's
	// services declared (Kafka topics, NATS streams), so a reader of the
	// order ends needs an end queue the twin declares, and a queue's
	// backlog is what the driver's consumer reads (StatsReader), not the
	// node's figure. False for a broker that routes (RabbitMQ's exchange
	// takes any queue bound later, and the node's figure is the backlog).
	RoutesItself bool
	// GroupBacklog says a queue's backlog is its consumer group's (log end
	// minus the group's commit) and a consumer receives only once it joined
	// the group: the node's figure is what the log holds, which only grows,
	// and a reader waits for its membership before the first order.
	GroupBacklog bool
}

// TwinSettings are what a twin's command gives a driver's TwinOptions.
type TwinSettings struct {
	// Prefetch bounds the unsettled deliveries per consumer; 0: the twins'
	// default.
	Prefetch int
	// Flags are the driver's own flags given (Kind.Flags), by name; a
	// flag not given takes its default.
	Flags map[string]string
}

// Flag is one of a driver's own flags of the twin's command.
type Flag struct {
	Name    string
	Usage   string
	Default string
	Bool    bool // a switch: given alone, it is "true"
}

// Description is how a twin uses the backbone, for a table.
type Description struct {
	Prefetch int    // unsettled deliveries per consumer
	Settings string // publishing and consuming, in a few words
}

// Check names the required fields kind lacks.
func (k Kind) Check() error {
	var errs []error
	for _, f := range []struct {
		name string
		ok   bool
	}{
		{"Name", k.Name != ""}, {"Title", k.Title != ""}, {"Open", k.Open != nil}, {"Delete", k.Delete != nil},
		{"DefaultURL", k.DefaultURL != ""}, {"URLIs", k.URLIs != ""}, {"CheckURL", k.CheckURL != nil},
		{"Addrs", k.Addrs != nil}, {"TwinOptions", k.TwinOptions != nil}, {"Describe", k.Describe != nil},
	} {
		if !f.ok {
			errs = append(errs, fmt.Errorf("bus: driver %q has no %s", k.Name, f.name))
		}
	}
	if k.ProxiedFlag != "" && k.Flag(k.ProxiedFlag) == nil {
		errs = append(errs, fmt.Errorf("bus: driver %q: ProxiedFlag %q is not one of its Flags", k.Name, k.ProxiedFlag))
	}
	return errors.Join(errs...)
}

// Flag is the driver's own flag called name, nil if it has none.
func (k Kind) Flag(name string) *Flag {
	for i := range k.Flags {
		if k.Flags[i].Name == name {
			return &k.Flags[i]
		}
	}
	return nil
}

// Registry holds the drivers by name. It is a value: build it with
// NewRegistry (the built-in one is drivers.Builtin()).
type Registry struct {
	kinds []Kind
}

// NewRegistry lists kinds; a duplicate or incomplete kind is a programming
// error and panics.
func NewRegistry(kinds ...Kind) Registry {
	seen := map[string]bool{}
	for _, k := range kinds {
		if err := k.Check(); err != nil {
			panic(err.Error())
		}
		if seen[k.Name] {
			panic(fmt.Sprintf("bus: driver %q registered twice", k.Name))
		}
		seen[k.Name] = true
	}
	return Registry{kinds: append([]Kind(nil), kinds...)}
}

// Kinds lists the registered drivers.
func (r Registry) Kinds() []Kind { return append([]Kind(nil), r.kinds...) }
