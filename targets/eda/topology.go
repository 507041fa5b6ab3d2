// Package eda is the event-driven twin: the gateway publishes OrderPlaced and
// answers ACCEPTED once the broker confirmed it; each step consumes the event
// before it from its own durable queue, applies itself idempotently, publishes
// the next event (confirmed) and only then acks. A failing step publishes
// OrderFailed and the steps that applied compensate (a choreographed saga).
package eda

import (
	"context"
	"fmt"

	"github.com/edabench/edabench/targets/bus"
	"github.com/edabench/edabench/targets/bus/drivers"
	"github.com/edabench/edabench/targets/workflow"
)

// Routing keys of the events on the topic exchange.
const (
	KeyOrderPlaced      = "order.placed"
	KeyPaymentCaptured  = "payment.captured"
	KeyStockReserved    = "stock.reserved"
	KeyShipmentCreated  = "shipment.created"
	KeyNotificationSent = "notification.sent"
	KeyOrderCompleted   = "order.completed"
	KeyOrderFailed      = "order.failed"
)

// Event type names (the AMQP type property and Event.type).
const (
	TypeOrderPlaced    = "OrderPlaced"
	TypeOrderCompleted = "OrderCompleted"
	TypeOrderFailed    = "OrderFailed"
)

// Config is shared by the gateway and the step services of one twin.
type Config struct {
	Topology workflow.Topology
	// Steps is how many steps of the workflow run (see workflow.Plan); 0
	// means all of them. Every service of the twin must agree on it.
	Steps int
	// Driver names the broker driver (drivers.Builtin); empty means
	// bus.RabbitMQ.
	Driver string
	// URL is the broker's URL, in the driver's scheme.
	URL string
	// Options are the driver's own settings (rabbitmq.Options: queue type,
	// prefetch, heartbeat); nil means its defaults. Prefetch bounds the
	// unacked deliveries per consumer, and handlers run concurrently up to
	// it, so a slow step is not capped at 1/service time.
	Options bus.DriverOptions
	// Prefix names the exchange and the queues, so several twins (or tests)
	// share one broker without seeing each other's messages.
	Prefix string
	// MaxAttempts bounds redeliveries of a message whose handler fails
	// transiently before it is dead-lettered.
	MaxAttempts int
	// SyncPayment is the hybrid twin: the gateway calls payment over gRPC
	// and publishes payment's success event itself, so payment has no queue
	// and no consumer; the gateway compensates it when a later step fails.
	SyncPayment bool
	// EndQueue, if set, is a subscriber's own queue of the order ends
	// (EndQueueOf), declared with the twin's topology. On RabbitMQ a
	// subscriber binds its queue itself (orderends); a driver that routes
	// by the topology its own service declared (Kafka) produces only to
	// queues it knows, so the harness names its queue here.
	EndQueue string
}

// DefaultConfig is a chain over RabbitMQ's quorum queues with the twin's prefetch (256).
func DefaultConfig() Config {
	k, err := drivers.Builtin().Lookup(bus.RabbitMQ)
	if err != nil {
		panic(err) // the default driver is always registered (its test says so)
	}
	opts, err := k.TwinOptions(bus.TwinSettings{})
	if err != nil {
		panic(err)
	}
	return Config{Topology: workflow.Chain, Driver: bus.RabbitMQ, URL: k.DefaultURL, Prefix: "edabench",
		Options: opts, MaxAttempts: 5}
}

// DefaultOptions are the twins' settings for broker's driver (its
// Kind.TwinOptions), for a tool that measures the broker as the twin uses
// it (the broker probe); "" is bus.RabbitMQ.
func DefaultOptions(broker string) (bus.DriverOptions, error) {
	if broker == "" {
		broker = bus.RabbitMQ
	}
	k, err := drivers.Builtin().Lookup(broker)
	if err != nil {
		return nil, fmt.Errorf("broker %q: the twin has no default settings for it: %w", broker, err)
	}
	return k.TwinOptions(bus.TwinSettings{})
}

// Validate names a wrong field and what it accepts.
func (c Config) Validate() error {
	if err := c.Plan().Validate(); err != nil {
		return err
	}
	if _, err := c.Kind(); err != nil {
		return err
	}
	if c.Options != nil {
		if c.Options.Broker() != c.Broker() {
			return fmt.Errorf("options for broker %q, but the twin runs over %q", c.Options.Broker(), c.Broker())
		}
		if err := c.Options.Validate(); err != nil {
			return err
		}
	}
	if c.MaxAttempts < 1 {
		return fmt.Errorf("max attempts %d: want at least 1", c.MaxAttempts)
	}
	if c.Prefix == "" {
		return fmt.Errorf("prefix is empty: it names the exchange and queues")
	}
	return nil
}

// Plan is the workflow the twin runs.
func (c Config) Plan() workflow.Plan { return workflow.Plan{Topology: c.Topology, N: c.Steps} }

// Broker names the broker the services of this config talk to (its
// driver), the value of their metrics' broker label.
func (c Config) Broker() string {
	if c.Driver == "" {
		return bus.RabbitMQ
	}
	return c.Driver
}

// Kind is the config's broker driver.
func (c Config) Kind() (bus.Kind, error) { return drivers.Builtin().Lookup(c.Broker()) }

// Exchange is the twin's topic exchange.
func (c Config) Exchange() string { return c.Prefix + ".orders" }

// QueueName is the durable queue of a service ("gateway" or a step).
func (c Config) QueueName(service string) string { return c.Prefix + "." + service }

// successKey is the event a step publishes when it applied.
func successKey(p workflow.Plan, s workflow.Step) (key, typ string) {
	if p.Topology == workflow.Chain && s == p.Last() {
		// The last step of the chain completes the order itself.
		return KeyOrderCompleted, TypeOrderCompleted
	}
	switch s {
	case workflow.Payment:
		return KeyPaymentCaptured, "PaymentCaptured"
	case workflow.Inventory:
		return KeyStockReserved, "StockReserved"
	case workflow.Shipping:
		return KeyShipmentCreated, "ShipmentCreated"
	default:
		return KeyNotificationSent, "NotificationSent"
	}
}

// triggerKey is the event a step consumes to run.
func triggerKey(t workflow.Topology, s workflow.Step) string {
	if s == workflow.Payment {
		return KeyOrderPlaced
	}
	if t == workflow.Fanout {
		return KeyPaymentCaptured
	}
	switch s {
	case workflow.Inventory:
		return KeyPaymentCaptured
	case workflow.Shipping:
		return KeyStockReserved
	default:
		return KeyShipmentCreated
	}
}

// stepOfKey maps a success event back to its step, for the read model.
func stepOfKey(p workflow.Plan, key string) (workflow.Step, bool) {
	for _, s := range p.Steps() {
		if k, _ := successKey(p, s); k == key {
			return s, true
		}
	}
	return "", false
}

// Queues is the whole twin's topology: a queue per step of the plan and the
// gateway's. Every service declares all of it, so an event published before
// its consumer first started is queued, not dropped as unroutable; a step
// outside the plan has no queue, since nothing would ever consume it.
func (c Config) Queues() []bus.Queue {
	plan := c.Plan()
	qs := make([]bus.Queue, 0, plan.Len()+1)
	for _, s := range plan.Steps() {
		if !c.consumes(s) {
			continue
		}
		qs = append(qs, bus.Queue{Name: c.QueueName(string(s)), MaxAttempts: c.MaxAttempts,
			Bindings: []string{triggerKey(c.Topology, s), KeyOrderFailed}})
	}
	gw := []string{KeyOrderCompleted, KeyOrderFailed}
	for _, s := range plan.Steps() {
		if k, _ := successKey(plan, s); k != KeyOrderCompleted {
			gw = append(gw, k)
		}
	}
	qs = append(qs, bus.Queue{Name: c.QueueName("gateway"), MaxAttempts: c.MaxAttempts, Bindings: gw})
	if c.EndQueue != "" {
		qs = append(qs, EndQueueOf(c.EndQueue))
	}
	return qs
}

// EndQueueOf is a subscriber's queue of the order ends: bound to both
// ends, one copy (a lost end is an order the audit counts, not data).
func EndQueueOf(name string) bus.Queue {
	return bus.Queue{Name: name, Unreplicated: true, Bindings: []string{KeyOrderCompleted, KeyOrderFailed}}
}

// consumes says whether step runs as a consumer of this twin: every step,
// except the hybrid's payment (a gRPC server the gateway calls).
func (c Config) consumes(step workflow.Step) bool {
	return !(c.SyncPayment && step == workflow.Payment)
}

// Dial connects a service of the twin through the config's driver, named
// name on the broker, declaring the whole topology (plus extra options).
func (c Config) Dial(ctx context.Context, name string, extra ...bus.Option) (*bus.Conn, error) {
	kind, err := c.Kind()
	if err != nil {
		return nil, err
	}
	opts := []bus.Option{bus.WithURL(c.URL), bus.WithExchange(c.Exchange()), bus.WithConnectionName(name),
		bus.WithDriverOptions(c.Options), bus.WithMandatory(true)}
	for _, q := range c.Queues() {
		opts = append(opts, bus.WithQueue(q))
	}
	return bus.Dial(ctx, kind, append(opts, extra...)...)
}
