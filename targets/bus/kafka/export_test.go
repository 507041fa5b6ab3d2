package kafka

import (
	"context"
	"net"

	"github.com/edabench/edabench/targets/bus"
)

// KindDialing is the driver dialing every connection through dial, which
// is told the connection name of the client dialing: the contract test
// drops a service's connections through it.
func KindDialing(dial func(ctx context.Context, name, network, host string) (net.Conn, error)) bus.Kind {
	return kind(dial)
}

// Started reports whether sub, a subscription this driver returned, had
// its group assignment and its first fetch response when Subscribe
// returned.
func Started(sub bus.Subscription) (assigned, fetched bool) {
	s := sub.(*subscription)
	select {
	case <-s.joined.Done():
		assigned = true
	default:
	}
	select {
	case <-s.fetched.Done():
		fetched = true
	default:
	}
	return assigned, fetched
}
