package resilience

import (
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"
)

const (
	relayDomain = "edabench.resilience"
	relayReason = "RELAYED"
)

// Relay marks a failure a server passes on from its own downstream call.
// The caller's retry interceptor does not retry it (the server already did,
// and the peer is not the one failing) and its breaker counts it as the
// peer's healthy answer, so one dead service does not open the circuit of
// every healthy hop in front of it.
func Relay(s *status.Status) *status.Status {
	if s == nil || isRelayed(s) {
		return s
	}
	r, err := s.WithDetails(&errdetails.ErrorInfo{Domain: relayDomain, Reason: relayReason})
	if err != nil {
		// Only an OK status cannot carry details, and OK is no failure to relay.
		return s
	}
	return r
}

// IsRelayed reports whether err carries the Relay mark.
func IsRelayed(err error) bool {
	if err == nil {
		return false
	}
	s, ok := status.FromError(err)
	return ok && isRelayed(s)
}

func isRelayed(s *status.Status) bool {
	return HasErrorInfo(s, relayDomain, relayReason)
}

// HasErrorInfo reports whether s carries an ErrorInfo detail with domain and reason.
func HasErrorInfo(s *status.Status, domain, reason string) bool {
	if s == nil || len(s.Proto().GetDetails()) == 0 {
		return false
	}
	for _, d := range s.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok && ei.GetDomain() == domain && ei.GetReason() == reason {
			return true
		}
	}
	return false
}
