package nodeproc

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestParsePIDFile(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       PIDRecord
		wantErr    bool
	}{
		{"RabbitMQ's pid only", "1234\n", PIDRecord{PID: 1234}, false},
		{"pid and start time", "1234 987654\n", PIDRecord{PID: 1234, Ticks: 987654}, false},
		{"empty", "", PIDRecord{}, true},
		{"not a number", "abc", PIDRecord{}, true},
		{"bad start time", "1234 x", PIDRecord{}, true},
		{"three fields", "1 2 3", PIDRecord{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parsePIDFile("p.pid", tc.text)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("parsePIDFile(%q) = %+v, %v; want %+v, error %v", tc.text, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// RunningPID against this process: its own pid file, one with another
// start time (a reused pid), one whose command line is not the node's.
func TestRunningPID(t *testing.T) {
	dir := t.TempDir()
	self := os.Getpid()
	ticks, err := StartTicks(self)
	if err != nil {
		t.Fatal(err)
	}
	yes := func([]string) bool { return true }
	no := func([]string) bool { return false }
	for _, tc := range []struct {
		name, text string
		ours       func([]string) bool
		want       int
	}{
		{"this process", strconv.Itoa(self) + " " + strconv.FormatUint(ticks, 10), yes, self},
		{"pid only", strconv.Itoa(self), yes, self},
		{"another start time", strconv.Itoa(self) + " " + strconv.FormatUint(ticks+1, 10), yes, 0},
		{"not the node's command line", strconv.Itoa(self), no, 0},
		{"garbage", "x", yes, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "node.pid")
			if err := os.WriteFile(path, []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := RunningPID(path, tc.ours); got != tc.want {
				t.Errorf("RunningPID(%q) = %d, want %d", tc.text, got, tc.want)
			}
		})
	}
	if got := RunningPID(filepath.Join(dir, "missing.pid"), yes); got != 0 {
		t.Errorf("RunningPID(missing file) = %d, want 0", got)
	}
}

func TestWritePIDFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.pid")
	if err := WritePIDFile(path, os.Getpid()); err != nil {
		t.Fatal(err)
	}
	r, err := ReadPIDFile(path)
	if err != nil || r.PID != os.Getpid() || r.Ticks == 0 || !SameProcess(r.PID, r.Ticks) {
		t.Fatalf("ReadPIDFile = %+v, %v; want this process with its start time", r, err)
	}
}

func TestCheckPorts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ports   []Port
		wantErr string
	}{
		{"apart", []Port{{"client", "E1", 9102}, {"controller", "E2", 9103}}, ""},
		{"zero", []Port{{"client", "E1", 0}}, "x config: client port 0 is not a TCP port (set E1)"},
		{"too high", []Port{{"client", "E1", 70000}}, "client port 70000 is not a TCP port"},
		{"twice", []Port{{"client", "E1", 9102}, {"controller", "E2", 9102}}, "client and controller both use port 9102 (set E2)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckPorts("x config", tc.ports)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("CheckPorts = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestPortsFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    [2]int
		wantErr []string
	}{
		{"unset keeps defaults", nil, [2]int{1, 2}, nil},
		{"empty keeps defaults", map[string]string{"A": ""}, [2]int{1, 2}, nil},
		{"both set", map[string]string{"A": "5000", "B": " 5001 "}, [2]int{5000, 5001}, nil},
		{"every bad one named", map[string]string{"A": "x", "B": "70000"}, [2]int{1, 2}, []string{`A="x"`, `B="70000"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := [2]int{1, 2}
			err := PortsFromEnv(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok },
				PortVar{Env: "A", Dst: &got[0]}, PortVar{Env: "B", Dst: &got[1]})
			if got != tc.want {
				t.Errorf("ports = %v, want %v", got, tc.want)
			}
			if (err != nil) != (len(tc.wantErr) > 0) {
				t.Fatalf("err = %v, want one naming %v", err, tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err %q does not name %s", err, w)
				}
			}
		})
	}
}

// A port this process listens on is refused by PortFree, and the message
// names this process as the holder, the variable and the sentinel.
func TestPortInUseNamesHolder(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	cause := PortFree(port)
	if cause == nil {
		t.Fatal("PortFree: a port with a listener reported free")
	}
	sentinel := errors.New("test port in use")
	err = PortInUse(sentinel, Port{"client", "EDABENCH_X_PORT", port}, Listener(port), cause)
	if !errors.Is(err, sentinel) {
		t.Errorf("error does not wrap the sentinel: %v", err)
	}
	for _, want := range []string{"client port " + strconv.Itoa(port), "EDABENCH_X_PORT", "pid " + strconv.Itoa(os.Getpid())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if !strings.Contains(PortInUse(sentinel, Port{"client", "E", port}, "", cause).Error(), "in use by another process") {
		t.Error("without a holder the message should say another process")
	}
}
