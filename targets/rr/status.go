package rr

import (
	"context"
	"errors"
	"fmt"

	"github.com/edabench/edabench/targets/resilience"
	"github.com/edabench/edabench/targets/workflow"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	rrDomain    = "edabench.rr"
	ownedReason = "COMPENSATION_OWNED"
)

// failureClass is what a failed call to a step tells its caller about the
// effects that may remain downstream.
type failureClass int

const (
	// definite: the callee decided, and nothing of this call remains in
	// force from the callee down (it failed, was refused as compensated, or
	// undid its effect and owns its downstream's compensation).
	definite failureClass = iota
	// notSent: the breaker refused the call; it never left this process.
	notSent
	// indeterminate: no answer (deadline, broken connection...); the callee
	// and its downstream may have applied. The caller must compensate them.
	indeterminate
)

func classify(err error) failureClass {
	if errors.Is(err, resilience.ErrCircuitOpen) {
		return notSent
	}
	s := status.Convert(err)
	switch s.Code() {
	case codes.FailedPrecondition, codes.InvalidArgument, codes.Aborted:
		return definite
	}
	if resilience.HasErrorInfo(s, rrDomain, ownedReason) {
		return definite
	}
	return indeterminate
}

// rejects reports whether the code is a definite "no" to the order, which
// the gateway answers REJECTED; other failures are errors to the client.
func rejects(c codes.Code) bool {
	return c == codes.FailedPrecondition || c == codes.Aborted || c == codes.InvalidArgument
}

// owned is the status a step returns after handling its downstream's
// failure: relayed (no retry, not the step's fault) and, when the step has
// undone its own effect and taken charge of its downstream's compensation,
// marked so its caller does not compensate the same path again.
func owned(s *status.Status, step workflow.Step, compensated bool) error {
	s = resilience.Relay(s)
	if compensated {
		if m, err := s.WithDetails(&errdetails.ErrorInfo{Domain: rrDomain, Reason: ownedReason,
			Metadata: map[string]string{"step": string(step)}}); err == nil {
			s = m
		}
	}
	return s.Err()
}

// executeStatus maps an Executor error to the code callers act on.
func executeStatus(step workflow.Step, err error) *status.Status {
	switch {
	case errors.Is(err, workflow.ErrStepFailed):
		// The message is the reason the customer reads in REJECTED.
		return status.New(codes.FailedPrecondition, err.Error())
	case errors.Is(err, workflow.ErrCompensated):
		return status.New(codes.Aborted, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.New(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.New(codes.Canceled, err.Error())
	case errors.Is(err, workflow.ErrStoreClosed):
		return status.New(codes.Unavailable, fmt.Sprintf("%s is shutting down: %v", step, err))
	}
	return status.New(codes.Internal, fmt.Sprintf("%s: %v", step, err))
}

// describe prefixes an infrastructure failure with the hop that saw it, so
// the message the client reads names the peer that failed.
func describe(p *peerClient, err error) *status.Status {
	s := status.Convert(err)
	if resilience.IsRelayed(err) || rejects(s.Code()) {
		// Relayed: already named. A rejection's message is the reason the
		// customer reads, the same in both twins: keep it verbatim.
		return s
	}
	return status.New(s.Code(), fmt.Sprintf("%s at %s: %s", p.step, p.addr, s.Message()))
}
