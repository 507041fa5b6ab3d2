package natsnode

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/edabench/edabench/harness/nodeproc"
)

// Version is the nats-server release `make nats` builds from the Go module
// proxy (the Makefile's NATS_VERSION, checked equal by a test): the
// default binary folder is named after it. Debian's 2.9 lacks what the
// driver uses (consumer metadata, terminate with a reason).
const Version = "v2.15.3"

// Environment variables ConfigFromEnv honours, as the other nodes' do.
const (
	EnvDir         = "EDABENCH_NATS_DIR"
	EnvBinary      = "EDABENCH_NATS_SERVER"
	EnvPort        = "EDABENCH_NATS_PORT"
	EnvMonitorPort = "EDABENCH_NATS_MONITOR_PORT"
)

// NATS's stock ports (4222 clients, 8222 monitoring) shifted by ten, as
// the other private nodes shift theirs: clear of a stock NATS, of the
// RabbitMQ node's 4380, 5682, 15682, 15702, 25682 and Kafka's 9102, 9103.
const (
	DefaultPort        = 4232
	DefaultMonitorPort = 8232
)

// Config names every resource the private node owns.
type Config struct {
	Port        int    // client listener on 127.0.0.1
	MonitorPort int    // HTTP monitoring (/varz, /jsz, /healthz) on 127.0.0.1
	DataDir     string // config, JetStream store, log, pid file, claims
	Binary      string // the nats-server `make nats` built
}

// DefaultConfig is the node `brokerctl up --broker nats` starts. A
// malformed override is logged and ignored; ConfigFromEnv returns it.
func DefaultConfig() Config { return nodeproc.FromEnvOrLog(logger(), "nats", ConfigFromEnv) }

// ConfigFromEnv builds DefaultConfig from lookup (normally os.LookupEnv).
func ConfigFromEnv(lookup func(string) (string, bool)) (Config, error) {
	cache := nodeproc.CacheDir("nats")
	cfg := Config{
		Port:        DefaultPort,
		MonitorPort: DefaultMonitorPort,
		DataDir:     filepath.Join(cache, "node"),
		Binary:      filepath.Join(cache, Version, "bin", "nats-server"),
	}
	nodeproc.StringFromEnv(lookup, EnvDir, &cfg.DataDir)
	nodeproc.StringFromEnv(lookup, EnvBinary, &cfg.Binary)
	err := nodeproc.PortsFromEnv(lookup,
		nodeproc.PortVar{Env: EnvPort, Dst: &cfg.Port},
		nodeproc.PortVar{Env: EnvMonitorPort, Dst: &cfg.MonitorPort})
	return cfg, err
}

func (c Config) ports() []nodeproc.Port {
	return []nodeproc.Port{
		{Role: "client", Env: EnvPort, Port: c.Port},
		{Role: "monitoring", Env: EnvMonitorPort, Port: c.MonitorPort},
	}
}

// Validate reports the first problem that would stop the node from
// starting or make it clash with itself.
func (c Config) Validate() error {
	if c.DataDir == "" || c.Binary == "" {
		return errors.New("nats config: DataDir and Binary must be set")
	}
	return nodeproc.CheckPorts("nats config", c.ports())
}

// lockName is the flock in DataDir that serialises starting and stopping.
const lockName = "nats.lock"

// paths is every file the node owns, all in DataDir.
type paths struct {
	runningConf string
	pidFile     string
	conf        string
	store       string // JetStream's store_dir
	nodeLog     string
	stdoutLog   string
	claims      string
}

func (c Config) paths() paths {
	d := c.DataDir
	return paths{
		runningConf: filepath.Join(d, "node-config.json"),
		pidFile:     filepath.Join(d, "nats.pid"),
		conf:        filepath.Join(d, "nats-server.conf"),
		store:       filepath.Join(d, "jetstream"),
		nodeLog:     filepath.Join(d, "nats-server.log"),
		stdoutLog:   filepath.Join(d, "nats-server.out"),
		claims:      filepath.Join(d, "claims"),
	}
}

// serverName is the node's name, derived from its data dir: /varz shows
// it, which tells this node from another NATS that took the port.
func (c Config) serverName() string {
	sum := sha256.Sum256([]byte(c.DataDir))
	return "edabench_" + hex.EncodeToString(sum[:6])
}

// serverConf renders nats-server.conf: both listeners on loopback,
// JetStream with its file store in DataDir, and a log file.
func (c Config) serverConf() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# Written by edabench (harness/natsnode); rewritten on every start.")
	w("server_name: %q", c.serverName())
	w("listen: \"127.0.0.1:%d\"", c.Port)
	w("http: \"127.0.0.1:%d\"", c.MonitorPort)
	w("log_file: %q", c.paths().nodeLog)
	w("logtime: true")
	// A 2-core machine shared with the twins: the store is bounded so a
	// runaway run fills its limit, not the disk.
	w("jetstream {")
	w("  store_dir: %q", c.paths().store)
	w("  max_memory_store: 256MB")
	w("  max_file_store: 8GB")
	w("}")
	return b.String()
}

// serverArgs are nats-server's arguments: the config file only, whose
// path (in DataDir) also marks the process as this node's (isOurs).
func (c Config) serverArgs() []string { return []string{"-c", c.paths().conf} }
