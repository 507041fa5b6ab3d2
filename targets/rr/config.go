package rr

import (
	"errors"
	"fmt"
	"github.com/edabench/edabench/internal/loopback"
	"log/slog"
	"net"
	"time"

	"github.com/edabench/edabench/targets/resilience"
	"github.com/edabench/edabench/targets/workflow"
)

// Config is what every service of the RR twin must agree on (the topology)
// and how it protects its calls.
type Config struct {
	Topology workflow.Topology
	// Steps is how many steps of the workflow run (see workflow.Plan); 0
	// means all of them. Every service of the twin must agree on it too.
	Steps int
	// DefaultDeadline bounds a PlaceOrder whose client set no deadline.
	DefaultDeadline time.Duration
	// CompensationTimeout bounds one compensation, retries included. A
	// compensation starts before the reply and finishes after it if it must.
	CompensationTimeout time.Duration
	// CompensationRetries is the retry budget of one compensation call:
	// larger than Retry's, because giving up leaves an effect in force.
	CompensationRetries int
	// ReplyMargin is the part of the client's budget the gateway keeps to
	// compensate and reply before the client's deadline: the calls get the
	// budget less min(ReplyMargin, budget/10).
	ReplyMargin time.Duration
	// ShutdownGrace bounds how long Close waits for calls and background
	// compensations: a stopped service must not hang its supervisor for a
	// whole compensation timeout (default 8 s, inside a supervisor's usual
	// 10 s before SIGKILL).
	ShutdownGrace time.Duration
	Retry         resilience.RetryPolicy
	Breaker       resilience.BreakerPolicy
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Allow lets peers be the named hosts (a cluster's Services) rather
	// than loopback addresses; nil keeps the loopback rule.
	Allow *loopback.Allowlist
}

// DefaultConfig is the chain topology with a 10 s default deadline, 30 s
// compensations (long enough to outlast a crashed service's restart: a
// compensation that gives up leaves an effect in force), and the resilience package's default policies.
func DefaultConfig() Config {
	return Config{
		Topology:            workflow.Chain,
		DefaultDeadline:     10 * time.Second,
		CompensationTimeout: 30 * time.Second,
		CompensationRetries: 100, // bounded by CompensationTimeout well before it runs out
		ReplyMargin:         50 * time.Millisecond,
		ShutdownGrace:       8 * time.Second,
		Retry:               resilience.DefaultRetryPolicy(),
		Breaker:             resilience.DefaultBreakerPolicy(),
	}
}

// Validate names the field that is wrong.
func (c Config) Validate() error {
	var errs []error
	if err := c.Plan().Validate(); err != nil {
		errs = append(errs, fmt.Errorf("rr config: %w", err))
	}
	if c.DefaultDeadline <= 0 {
		errs = append(errs, fmt.Errorf("rr config: default deadline %v must be positive", c.DefaultDeadline))
	}
	if c.CompensationTimeout <= 0 {
		errs = append(errs, fmt.Errorf("rr config: compensation timeout %v must be positive", c.CompensationTimeout))
	}
	if c.CompensationRetries < 0 {
		errs = append(errs, fmt.Errorf("rr config: compensation retries %d must not be negative", c.CompensationRetries))
	}
	if c.ShutdownGrace < 0 {
		errs = append(errs, fmt.Errorf("rr config: shutdown grace %v must not be negative", c.ShutdownGrace))
	}
	if c.ReplyMargin < 0 {
		errs = append(errs, fmt.Errorf("rr config: reply margin %v must not be negative", c.ReplyMargin))
	}
	if err := c.Retry.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("rr config: %w", err))
	}
	if err := c.Breaker.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("rr config: %w", err))
	}
	return errors.Join(errs...)
}

// Plan is the workflow the twin runs.
func (c Config) Plan() workflow.Plan { return workflow.Plan{Topology: c.Topology, N: c.Steps} }

func (c Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.Default()
	}
	return c.Logger
}

// Peers are the gRPC addresses (loopback HOST:PORT) of the step services.
type Peers map[workflow.Step]string

// need checks that every step in steps has a loopback address.
func (p Peers) need(who string, cfg Config, steps []workflow.Step) error {
	for _, st := range steps {
		addr, ok := p[st]
		if !ok || addr == "" {
			return fmt.Errorf("rr %s (%s) calls %s but Peers has no address for it (pass --peer %s=127.0.0.1:PORT)",
				who, cfg.Plan(), st, st)
		}
		if err := peerAddr(cfg.Allow, addr); err != nil {
			return fmt.Errorf("rr %s: peer %s: %w", who, st, err)
		}
	}
	return nil
}

// peerAddr checks a peer's address: on this machine (or allowed), with a
// real port (a caller cannot dial port 0).
func peerAddr(allow *loopback.Allowlist, addr string) error {
	if err := allow.Check(addr); err != nil {
		return err
	}
	if _, port, _ := net.SplitHostPort(addr); port == "" || port == "0" {
		return fmt.Errorf("address %q has no port (want 127.0.0.1:PORT)", addr)
	}
	return nil
}
