// Package workflow is the order domain both twins run: the steps, their cost
// model, the idempotent store of their effects, and the read model. The twins
// differ only in how the steps talk to each other, never in what a step does.
package workflow

import (
	"errors"
	"fmt"
	"strings"

	"github.com/edabench/edabench/targets/api/orderpb"
)

// Step names one step of the order workflow.
type Step string

const (
	Payment      Step = "payment"
	Inventory    Step = "inventory"
	Shipping     Step = "shipping"
	Notification Step = "notification"
)

// Steps returns the workflow's steps in chain order.
func Steps() []Step { return []Step{Payment, Inventory, Shipping, Notification} }

// ParseStep accepts a step name.
func ParseStep(s string) (Step, error) {
	for _, st := range Steps() {
		if string(st) == s {
			return st, nil
		}
	}
	return "", fmt.Errorf("unknown step %q: want one of %s", s, stepList())
}

func stepList() string {
	names := make([]string, 0, 4)
	for _, s := range Steps() {
		names = append(names, string(s))
	}
	return strings.Join(names, ", ")
}

// Topology is how the steps after payment are arranged.
type Topology string

const (
	// Chain runs payment, inventory, shipping, notification one after another.
	Chain Topology = "chain"
	// Fanout runs inventory, shipping and notification in parallel after payment.
	Fanout Topology = "fanout"
)

// ParseTopology accepts "chain" or "fanout".
func ParseTopology(s string) (Topology, error) {
	switch Topology(s) {
	case Chain, Fanout:
		return Topology(s), nil
	}
	return "", fmt.Errorf("unknown topology %q: want chain or fanout", s)
}

// Next returns the steps that run once step has applied, in the whole
// workflow (see Plan.Next for a shorter one).
func (t Topology) Next(step Step) []Step { return Plan{Topology: t}.Next(step) }

// Item is one order line.
type Item struct {
	SKU      string
	Quantity int32
}

// Order is what a customer placed.
type Order struct {
	ID          string
	Customer    string
	Items       []Item
	AmountCents int64
}

// ErrInvalidOrder marks an order the gateway refuses before any step runs.
var ErrInvalidOrder = errors.New("invalid order")

// Validate checks what the gateway checks before it starts the workflow.
func (o Order) Validate() error {
	switch {
	case o.ID == "":
		return fmt.Errorf("%w: order_id is empty", ErrInvalidOrder)
	case len(o.ID) > 128:
		return fmt.Errorf("%w: order_id is longer than 128 bytes", ErrInvalidOrder)
	case strings.ContainsAny(o.ID, "\t\n\r"):
		return fmt.Errorf("%w: order_id contains a tab or newline", ErrInvalidOrder)
	case o.Customer == "":
		return fmt.Errorf("%w: customer is empty", ErrInvalidOrder)
	case len(o.Items) == 0:
		return fmt.Errorf("%w: no items", ErrInvalidOrder)
	case o.AmountCents <= 0:
		return fmt.Errorf("%w: amount_cents must be positive, got %d", ErrInvalidOrder, o.AmountCents)
	}
	for i, it := range o.Items {
		if it.SKU == "" || it.Quantity <= 0 {
			return fmt.Errorf("%w: item %d needs a sku and a positive quantity", ErrInvalidOrder, i)
		}
	}
	return nil
}

// FromProto converts the wire form.
func FromProto(d *orderpb.OrderData) Order {
	o := Order{ID: d.GetOrderId(), Customer: d.GetCustomer(), AmountCents: d.GetAmountCents()}
	for _, it := range d.GetItems() {
		o.Items = append(o.Items, Item{SKU: it.GetSku(), Quantity: it.GetQuantity()})
	}
	return o
}

// FromRequest converts a PlaceOrder request.
func FromRequest(r *orderpb.PlaceOrderRequest) Order {
	return FromProto(&orderpb.OrderData{OrderId: r.GetOrderId(), Customer: r.GetCustomer(), Items: r.GetItems(), AmountCents: r.GetAmountCents()})
}

// Proto converts to the wire form.
func (o Order) Proto() *orderpb.OrderData {
	d := &orderpb.OrderData{OrderId: o.ID, Customer: o.Customer, AmountCents: o.AmountCents}
	for _, it := range o.Items {
		d.Items = append(d.Items, &orderpb.Item{Sku: it.SKU, Quantity: it.Quantity})
	}
	return d
}
