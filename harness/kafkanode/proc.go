package kafkanode

import (
	"errors"
	"log/slog"
	"slices"
)

func logger() *slog.Logger { return slog.Default().With("component", "kafkanode") }

// isOurJava guards against pid reuse and a pid file copied from elsewhere:
// the node's JVM carries -Dedabench.kafka.dir=DataDir, which no other
// process on the machine has.
func isOurJava(dataDir string) func(args []string) bool {
	return func(args []string) bool { return slices.Contains(args, dirProperty+dataDir) }
}

// ErrPortInUse is wrapped by Start when one of the node's ports is taken
// by something that is not this node.
var ErrPortInUse = errors.New("kafka port in use")
