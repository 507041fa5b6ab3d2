package natsnode

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
)

func logger() *slog.Logger { return slog.Default().With("component", "natsnode") }

// isOurs guards against pid reuse and a pid file copied from elsewhere:
// the node runs with `-c DataDir/nats-server.conf`, which no other process
// on the machine has.
func isOurs(conf string) func(args []string) bool {
	return func(args []string) bool { return slices.Contains(args, conf) }
}

// ErrPortInUse is wrapped by Start when one of the node's ports is taken
// by something that is not this node.
var ErrPortInUse = errors.New("nats port in use")

// ErrNotBuilt is wrapped when the nats-server binary is missing.
var ErrNotBuilt = errors.New("nats-server is not built")

// Installed reports whether the binary is there, with its fix.
func (c Config) Installed() error {
	st, err := os.Stat(c.Binary)
	if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("%w at %s: run `make nats` (make deps and make test run it), or set %s to a nats-server %s or newer",
			ErrNotBuilt, c.Binary, EnvBinary, Version)
	}
	return nil
}
