// Package twinkind names edabench's twins and what sets them apart where the
// harness, the launcher, the target and the k6 extension must treat them
// differently, so that every place a twin is chosen accepts the same names
// and agrees on what each needs.
package twinkind

import (
	"fmt"
	"slices"
	"strings"
)

// The twins.
const (
	// RR is the synchronous gRPC call chain: its reply is the order's end.
	RR = "rr"
	// EDA is the choreographed event-driven twin over RabbitMQ.
	EDA = "eda"
	// Hybrid calls payment over gRPC (as RR) and runs the other steps as
	// EDA consumers: the critical path synchronous, the side effects events.
	Hybrid = "hybrid"
)

// All lists every twin, in the order runs and reports show them.
func All() []string { return []string{RR, EDA, Hybrid} }

// Check accepts one twin's name.
func Check(name string) error {
	if slices.Contains(All(), name) {
		return nil
	}
	return fmt.Errorf("unknown twin %q: want %s", name, strings.Join(All(), ", "))
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

// UsesBroker says whether the twin runs over RabbitMQ: its orders end with
// an OrderCompleted or OrderFailed event, which is what the harness waits
// for, and its queues are what lag is sampled from.
func UsesBroker(name string) bool { return name == EDA || name == Hybrid }

// EndsAtReply says whether the twin's reply is the order's end (RR): no
// completion event follows it.
func EndsAtReply(name string) bool { return name == RR }

// ServiceUsesBroker says whether a service of the twin talks to the broker:
// every EDA service, every hybrid service but payment (a gRPC server).
func ServiceUsesBroker(name, service string) bool {
	return name == EDA || (name == Hybrid && service != "payment")
}

// CalledOverGRPC says whether a step service of the twin is called over
// gRPC by another service: every RR step, and the hybrid's payment.
func CalledOverGRPC(name, service string) bool {
	if service == "gateway" {
		return false
	}
	return name == RR || (name == Hybrid && service == "payment")
}
