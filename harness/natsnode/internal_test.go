package natsnode

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The Makefile builds the version the node looks for by default.
func TestMakefileVersion(t *testing.T) {
	b, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^NATS_VERSION\s*:?=\s*(\S+)`).FindSubmatch(b)
	if m == nil || string(m[1]) != Version {
		t.Fatalf("Makefile NATS_VERSION = %q, want natsnode.Version %q", m, Version)
	}
}

func TestConfigFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    func(Config) bool
		wantErr string
	}{
		{"defaults", nil, func(c Config) bool {
			return c.Port == DefaultPort && c.MonitorPort == DefaultMonitorPort && strings.HasSuffix(c.Binary, filepath.Join(Version, "bin", "nats-server"))
		}, ""},
		{"moved", map[string]string{EnvPort: "5000", EnvMonitorPort: "5001", EnvDir: "/x", EnvBinary: "/b/nats-server"}, func(c Config) bool {
			return c.Port == 5000 && c.MonitorPort == 5001 && c.DataDir == "/x" && c.Binary == "/b/nats-server"
		}, ""},
		{"bad port", map[string]string{EnvPort: "http"}, func(c Config) bool { return c.Port == DefaultPort }, EnvPort},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ConfigFromEnv(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want one naming %q", err, tc.wantErr)
			}
			if !tc.want(c) {
				t.Errorf("config = %+v", c)
			}
		})
	}
}

// Both listeners on loopback, JetStream's store in the data dir, and the
// server named after the data dir (Ping tells the node from another).
func TestServerConf(t *testing.T) {
	c := Config{Port: 4300, MonitorPort: 4301, DataDir: "/data/n", Binary: "/bin/nats-server"}
	conf := c.serverConf()
	for _, want := range []string{`listen: "127.0.0.1:4300"`, `http: "127.0.0.1:4301"`, `store_dir: "/data/n/jetstream"`, `server_name: "edabench_`} {
		if !strings.Contains(conf, want) {
			t.Errorf("conf lacks %q:\n%s", want, conf)
		}
	}
	other := Config{Port: 4300, MonitorPort: 4301, DataDir: "/data/m"}
	if c.serverName() == other.serverName() {
		t.Error("two data dirs share a server name")
	}
	if err := (Config{Port: 4300, MonitorPort: 4300, DataDir: "/d", Binary: "/b"}).Validate(); err == nil {
		t.Error("Validate() took one port for both listeners")
	}
}

func TestInstalledNamesTheFix(t *testing.T) {
	c := Config{Binary: filepath.Join(t.TempDir(), "nats-server")}
	if err := c.Installed(); !errors.Is(err, ErrNotBuilt) || !strings.Contains(err.Error(), "make nats") {
		t.Errorf("Installed() without the binary = %v, want ErrNotBuilt naming make nats", err)
	}
}

// The monitoring URL follows the node the client URL names: the default
// node's monitoring port for its client port (moved by the environment
// too), and an error naming the fix for another port, never the default
// node's queues read for another server.
func TestMonitorFor(t *testing.T) {
	moved := Config{Port: 14232, MonitorPort: 18232}
	for _, tc := range []struct {
		name, url string
		cfg       Config
		want      string // monitoring URL, or the error's text
		wantErr   bool
	}{
		{"default node", "nats://127.0.0.1:4232", Config{Port: DefaultPort, MonitorPort: DefaultMonitorPort}, "http://127.0.0.1:8232", false},
		{"localhost", "nats://localhost:4232", Config{Port: DefaultPort, MonitorPort: DefaultMonitorPort}, "http://localhost:8232", false},
		{"ports moved by the environment", "nats://127.0.0.1:14232", moved, "http://127.0.0.1:18232", false},
		{"another node's port", "nats://127.0.0.1:4999", Config{Port: DefaultPort, MonitorPort: DefaultMonitorPort}, "give that server's monitoring URL", true},
		{"no port", "nats://127.0.0.1", Config{Port: DefaultPort, MonitorPort: DefaultMonitorPort}, "is not the private node's client port", true},
		{"not loopback", "nats://192.0.2.1:4232", Config{Port: DefaultPort, MonitorPort: DefaultMonitorPort}, "loopback only", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := monitorFor(tc.url, tc.cfg)
			switch {
			case tc.wantErr && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("monitorFor(%q) = %q, %v; want an error containing %q", tc.url, got, err, tc.want)
			case !tc.wantErr && (err != nil || got != tc.want):
				t.Errorf("monitorFor(%q) = %q, %v; want %q", tc.url, got, err, tc.want)
			}
		})
	}
}

// Depths with an admin URL reads there, whatever the client URL.
func TestDepthsAtAdminURL(t *testing.T) {
	r, err := depthsAt("nats://127.0.0.1:4999", "http://127.0.0.1:9999")
	if err != nil || r.(monitorDepths) != "http://127.0.0.1:9999" {
		t.Fatalf("depthsAt(..., admin) = %v, %v; want the admin URL", r, err)
	}
}
