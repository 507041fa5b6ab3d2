package broker

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/edabench/edabench/harness/nodeproc"
)

// Environment variables DefaultConfig honours. They exist so a developer can
// move the shared node out of the way of something else on the machine
// without editing code.
const (
	EnvDir      = "EDABENCH_BROKER_DIR"
	EnvName     = "EDABENCH_BROKER_NAME"
	EnvAMQPPort = "EDABENCH_AMQP_PORT"
	EnvMgmtPort = "EDABENCH_MGMT_PORT"
	EnvPromPort = "EDABENCH_PROM_PORT"
	EnvDistPort = "EDABENCH_DIST_PORT"
	EnvEPMDPort = "EDABENCH_EPMD_PORT"
)

// Defaults are deliberately the system broker's ports shifted by ten (and an
// epmd port next to the real 4369) so that they are memorable, never collide
// with a stock RabbitMQ and are unlikely to collide with anything else.
const (
	DefaultName     = "edabench@localhost"
	DefaultAMQPPort = 5682
	DefaultMgmtPort = 15682
	DefaultPromPort = 15702
	DefaultDistPort = 25682
	DefaultEPMDPort = 4380
)

// heartbeatSeconds is short so that clients notice a killed broker within
// seconds during restart tests, yet long enough not to trip on a busy 2-core
// CI machine.
const heartbeatSeconds = 10

// statsIntervalMillis makes queue depths fresh enough for lag sampling; the
// stock 5 s would hide short bursts.
const statsIntervalMillis = 1000

// diskFreeLimit is pinned at RabbitMQ's minimal default on purpose: CI
// disks are small, and the production-style limits the docs recommend would
// raise a disk alarm that blocks publishers and looks like a bug in the
// system under test.
const diskFreeLimit = "50MB"

// DefaultConfig is the node `make broker-up` starts and tests share.
//
// A malformed override is reported with slog and ignored rather than
// silently producing a port 0; use ConfigFromEnv to get the error instead.
func DefaultConfig() Config { return nodeproc.FromEnvOrLog(logger(), "broker", ConfigFromEnv) }

// ConfigFromEnv builds DefaultConfig from lookup (normally os.LookupEnv). On
// malformed variables it returns the defaults for those fields together with
// an error naming every offending variable.
func ConfigFromEnv(lookup func(string) (string, bool)) (Config, error) {
	cfg := Config{
		Name:     DefaultName,
		AMQPPort: DefaultAMQPPort,
		MgmtPort: DefaultMgmtPort,
		PromPort: DefaultPromPort,
		DistPort: DefaultDistPort,
		EPMDPort: DefaultEPMDPort,
		DataDir:  defaultDataDir(),
	}
	var errs []error
	nodeproc.StringFromEnv(lookup, EnvDir, &cfg.DataDir)
	if v, ok := lookup(EnvName); ok && v != "" {
		if err := validateName(v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", EnvName, v, err))
		} else {
			cfg.Name = v
		}
	}
	errs = append(errs, nodeproc.PortsFromEnv(lookup,
		nodeproc.PortVar{Env: EnvAMQPPort, Dst: &cfg.AMQPPort},
		nodeproc.PortVar{Env: EnvMgmtPort, Dst: &cfg.MgmtPort},
		nodeproc.PortVar{Env: EnvPromPort, Dst: &cfg.PromPort},
		nodeproc.PortVar{Env: EnvDistPort, Dst: &cfg.DistPort},
		nodeproc.PortVar{Env: EnvEPMDPort, Dst: &cfg.EPMDPort},
	))
	return cfg, errors.Join(errs...)
}

// defaultDataDir is ~/.cache/edabench/broker, one folder every caller
// agrees on for the lock and the pid file.
func defaultDataDir() string { return nodeproc.CacheDir("broker") }

// Validate reports the first problem that would stop the node from starting
// or make it clash with itself.
func (c Config) Validate() error {
	if err := validateName(c.Name); err != nil {
		return fmt.Errorf("broker config: Name %q: %w", c.Name, err)
	}
	if c.DataDir == "" {
		return errors.New("broker config: DataDir is empty")
	}
	return nodeproc.CheckPorts("broker config", c.ports())
}

// validateName insists on a short name: the CLI tools are invoked without
// --longnames, and a dotted host would make them look for a different node.
func validateName(name string) error {
	alive, host, ok := strings.Cut(name, "@")
	switch {
	case !ok || alive == "" || host == "":
		return errors.New(`want "name@host", e.g. "edabench@localhost"`)
	case strings.Contains(host, "@") || strings.Contains(host, "."):
		return errors.New("host part must be a short host name such as localhost (no dots)")
	case strings.ContainsAny(alive, " \t/\\"):
		return errors.New("node name must not contain spaces or slashes")
	}
	return nil
}

func (c Config) ports() []nodeproc.Port {
	return []nodeproc.Port{
		{Role: "AMQP", Env: EnvAMQPPort, Port: c.AMQPPort},
		{Role: "management", Env: EnvMgmtPort, Port: c.MgmtPort},
		{Role: "prometheus", Env: EnvPromPort, Port: c.PromPort},
		{Role: "Erlang distribution", Env: EnvDistPort, Port: c.DistPort},
		{Role: "epmd", Env: EnvEPMDPort, Port: c.EPMDPort},
	}
}

// lockFile is the flock in DataDir that serialises starting and stopping.
const lockName = "broker.lock"

// paths is every file the node owns; all of it lives in DataDir so that
// deleting DataDir (after Stop) removes every trace.
type paths struct {
	runningConf string // the Config the running node was started with
	pidFile     string
	conf        string
	confDir     string // RABBITMQ_CONFIG_FILES, kept empty on purpose
	advanced    string
	envConf     string
	plugins     string
	mnesiaBase  string
	logDir      string
	nodeLog     string
	stdoutLog   string
	crashDump   string
}

func (c Config) paths() paths {
	d := c.DataDir
	return paths{
		runningConf: filepath.Join(d, "node-config.json"),
		pidFile:     filepath.Join(d, "rabbitmq.pid"),
		conf:        filepath.Join(d, "rabbitmq.conf"),
		confDir:     filepath.Join(d, "conf.d"),
		advanced:    filepath.Join(d, "advanced.config"),
		envConf:     filepath.Join(d, "rabbitmq-env.conf"),
		plugins:     filepath.Join(d, "enabled_plugins"),
		mnesiaBase:  filepath.Join(d, "mnesia"),
		logDir:      filepath.Join(d, "log"),
		nodeLog:     filepath.Join(d, "log", c.Name+".log"),
		stdoutLog:   filepath.Join(d, "server.out"),
		crashDump:   filepath.Join(d, "erl_crash.dump"),
	}
}

// rabbitmqConf renders rabbitmq.conf. Every listener is pinned to loopback
// because the node exists for local benchmarks only and guest/guest must
// keep working (RabbitMQ allows guest from loopback only).
func (c Config) rabbitmqConf() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by edabench (harness/broker); rewritten on every start.\n")
	fmt.Fprintf(&b, "listeners.tcp.default = 127.0.0.1:%d\n", c.AMQPPort)
	fmt.Fprintf(&b, "management.tcp.ip = 127.0.0.1\n")
	fmt.Fprintf(&b, "management.tcp.port = %d\n", c.MgmtPort)
	fmt.Fprintf(&b, "prometheus.tcp.ip = 127.0.0.1\n")
	fmt.Fprintf(&b, "prometheus.tcp.port = %d\n", c.PromPort)
	fmt.Fprintf(&b, "loopback_users.guest = true\n")
	fmt.Fprintf(&b, "heartbeat = %d\n", heartbeatSeconds)
	fmt.Fprintf(&b, "disk_free_limit.absolute = %s\n", diskFreeLimit)
	fmt.Fprintf(&b, "collect_statistics_interval = %d\n", statsIntervalMillis)
	// 1 s samples (kept for a minute) instead of the stock 5 s, so the
	// management UI and API follow a benchmark closely; the memory cost is
	// trivial at benchmark scale.
	fmt.Fprintf(&b, "management.sample_retention_policies.global.minute = 1\n")
	fmt.Fprintf(&b, "management.sample_retention_policies.basic.minute = 1\n")
	fmt.Fprintf(&b, "management.sample_retention_policies.detailed.10 = 1\n")
	// The log file is enough; console output would duplicate it into
	// server.out, which we keep for boot failures only.
	fmt.Fprintf(&b, "log.console = false\n")
	fmt.Fprintf(&b, "log.file.level = info\n")
	return b.String()
}

const enabledPlugins = "[rabbitmq_management,rabbitmq_prometheus].\n"

// envConfContents replaces /etc/rabbitmq/rabbitmq-env.conf, which belongs to
// the system node (on Debian it sets NODENAME=rabbit@localhost).
const envConfContents = "# Intentionally empty: keeps the system node's rabbitmq-env.conf away from this node.\n"

// env is the environment for rabbitmq-server and the CLI tools. It starts
// from base but drops every RABBITMQ_* and ERL_* variable so that nothing
// from the caller's shell (or a developer's RABBITMQ_NODENAME) can point the
// node or rabbitmqctl at the system broker.
func (c Config) env(base []string) []string {
	p := c.paths()
	out := make([]string, 0, len(base)+24)
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "RABBITMQ_"), strings.HasPrefix(k, "ERL_"),
			k == "HOME", k == "NOTIFY_SOCKET", k == "LC_ALL", k == "LANG":
			continue
		}
		out = append(out, kv)
	}
	if c.ErlArgs != "" {
		out = append(out, "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="+c.ErlArgs)
	}
	return append(out,
		// HOME holds .erlang.cookie: the node creates it, rabbitmqctl
		// must read the same one.
		"HOME="+c.DataDir,
		// Elixir CLI tools complain loudly under a non-UTF-8 locale.
		"LANG=C.UTF-8",
		"LC_ALL=C.UTF-8",
		"ERL_EPMD_PORT="+strconv.Itoa(c.EPMDPort),
		"ERL_EPMD_ADDRESS=127.0.0.1",
		"ERL_CRASH_DUMP="+p.crashDump,
		// Same as Debian's rabbitmq-env.conf: distribution on loopback only.
		"ERL_FLAGS=-kernel inet_dist_use_interface {127,0,0,1}",
		"RABBITMQ_NODENAME="+c.Name,
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
		"RABBITMQ_NODE_PORT="+strconv.Itoa(c.AMQPPort),
		"RABBITMQ_DIST_PORT="+strconv.Itoa(c.DistPort),
		"RABBITMQ_CONF_ENV_FILE="+p.envConf,
		"RABBITMQ_CONFIG_FILE="+p.conf,
		"RABBITMQ_CONFIG_FILES="+p.confDir,
		"RABBITMQ_ADVANCED_CONFIG_FILE="+p.advanced,
		"RABBITMQ_ENABLED_PLUGINS_FILE="+p.plugins,
		"RABBITMQ_MNESIA_BASE="+p.mnesiaBase,
		"RABBITMQ_LOG_BASE="+p.logDir,
		"RABBITMQ_PID_FILE="+p.pidFile,
	)
}

// writeCookie writes Cookie where the node and the CLI tools read it
// (HOME=DataDir), owner-only as Erlang insists.
func (c Config) writeCookie() error {
	if c.Cookie == "" {
		return nil
	}
	path := filepath.Join(c.DataDir, ".erlang.cookie")
	if b, err := os.ReadFile(path); err == nil && string(b) == c.Cookie {
		return nil
	}
	if err := os.MkdirAll(c.DataDir, 0o755); err != nil {
		return err
	}
	_ = os.Chmod(path, 0o600) // a 0400 cookie of an earlier start
	if err := os.WriteFile(path, []byte(c.Cookie), 0o400); err != nil {
		return fmt.Errorf("write the Erlang cookie: %w", err)
	}
	return os.Chmod(path, 0o400)
}
