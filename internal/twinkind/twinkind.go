// Package twinkind describes edabench's twins: one descriptor per twin says
// how each hop of the workflow travels, how an order's end is seen, and so
// which services talk to the broker and which are called over gRPC. The
// harness, the launcher, the target, the verdict and the k6 extension ask
// the descriptor instead of comparing twin names, so a new twin is one more
// entry in All.
package twinkind

import (
	"fmt"
	"slices"
	"strings"
)

// The twins' names, as --twin, summary.json and reports spell them.
const (
	// RR is the synchronous gRPC call chain: its reply is the order's end.
	RR = "rr"
	// EDA is the choreographed event-driven twin over the broker.
	EDA = "eda"
	// Hybrid calls payment over gRPC (as RR) and runs the other steps as
	// EDA consumers: the critical path synchronous, the side effects events.
	Hybrid = "hybrid"
)

// gateway is the service every twin has: it takes PlaceOrder. Every other
// service is a workflow step, named as the step (workflow.Step).
const gateway = "gateway"

// Transport is how one hop of the workflow travels.
type Transport string

const (
	// GRPC: the caller waits on a gRPC call (deadline, retries, breaker).
	GRPC Transport = "grpc"
	// Broker: the step consumes an event from the broker and publishes its
	// own once that publish is confirmed.
	Broker Transport = "broker"
)

// End is where an order's end (completed or failed) is observed.
type End string

const (
	// EndReply: the PlaceOrder reply is the order's end.
	EndReply End = "reply"
	// EndEvent: an OrderCompleted or OrderFailed event on the broker is;
	// the reply only says the order was accepted.
	EndEvent End = "event"
)

// Twin is one twin's descriptor. The zero Twin (an unknown name through Of)
// uses no broker and ends nowhere: callers check names first (Check,
// ParseSet, Lookup).
type Twin struct {
	Name string
	// About is one line for --help and reports.
	About string
	// PaymentHop is how the gateway reaches payment, the first step;
	// StepHop how every later step is reached.
	PaymentHop, StepHop Transport
	// End is where the harness sees an order finish.
	End End
}

// All lists every twin, in the order runs and reports show them.
func All() []string { return []string{RR, EDA, Hybrid} }

// descriptors is the one table of what sets the twins apart.
func descriptors() []Twin {
	return []Twin{
		{Name: RR, About: "a synchronous gRPC call chain", PaymentHop: GRPC, StepHop: GRPC, End: EndReply},
		{Name: EDA, About: "an event-driven choreography over the broker", PaymentHop: Broker, StepHop: Broker, End: EndEvent},
		{Name: Hybrid, About: "payment over gRPC, the later steps as events", PaymentHop: GRPC, StepHop: Broker, End: EndEvent},
	}
}

// Lookup returns the named twin's descriptor.
func Lookup(name string) (Twin, error) {
	for _, t := range descriptors() {
		if t.Name == name {
			return t, nil
		}
	}
	return Twin{}, fmt.Errorf("unknown twin %q: want %s", name, strings.Join(All(), ", "))
}

// Of returns the named twin's descriptor, the zero Twin for an unknown name
// (for callers that checked the name already).
func Of(name string) Twin {
	t, _ := Lookup(name)
	return t
}

// Check accepts one twin's name.
func Check(name string) error {
	_, err := Lookup(name)
	return err
}

// ParseSet reads a --twin choice: one twin, "both" (rr and eda, as before
// the hybrid existed) or "all" (every twin).
func ParseSet(s string) ([]string, error) {
	switch s {
	case "both":
		return []string{RR, EDA}, nil
	case "all":
		return All(), nil
	}
	if err := Check(s); err != nil {
		return nil, fmt.Errorf("%w, both (rr and eda) or all", err)
	}
	return []string{s}, nil
}

// Hop is how the step service is reached.
func (t Twin) Hop(step string) Transport {
	if step == "payment" {
		return t.PaymentHop
	}
	return t.StepHop
}

// UsesBroker says whether any hop travels over the broker: the twin needs
// one running, and its queues are what lag is sampled from.
func (t Twin) UsesBroker() bool { return t.PaymentHop == Broker || t.StepHop == Broker }

// EndsAtReply says whether the PlaceOrder reply is the order's end: no
// completion event follows it.
func (t Twin) EndsAtReply() bool { return t.End == EndReply }

// Compensates says whether a failed gRPC call leaves a compensation that
// may still be retrying in the background after the load (the harness
// waits for the effects to settle before the audit).
func (t Twin) Compensates() bool { return t.PaymentHop == GRPC }

// HandsOff says whether the reply comes back before the events it hands
// to the broker are confirmed: a hand-off unconfirmed at its reply is
// published again in the background, and its order is in flight until then.
func (t Twin) HandsOff() bool { return t.PaymentHop == GRPC && t.StepHop == Broker }

// ServiceUsesBroker says whether the service talks to the broker: the
// gateway of a twin that uses one, and every step reached over it.
func (t Twin) ServiceUsesBroker(service string) bool {
	if service == gateway {
		return t.UsesBroker()
	}
	return t.Hop(service) == Broker
}

// CalledOverGRPC says whether a step service is called over gRPC by
// another service (it listens for those calls).
func (t Twin) CalledOverGRPC(service string) bool {
	return service != gateway && t.Hop(service) == GRPC
}

// Calls says whether caller calls the step over gRPC: the gateway calls
// payment; a step calls a later step only when later steps are gRPC hops.
func (t Twin) Calls(caller, step string) bool {
	if !t.CalledOverGRPC(step) {
		return false
	}
	if caller == gateway {
		return true
	}
	return step != "payment" && t.StepHop == GRPC
}

// Peers lists the steps among steps that the service calls over gRPC (a
// service is told every step it may call; a caller of none needs no peer).
func (t Twin) Peers(service string, steps []string) []string {
	return slices.DeleteFunc(slices.Clone(steps), func(s string) bool { return !t.Calls(service, s) })
}
