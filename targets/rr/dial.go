package rr

import (
	"errors"
	"fmt"
	"time"

	"github.com/edabench/edabench/targets/api/orderpb"
	"github.com/edabench/edabench/targets/resilience"
	"github.com/edabench/edabench/targets/workflow"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
)

// peerClient is one downstream step: a single long-lived connection (gRPC
// multiplexes every call over it) behind that peer's retry and breaker.
type peerClient struct {
	step workflow.Step
	addr string
	conn *grpc.ClientConn
	stub orderpb.StepServiceClient
	res  *resilience.Peer
}

// Client keepalive pings only when a call has waited 30 s without a byte,
// which no call under a sane deadline does; it exists to notice a peer that
// stopped (SIGSTOP, a dead host) while a long call waits on it. The servers
// must permit it: see ServerOptions.
func clientKeepalive() keepalive.ClientParameters {
	return keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}
}

// Reconnect quickly after a peer restarts: gRPC's default backoff grows to
// 120 s, far longer than a fault-injection run.
func connectParams() grpc.ConnectParams {
	return grpc.ConnectParams{
		Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
		MinConnectTimeout: time.Second,
	}
}

const windowSize = 1 << 20

// ServerOptions are the server settings the RR clients expect: keepalive
// pings every 30 s are allowed (gRPC's default policy answers pings more
// often than every 5 minutes with GOAWAY), and static flow-control windows
// as on the client side.
func ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.InitialWindowSize(windowSize), grpc.InitialConnWindowSize(windowSize),
	}
}

func dialPeers(who string, cfg Config, peers Peers, steps []workflow.Step, obs resilience.Observer) (map[workflow.Step]*peerClient, error) {
	out := make(map[workflow.Step]*peerClient, len(steps))
	for _, st := range steps {
		addr := peers[st]
		res, err := resilience.NewPeer(string(st), resilience.WithRetry(cfg.Retry), resilience.WithBreaker(cfg.Breaker),
			resilience.WithObserver(obs), resilience.WithLogger(cfg.logger().With("from", who, "addr", addr)))
		if err != nil {
			closePeers(out)
			return nil, fmt.Errorf("rr %s: %w", who, err)
		}
		conn, err := grpc.NewClient(addr,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithKeepaliveParams(clientKeepalive()),
			grpc.WithConnectParams(connectParams()),
			// Static flow-control windows turn off BDP estimation, whose
			// PING frames cost about two per call on loopback for nothing:
			// the messages are tiny and the link has no bandwidth-delay product.
			grpc.WithInitialWindowSize(windowSize), grpc.WithInitialConnWindowSize(windowSize),
			res.DialOption(),
		)
		if err != nil {
			closePeers(out)
			return nil, fmt.Errorf("rr %s: dial %s at %s: %w", who, st, addr, err)
		}
		// Connect now, so the first order does not pay for the handshake.
		conn.Connect()
		out[st] = &peerClient{step: st, addr: addr, conn: conn, stub: orderpb.NewStepServiceClient(conn), res: res}
	}
	return out, nil
}

func closePeers(ps map[workflow.Step]*peerClient) error {
	var errs []error
	for _, p := range ps {
		if err := p.conn.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close connection to %s at %s: %w", p.step, p.addr, err))
		}
	}
	return errors.Join(errs...)
}
