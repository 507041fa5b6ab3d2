package main

import (
	"bytes"
	"net"
	"strings"
	"testing"
)

func TestRunRejectsBadInput(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"help", []string{"--help"}, 0, "Usage:"},
		{"no twin", []string{"--service", "gateway"}, 2, "--twin is required"},
		{"unknown twin", []string{"--twin", "grpc", "--service", "gateway"}, 2, `--twin "grpc": want rr or eda`},
		{"no service", []string{"--twin", "rr"}, 2, "--service is required"},
		{"unknown service", []string{"--twin", "rr", "--service", "billing"}, 2, `unknown step "billing"`},
		{"unknown flag", []string{"--twin", "rr", "--colour", "red"}, 2, "flag provided but not defined: -colour"},
		{"stray argument", []string{"--twin", "rr", "--service", "all", "extra"}, 2, `unexpected argument "extra"`},
		{"bad topology", []string{"--twin", "rr", "--service", "all", "--topology", "ring"}, 2, "want chain or fanout"},
		{"bad cost", []string{"--twin", "rr", "--service", "all", "--cost", "dist=pareto"}, 2, "--cost: cost: dist \"pareto\""},
		{"step cost for another step", []string{"--twin", "rr", "--service", "payment", "--peer", "inventory=127.0.0.1:1", "--step-cost", "shipping=mean=2ms"}, 2, "this process runs [payment], not shipping"},
		{"missing peer", []string{"--twin", "rr", "--service", "gateway"}, 2, "pass --peer payment=HOST:PORT"},
		{"non-loopback peer", []string{"--twin", "rr", "--service", "gateway", "--peer", "payment=192.0.2.1:80"}, 2, "is not a loopback address"},
		{"non-loopback listen", []string{"--twin", "rr", "--service", "all", "--listen", "0.0.0.0:7000"}, 2, "is not a loopback address"},
		{"bad queue type", []string{"--twin", "eda", "--service", "payment", "--queue-type", "stream"}, 2, "want quorum or classic"},
		{"bad prefetch", []string{"--twin", "eda", "--service", "payment", "--prefetch", "0"}, 2, "prefetch 0"},
		{"bad log level", []string{"--twin", "rr", "--service", "all", "--log-level", "loud"}, 2, "--log-level"},
		{"port in use", []string{"--twin", "rr", "--service", "notification", "--listen", busy.Addr().String()}, 1, "address already in use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			if code != tt.code || !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("run(%q) = %d, stderr:\n%s\nwant exit %d and %q", tt.args, code, stderr.String(), tt.code, tt.want)
			}
			if tt.code != 0 && strings.Contains(stdout.String(), "EDABENCH_READY") {
				t.Fatal("announced ready although it failed")
			}
		})
	}
}
