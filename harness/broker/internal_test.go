package broker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func testConfig() Config {
	return Config{
		Name: "edabench-x@localhost", AMQPPort: 1001, MgmtPort: 1002, PromPort: 1003,
		DistPort: 1004, EPMDPort: 1005, DataDir: "/data/broker",
	}
}

func TestEnvRendering(t *testing.T) {
	base := []string{
		"PATH=/usr/bin:/bin",
		"HOME=/root",
		"RABBITMQ_NODENAME=rabbit@localhost", // must not leak: would target the system node
		"RABBITMQ_ALLOW_INPUT=1",
		"ERL_EPMD_PORT=4369",
		"ERL_FLAGS=+S 1",
		"LANG=de_DE.ISO-8859-1",
		"GOFLAGS=-count=1",
	}
	env := testConfig().env(base)

	// Later entries win in exec, but duplicates would still be confusing
	// for anyone reading /proc/PID/environ.
	seen := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if old, dup := seen[k]; dup {
			t.Errorf("variable %s set twice (%q and %q)", k, old, v)
		}
		seen[k] = v
	}

	tests := []struct {
		key, want string
	}{
		{"PATH", "/usr/bin:/bin"},
		{"GOFLAGS", "-count=1"},
		{"HOME", "/data/broker"},
		{"LANG", "C.UTF-8"},
		{"LC_ALL", "C.UTF-8"},
		{"ERL_EPMD_PORT", "1005"},
		{"ERL_EPMD_ADDRESS", "127.0.0.1"},
		{"ERL_CRASH_DUMP", "/data/broker/erl_crash.dump"},
		{"ERL_FLAGS", "-kernel inet_dist_use_interface {127,0,0,1}"},
		{"RABBITMQ_NODENAME", "edabench-x@localhost"},
		{"RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1"},
		{"RABBITMQ_NODE_PORT", "1001"},
		{"RABBITMQ_DIST_PORT", "1004"},
		{"RABBITMQ_CONF_ENV_FILE", "/data/broker/rabbitmq-env.conf"},
		{"RABBITMQ_CONFIG_FILE", "/data/broker/rabbitmq.conf"},
		{"RABBITMQ_CONFIG_FILES", "/data/broker/conf.d"},
		{"RABBITMQ_ADVANCED_CONFIG_FILE", "/data/broker/advanced.config"},
		{"RABBITMQ_ENABLED_PLUGINS_FILE", "/data/broker/enabled_plugins"},
		{"RABBITMQ_MNESIA_BASE", "/data/broker/mnesia"},
		{"RABBITMQ_LOG_BASE", "/data/broker/log"},
		{"RABBITMQ_PID_FILE", "/data/broker/rabbitmq.pid"},
		{"RABBITMQ_ALLOW_INPUT", ""}, // stripped: would give the node an interactive shell
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got, ok := seen[tt.key]
			if tt.want == "" {
				if ok {
					t.Fatalf("%s should be stripped, got %q", tt.key, got)
				}
				return
			}
			if got != tt.want {
				t.Fatalf("%s = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
}

func TestRabbitmqConf(t *testing.T) {
	conf := testConfig().rabbitmqConf()
	lines := strings.Split(conf, "\n")
	for _, want := range []string{
		"listeners.tcp.default = 127.0.0.1:1001",
		"management.tcp.ip = 127.0.0.1",
		"management.tcp.port = 1002",
		"prometheus.tcp.ip = 127.0.0.1",
		"prometheus.tcp.port = 1003",
		"loopback_users.guest = true",
		"heartbeat = 10",
		"disk_free_limit.absolute = 50MB",
		"collect_statistics_interval = 1000",
		"log.console = false",
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("rabbitmq.conf lacks %q:\n%s", want, conf)
		}
	}
	// Nothing may listen on all interfaces.
	for _, l := range lines {
		if strings.Contains(l, "0.0.0.0") || strings.Contains(l, "::") {
			t.Errorf("non-loopback listener in rabbitmq.conf: %q", l)
		}
	}
}

func TestPathsStayInDataDir(t *testing.T) {
	p := testConfig().paths()
	for _, f := range []string{p.pidFile, p.conf, p.confDir, p.advanced, p.envConf, p.plugins,
		p.mnesiaBase, p.logDir, p.nodeLog, p.stdoutLog, p.crashDump} {
		if !strings.HasPrefix(f, "/data/broker/") {
			t.Errorf("%s is outside DataDir", f)
		}
	}
	if p.nodeLog != "/data/broker/log/edabench-x@localhost.log" {
		t.Errorf("nodeLog = %s; RabbitMQ names it LOG_BASE/NODENAME.log", p.nodeLog)
	}
}

func TestInstaller(t *testing.T) {
	type call struct{ name, args string }
	tests := []struct {
		name          string
		present       bool
		root          bool
		policyExists  bool
		installWorks  bool
		wantErr       error
		wantCalls     []string
		wantPolicyEnd bool // policy-rc.d exists afterwards
	}{
		{name: "already installed", present: true, root: true, wantCalls: nil},
		{name: "missing, not root", root: false, wantErr: ErrNotInstalled, wantCalls: nil},
		{name: "missing, installs", root: true, installWorks: true,
			wantCalls: []string{"update", "install -y rabbitmq-server"}},
		{name: "keeps admin policy-rc.d", root: true, installWorks: true, policyExists: true, wantPolicyEnd: true,
			wantCalls: []string{"update", "install -y rabbitmq-server"}},
		{name: "apt fails", root: true, installWorks: false, wantErr: ErrNotInstalled,
			wantCalls: []string{"update", "install -y rabbitmq-server"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			in := installer{
				serverBin: filepath.Join(dir, "rabbitmq-server"),
				policyRCD: filepath.Join(dir, "policy-rc.d"),
				aptLock:   filepath.Join(dir, "apt.lock"),
				isRoot:    tt.root,
			}
			if tt.present {
				os.WriteFile(in.serverBin, nil, 0o755)
			}
			if tt.policyExists {
				os.WriteFile(in.policyRCD, []byte("#!/bin/sh\nexit 0\n"), 0o755)
			}
			var calls []string
			in.run = func(_ context.Context, env []string, name string, args ...string) ([]byte, error) {
				if name != "apt-get" {
					t.Errorf("ran %s, want apt-get", name)
				}
				if !slices.Contains(env, "DEBIAN_FRONTEND=noninteractive") {
					t.Errorf("apt-get without DEBIAN_FRONTEND=noninteractive")
				}
				b, err := os.ReadFile(in.policyRCD)
				if err != nil {
					t.Errorf("policy-rc.d missing while apt-get runs: %v", err)
				} else if !tt.policyExists && !strings.Contains(string(b), "exit 101") {
					t.Errorf("policy-rc.d does not forbid service starts: %q", b)
				}
				// Drop the "-o DPkg::Lock::Timeout=..." prefix.
				calls = append(calls, strings.Join(args[2:], " "))
				if args[2] == "install" {
					if !tt.installWorks {
						return []byte("E: Unable to locate package rabbitmq-server"), errors.New("exit status 100")
					}
					os.WriteFile(in.serverBin, nil, 0o755)
				}
				return nil, nil
			}
			err := in.ensure(context.Background())
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !slices.Equal(calls, tt.wantCalls) {
				t.Errorf("apt calls = %q, want %q", calls, tt.wantCalls)
			}
			if got := fileExists(in.policyRCD); got != tt.wantPolicyEnd {
				t.Errorf("policy-rc.d exists afterwards = %v, want %v", got, tt.wantPolicyEnd)
			}
			if tt.wantErr != nil && tt.root && !strings.Contains(err.Error(), "Unable to locate package") {
				t.Errorf("error does not carry apt's output: %v", err)
			}
		})
	}
}
