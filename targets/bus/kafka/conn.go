package kafka

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// dialFunc opens one TCP connection of the client called name. Tests give
// one that can drop a client's connections, as a network fault would.
type dialFunc func(ctx context.Context, name, network, host string) (net.Conn, error)

// watchedConn reports a connection that failed under the client, as
// opposed to one the client closed itself (idle reaping, a cancelled
// request): franz-go redials either silently, but a subscription must
// end on a real loss, since its uncommitted records belong to whoever
// joins the group next (RabbitMQ requeues a dead channel's deliveries the
// same way).
type watchedConn struct {
	net.Conn
	closing atomic.Bool
	lost    func(error)
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.check(err)
	return n, err
}

func (c *watchedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.check(err)
	return n, err
}

func (c *watchedConn) Close() error {
	c.closing.Store(true)
	return c.Conn.Close()
}

func (c *watchedConn) check(err error) {
	if err == nil || c.closing.Load() {
		return
	}
	// franz-go interrupts reads with deadlines; that is not a loss.
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return
	}
	c.lost(err)
}

// watchingDialer dials through dial and watches every connection; onDial
// runs after each successful dial.
func watchingDialer(dial dialFunc, name string, onDial func(), lost func(error)) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, host string) (net.Conn, error) {
		c, err := dial(ctx, name, network, host)
		if err != nil {
			return nil, err
		}
		onDial()
		return &watchedConn{Conn: c, lost: lost}, nil
	}
}

func netDial(timeout time.Duration) dialFunc {
	return func(ctx context.Context, _, network, host string) (net.Conn, error) {
		d := net.Dialer{Timeout: timeout}
		return d.DialContext(ctx, network, host)
	}
}

// pinned dials seed whatever broker address the client asks for: the
// advertised listener of a single-broker node is the node the seed
// reaches, so a proxy given as the seed sees every request (Options.ViaSeed).
func pinned(dial dialFunc, seed string) dialFunc {
	return func(ctx context.Context, name, network, _ string) (net.Conn, error) {
		return dial(ctx, name, network, seed)
	}
}

// kgoLogger hands franz-go's warnings and errors to slog.
type kgoLogger struct{ l *slog.Logger }

func (kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (k kgoLogger) Log(level kgo.LogLevel, msg string, kv ...any) {
	if level == kgo.LogLevelError {
		k.l.Error("franz-go: "+msg, kv...)
		return
	}
	k.l.Warn("franz-go: "+msg, kv...)
}
