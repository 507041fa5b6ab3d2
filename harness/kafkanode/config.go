package kafkanode

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/edabench/edabench/harness/nodeproc"
)

// Version is the Apache Kafka release `make kafka` fetches (the Makefile's
// KAFKA_VERSION, checked equal by a test): the default libs folder is
// named after it.
const Version = "4.4.0"

// Environment variables ConfigFromEnv honours, so a developer can move the
// node out of the way of something else on the machine without editing
// code (as the RabbitMQ node's EDABENCH_AMQP_PORT and friends do).
const (
	EnvDir            = "EDABENCH_KAFKA_DIR"
	EnvLibs           = "EDABENCH_KAFKA_LIBS"
	EnvPort           = "EDABENCH_KAFKA_PORT"
	EnvControllerPort = "EDABENCH_KAFKA_CONTROLLER_PORT"
	EnvJava           = "JAVA_HOME"
)

// Kafka's stock ports (9092 clients, 9093 controller) shifted by ten, as the
// RabbitMQ node shifts its own: memorable, clear of a stock Kafka and of
// the RabbitMQ node's 4380, 5682, 15682, 15702 and 25682.
const (
	DefaultPort           = 9102
	DefaultControllerPort = 9103
)

// The heap is sized for a 2-core, 24 GiB machine the node shares with the
// twins and the load generator: Kafka keeps records in the page cache, not
// the heap, and 1 GiB is the stock start script's default.
const (
	DefaultHeapMin = "512m"
	DefaultHeapMax = "1g"
)

// Config names every resource the private node owns.
type Config struct {
	Port           int    // client (PLAINTEXT) listener on 127.0.0.1
	ControllerPort int    // KRaft controller listener on 127.0.0.1
	DataDir        string // config, log dirs, logs, pid file, claims
	LibsDir        string // the jars `make kafka` fetched
	HeapMin        string // -Xms
	HeapMax        string // -Xmx
	// A cluster member's settings; zero on the single node (node 1, a
	// quorum of itself, one replica).
	NodeID    int    // KRaft node.id; 0 means 1
	Voters    string // controller.quorum.voters; "" means this node alone
	Replicas  int    // default.replication.factor and the internal topics'; 0 means 1
	MinISR    int    // min.insync.replicas; 0 means 1
	ClusterID string // the id every member is formatted with; "" chooses one
}

// DefaultConfig is the node `brokerctl up --broker kafka` starts. A
// malformed override is logged and ignored; ConfigFromEnv returns it.
func DefaultConfig() Config { return nodeproc.FromEnvOrLog(logger(), "kafka", ConfigFromEnv) }

// ConfigFromEnv builds DefaultConfig from lookup (normally os.LookupEnv).
// On malformed variables it keeps the defaults for those fields and returns
// an error naming every offending variable.
func ConfigFromEnv(lookup func(string) (string, bool)) (Config, error) {
	cache := cacheDir()
	cfg := Config{
		Port:           DefaultPort,
		ControllerPort: DefaultControllerPort,
		DataDir:        filepath.Join(cache, "node"),
		LibsDir:        filepath.Join(cache, Version, "libs"),
		HeapMin:        DefaultHeapMin,
		HeapMax:        DefaultHeapMax,
	}
	nodeproc.StringFromEnv(lookup, EnvDir, &cfg.DataDir)
	nodeproc.StringFromEnv(lookup, EnvLibs, &cfg.LibsDir)
	err := nodeproc.PortsFromEnv(lookup,
		nodeproc.PortVar{Env: EnvPort, Dst: &cfg.Port},
		nodeproc.PortVar{Env: EnvControllerPort, Dst: &cfg.ControllerPort})
	return cfg, err
}

// cacheDir is ~/.cache/edabench/kafka, where `make kafka` puts the jars.
func cacheDir() string { return nodeproc.CacheDir("kafka") }

func (c Config) ports() []nodeproc.Port {
	return []nodeproc.Port{
		{Role: "client", Env: EnvPort, Port: c.Port},
		{Role: "controller", Env: EnvControllerPort, Port: c.ControllerPort},
	}
}

// Validate reports the first problem that would stop the node from
// starting or make it clash with itself.
func (c Config) Validate() error {
	if c.DataDir == "" || c.LibsDir == "" {
		return errors.New("kafka config: DataDir and LibsDir must be set")
	}
	if c.HeapMin == "" || c.HeapMax == "" {
		return errors.New("kafka config: HeapMin and HeapMax must be set (e.g. 512m, 1g)")
	}
	return nodeproc.CheckPorts("kafka config", c.ports())
}

// lockName is the flock in DataDir that serialises starting and stopping.
const lockName = "kafka.lock"

// paths is every file the node owns; all of it lives in DataDir so that
// deleting DataDir (after Stop) removes every trace.
type paths struct {
	runningConf string // the Config the running node was started with
	pidFile     string // "PID START_TICKS"
	clusterID   string // chosen once, before the first format
	props       string
	log4j       string
	logDirs     string // Kafka's log.dirs: the records and the metadata log
	nodeLog     string
	stdoutLog   string // what the JVM prints before log4j is up
	claims      string
}

func (c Config) paths() paths {
	d := c.DataDir
	return paths{
		runningConf: filepath.Join(d, "node-config.json"),
		pidFile:     filepath.Join(d, "kafka.pid"),
		clusterID:   filepath.Join(d, "cluster.id"),
		props:       filepath.Join(d, "server.properties"),
		log4j:       filepath.Join(d, "log4j2.properties"),
		logDirs:     filepath.Join(d, "data"),
		nodeLog:     filepath.Join(d, "logs", "server.log"),
		stdoutLog:   filepath.Join(d, "server.out"),
		claims:      filepath.Join(d, "claims"),
	}
}

// nodeID is the node's KRaft id: 1 on the single node.
func (c Config) nodeID() int { return max(c.NodeID, 1) }

// voters is controller.quorum.voters: the single node is a quorum of itself.
func (c Config) voters() string {
	if c.Voters != "" {
		return c.Voters
	}
	return fmt.Sprintf("%d@127.0.0.1:%d", c.nodeID(), c.ControllerPort)
}

// serverProperties renders server.properties: one process that is both
// broker and controller (KRaft, a static quorum of itself), every listener
// and the advertised one on loopback, and the internal topics at one
// replica, since there is no second node to copy to.
func (c Config) serverProperties() string {
	var b strings.Builder
	w := func(k string, v any) { fmt.Fprintf(&b, "%s=%v\n", k, v) }
	b.WriteString("# Written by edabench (harness/kafkanode); rewritten on every start.\n")
	w("process.roles", "broker,controller")
	w("node.id", c.nodeID())
	w("controller.quorum.voters", c.voters())
	w("listeners", fmt.Sprintf("PLAINTEXT://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d", c.Port, c.ControllerPort))
	w("advertised.listeners", fmt.Sprintf("PLAINTEXT://127.0.0.1:%d", c.Port))
	w("controller.listener.names", "CONTROLLER")
	w("inter.broker.listener.name", "PLAINTEXT")
	w("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT")
	w("log.dirs", c.paths().logDirs)
	w("num.partitions", 1)
	// Topics take these defaults (the driver creates them with the
	// broker's replication factor and min.insync.replicas): one replica on
	// the single node, every member's copy on a cluster, an
	// acknowledgement (acks=all) needing MinISR of them.
	rf, isr := max(c.Replicas, 1), max(c.MinISR, 1)
	w("default.replication.factor", rf)
	w("min.insync.replicas", isr)
	w("offsets.topic.replication.factor", rf)
	w("transaction.state.log.replication.factor", rf)
	w("transaction.state.log.min.isr", isr)
	w("share.coordinator.state.topic.replication.factor", rf)
	w("share.coordinator.state.topic.min.isr", isr)
	// A consumer group's first member starts at once instead of after the
	// stock 3 s: a benchmark's services join at start-up.
	w("group.initial.rebalance.delay.ms", 0)
	// Topics exist because a run declared them (and claimed them first),
	// never because a client misspelt one.
	w("auto.create.topics.enable", false)
	// Two cores: the stock 3 network and 8 I/O threads would only contend.
	w("num.network.threads", 2)
	w("num.io.threads", 4)
	return b.String()
}

// log4jProperties sends the broker's log to one file in DataDir (log4j2's
// properties format needs no YAML parser on the class path).
func (c Config) log4jProperties() string {
	return strings.Join([]string{
		"# Written by edabench (harness/kafkanode); rewritten on every start.",
		"status = warn",
		"appender.file.type = File",
		"appender.file.name = file",
		"appender.file.fileName = " + c.paths().nodeLog,
		"appender.file.layout.type = PatternLayout",
		"appender.file.layout.pattern = [%d] %p %m (%c)%n",
		"rootLogger.level = info",
		"rootLogger.appenderRef.file.ref = file",
		// The per-request and state-change chatter of a busy benchmark
		// would otherwise fill the disk.
		"logger.request.name = kafka.request.logger",
		"logger.request.level = warn",
		"logger.state.name = state.change.logger",
		"logger.state.level = warn",
		"",
	}, "\n")
}

// dirProperty marks the node's JVM with its data dir, so that a pid file
// pointing at any other process (pid reuse, a copied dir) is not taken
// for the node.
const dirProperty = "-Dedabench.kafka.dir="

// jvmArgs are the java arguments before the main class.
func (c Config) jvmArgs() []string {
	return []string{
		"-Xms" + c.HeapMin, "-Xmx" + c.HeapMax,
		"-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
		// Two cores shared with the twins: the JVM would size its GC
		// and JIT thread pools as if it had them to itself.
		"-XX:ParallelGCThreads=2", "-XX:ConcGCThreads=1", "-XX:CICompilerCount=2",
		"-XX:+ExitOnOutOfMemoryError",
		"-Djava.awt.headless=true",
		"-Dlog4j2.configurationFile=" + c.paths().log4j,
		dirProperty + c.DataDir,
		"-cp", filepath.Join(c.LibsDir, "*"),
	}
}

// serverArgs starts the broker (kafka.Kafka is what kafka-server-start.sh
// runs).
func (c Config) serverArgs() []string {
	return append(c.jvmArgs(), "kafka.Kafka", c.paths().props)
}

// formatArgs formats the log dirs for the cluster id (kafka-storage.sh
// format); the static quorum in server.properties needs no --standalone.
func (c Config) formatArgs(clusterID string) []string {
	args := []string{"-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-Dlog4j2.configurationFile=" + c.paths().log4j, "-cp", filepath.Join(c.LibsDir, "*")}
	return append(args, "kafka.tools.StorageTool", "format", "--ignore-formatted",
		"-t", clusterID, "-c", c.paths().props)
}
