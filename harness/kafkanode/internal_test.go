package kafkanode

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/edabench/edabench/harness/brokernode"
)

func TestConfigFromEnv(t *testing.T) {
	def, err := ConfigFromEnv(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if def.Port != DefaultPort || def.ControllerPort != DefaultControllerPort ||
		!strings.HasSuffix(def.LibsDir, filepath.Join("edabench", "kafka", Version, "libs")) {
		t.Fatalf("defaults = %+v", def)
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    func(*Config)
		wantErr []string // substrings; nil means no error
	}{
		{name: "defaults", want: func(*Config) {}},
		{
			name: "all overrides",
			env:  map[string]string{EnvDir: "/tmp/k", EnvLibs: "/opt/kafka/libs", EnvPort: " 7101 ", EnvControllerPort: "7102"},
			want: func(c *Config) {
				c.DataDir, c.LibsDir, c.Port, c.ControllerPort = "/tmp/k", "/opt/kafka/libs", 7101, 7102
			},
		},
		{name: "empty values keep defaults", env: map[string]string{EnvPort: "", EnvDir: ""}, want: func(*Config) {}},
		{
			name:    "bad ports keep defaults and name the variables",
			env:     map[string]string{EnvPort: "91x2", EnvControllerPort: "70000"},
			want:    func(*Config) {},
			wantErr: []string{`EDABENCH_KAFKA_PORT="91x2"`, `EDABENCH_KAFKA_CONTROLLER_PORT="70000"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ConfigFromEnv(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			want := def
			tt.want(&want)
			if got != want {
				t.Errorf("config = %+v, want %+v", got, want)
			}
			if tt.wantErr == nil && err != nil {
				t.Errorf("unexpected error %v", err)
			}
			for _, s := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), s) {
					t.Errorf("error %v, want it to contain %q", err, s)
				}
			}
		})
	}
}

// The defaults must not collide with the RabbitMQ node's (harness/broker:
// 4380, 5682, 15682, 15702, 25682) nor with a stock Kafka's 9092/9093.
func TestDefaultPortsApart(t *testing.T) {
	taken := []int{4380, 5682, 15682, 15702, 25682, 9092, 9093}
	for _, p := range []int{DefaultPort, DefaultControllerPort} {
		if slices.Contains(taken, p) {
			t.Errorf("default port %d collides with another broker's", p)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := Config{Port: 9102, ControllerPort: 9103, DataDir: "/d", LibsDir: "/l", HeapMin: "512m", HeapMax: "1g"}
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string
	}{
		{"valid", func(*Config) {}, ""},
		{"same port twice", func(c *Config) { c.ControllerPort = c.Port }, "both use port 9102"},
		{"port out of range", func(c *Config) { c.Port = 70000 }, "set EDABENCH_KAFKA_PORT"},
		{"no data dir", func(c *Config) { c.DataDir = "" }, "DataDir"},
		{"no heap", func(c *Config) { c.HeapMax = "" }, "HeapMax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			err := c.Validate()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Validate() = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// server.properties makes one combined KRaft node of itself, listening and
// advertising on loopback only.
func TestServerProperties(t *testing.T) {
	c := Config{Port: 7101, ControllerPort: 7102, DataDir: "/var/k", LibsDir: "/l", HeapMin: "512m", HeapMax: "1g"}
	props := map[string]string{}
	for _, line := range strings.Split(c.serverProperties(), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			if _, dup := props[k]; dup {
				t.Errorf("key %s set twice", k)
			}
			props[k] = v
		}
	}
	for k, want := range map[string]string{
		"process.roles":                    "broker,controller",
		"node.id":                          "1",
		"controller.quorum.voters":         "1@127.0.0.1:7102",
		"listeners":                        "PLAINTEXT://127.0.0.1:7101,CONTROLLER://127.0.0.1:7102",
		"advertised.listeners":             "PLAINTEXT://127.0.0.1:7101",
		"controller.listener.names":        "CONTROLLER",
		"log.dirs":                         "/var/k/data",
		"offsets.topic.replication.factor": "1",
		"auto.create.topics.enable":        "false",
	} {
		if props[k] != want {
			t.Errorf("%s = %q, want %q", k, props[k], want)
		}
	}
	for k, v := range props {
		if strings.Contains(v, "://") && strings.Contains(v, "0.0.0.0") {
			t.Errorf("%s = %s: listens beyond loopback", k, v)
		}
	}
	if !strings.Contains(c.log4jProperties(), "fileName = /var/k/logs/server.log") {
		t.Errorf("log4j config does not log to the node's dir:\n%s", c.log4jProperties())
	}
}

func TestJavaArgs(t *testing.T) {
	c := Config{Port: 1, ControllerPort: 2, DataDir: "/var/k", LibsDir: "/opt/libs", HeapMin: "512m", HeapMax: "1g"}
	srv := c.serverArgs()
	for _, want := range []string{"-Xms512m", "-Xmx1g", "-XX:ParallelGCThreads=2", "-Dedabench.kafka.dir=/var/k",
		"-Dlog4j2.configurationFile=/var/k/log4j2.properties", "/opt/libs/*"} {
		if !slices.Contains(srv, want) {
			t.Errorf("server args %v lack %q", srv, want)
		}
	}
	if got := srv[len(srv)-2:]; got[0] != "kafka.Kafka" || got[1] != "/var/k/server.properties" {
		t.Errorf("server args end in %v, want kafka.Kafka and the properties file", got)
	}
	f := strings.Join(c.formatArgs("abc"), " ")
	if !strings.Contains(f, "kafka.tools.StorageTool format --ignore-formatted -t abc -c /var/k/server.properties") {
		t.Errorf("format args: %s", f)
	}
}

func TestClientPort(t *testing.T) {
	for _, tt := range []struct {
		url  string
		want int // 0: an error
	}{
		{"127.0.0.1:9102", 9102},
		{"localhost:7000", 7000},
		{"kafka://127.0.0.1:9102", 9102},
		{"127.0.0.1:9102,127.0.0.1:9103", 9102},
		{"10.0.0.1:9102", 0},
		{"127.0.0.1", 0},
		{"127.0.0.1:x", 0},
		{"", 0},
	} {
		got, err := clientPort(tt.url)
		if got != tt.want || (tt.want == 0) != (err != nil) {
			t.Errorf("clientPort(%q) = %d, %v; want %d", tt.url, got, err, tt.want)
		}
	}
}

func TestCovers(t *testing.T) {
	top := brokernode.Topology{Prefixes: []string{"run1"}, Queues: []string{"x.orders"}, Exchanges: []string{"events"}}
	for topic, want := range map[string]bool{
		"run1": true, "run1.orders": true, "run1x.orders": false, "run": false,
		"x.orders": true, "x.orders.dlq": false, "events": true, "__consumer_offsets": false,
	} {
		if got := covers(top, topic); got != want {
			t.Errorf("covers(%q) = %v, want %v", topic, got, want)
		}
	}
}

func TestJarVersion(t *testing.T) {
	for jar, want := range map[string]string{
		"/l/kafka_2.13-4.4.0.jar": "4.4.0", "kafka_2.13-4.3.1.jar": "4.3.1", "kafka.jar": "",
	} {
		if got := jarVersion(jar); got != want {
			t.Errorf("jarVersion(%q) = %q, want %q", jar, got, want)
		}
	}
}

// The Makefile fetches the version the node looks for by default.
func TestMakefileVersion(t *testing.T) {
	b, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^KAFKA_VERSION\s*:?=\s*(\S+)`).FindSubmatch(b)
	if m == nil || string(m[1]) != Version {
		t.Fatalf("Makefile KAFKA_VERSION = %q, want kafkanode.Version %q", m, Version)
	}
}

// Missing pieces name the fix: the JDK and the jars, each with make kafka.
func TestInstalledNamesTheFix(t *testing.T) {
	t.Setenv(EnvJava, t.TempDir())
	c := Config{LibsDir: t.TempDir()}
	if err := c.Installed(); !errors.Is(err, ErrNoJava) || !strings.Contains(err.Error(), "JAVA_HOME") {
		t.Errorf("Installed() with a JAVA_HOME lacking bin/java = %v, want ErrNoJava naming JAVA_HOME", err)
	}
	err := c.Fetched()
	if !errors.Is(err, ErrNotFetched) || !strings.Contains(err.Error(), "make kafka") || !strings.Contains(err.Error(), c.LibsDir) {
		t.Errorf("Fetched() on an empty libs dir = %v, want ErrNotFetched naming make kafka and the dir", err)
	}
	if err := os.WriteFile(filepath.Join(c.LibsDir, fetchedMarker), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.Fetched(); !errors.Is(err, ErrNotFetched) {
		t.Errorf("Fetched() with the marker but no broker jar = %v, want ErrNotFetched", err)
	}
}

// A port taken by somebody else fails the start before anything is
// spawned, naming the port, its holder (this test process) and the variable
// that moves it.
func TestPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	n := &Node{cfg: Config{Port: port, ControllerPort: port + 1, DataDir: t.TempDir()}}
	err = n.checkPorts()
	if !errors.Is(err, ErrPortInUse) {
		t.Fatalf("checkPorts() = %v, want ErrPortInUse", err)
	}
	for _, want := range []string{"client port " + strconv.Itoa(port), EnvPort, "pid " + strconv.Itoa(os.Getpid())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}
