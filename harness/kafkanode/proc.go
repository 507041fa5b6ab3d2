package kafkanode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func logger() *slog.Logger { return slog.Default().With("component", "kafkanode") }

// fileLock is an flock(2) on a file in DataDir: the kernel drops it when
// a process dies mid-start, so a crash never wedges the next starter.
type fileLock struct{ f *os.File }

func lockFile(ctx context.Context, path string) (*fileLock, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("kafka: open lock file: %w", err)
	}
	logged := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return &fileLock{f: f}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("kafka: flock %s: %w", path, err)
		}
		if !logged {
			logger().InfoContext(ctx, "waiting for another process to finish starting or stopping the Kafka node", "lock", path)
			logged = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("kafka: waiting for lock %s (another process is starting or stopping the node): %w", path, context.Cause(ctx))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (l *fileLock) unlock() { _ = l.f.Close() }

// procStat is /proc/PID/stat's fields after the command name, which may
// itself hold spaces and parentheses: index 0 is field 3 (the state).
func procStat(pid int) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, errors.New("no ')' in /proc/PID/stat")
	}
	return strings.Fields(string(b[i+1:])), nil
}

// processAlive treats zombies as dead: in a container whose PID 1 does not
// reap orphans, a stopped node can linger as a zombie.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	f, err := procStat(pid)
	if err != nil || len(f) == 0 {
		return false
	}
	switch f[0] {
	case "Z", "X", "x":
		return false
	}
	return true
}

// startTicks is the process's start time in clock ticks since boot (field
// 22), which no later process with the same PID can share.
func startTicks(pid int) (uint64, error) {
	f, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	const idx = 22 - 3
	if len(f) <= idx {
		return 0, fmt.Errorf("/proc/%d/stat has %d fields after the command", pid, len(f))
	}
	return strconv.ParseUint(f[idx], 10, 64)
}

// isOurJava guards against pid reuse and a pid file copied from elsewhere:
// the node's JVM carries -Dedabench.kafka.dir=DataDir, which no other
// process on the machine has.
func isOurJava(pid int, dataDir string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	for _, a := range strings.Split(string(b), "\x00") {
		if a == dirProperty+dataDir {
			return true
		}
	}
	return false
}

// pidRecord is the pid file: the JVM's pid and start time.
type pidRecord struct {
	PID   int
	Ticks uint64
}

func readPIDFile(path string) (pidRecord, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return pidRecord{}, err
	}
	var r pidRecord
	if _, err := fmt.Sscan(string(b), &r.PID, &r.Ticks); err != nil {
		return pidRecord{}, fmt.Errorf("kafka: pid file %s: %w", path, err)
	}
	return r, nil
}

func writePIDFile(path string, pid int) error {
	ticks, err := startTicks(pid)
	if err != nil {
		return fmt.Errorf("kafka: start time of pid %d: %w", pid, err)
	}
	return os.WriteFile(path, []byte(fmt.Sprintf("%d %d\n", pid, ticks)), 0o644)
}

// waitExit polls because the node is usually not our child (brokerctl or
// another test binary started it), so there is nothing to wait(2) on.
func waitExit(ctx context.Context, pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for processAlive(pid) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}

// ErrPortInUse is wrapped by Start when one of the node's ports is taken
// by something that is not this node.
var ErrPortInUse = errors.New("kafka port in use")

// portFree binds as the node will (127.0.0.1). Go sets SO_REUSEADDR, so
// TIME_WAIT leftovers of the node's own last run do not count as in use.
func portFree(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return l.Close()
}

func portInUseError(p portRole, holder string, cause error) error {
	who := "another process"
	if holder != "" {
		who = holder
	}
	return fmt.Errorf("%w: %s port %d is in use by %s; set %s to a free port, or stop that process "+
		"(see it with: ss -ltnp 'sport = :%d'; bind error: %v)", ErrPortInUse, p.role, p.port, who, p.env, p.port, cause)
}

// tailFile returns the last n lines of path, each cut to a readable width.
func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const maxRead = 64 << 10
	if st, err := f.Stat(); err == nil && st.Size() > maxRead {
		_, _ = f.Seek(st.Size()-maxRead, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	const width = 300
	for i, l := range lines {
		if len(l) > width {
			lines[i] = l[:width] + " …"
		}
	}
	return strings.Join(lines, "\n")
}

// listener finds the process listening on a TCP port, as "pid N (comm)",
// "" when it cannot tell (another user's process, a listener in another
// network namespace): a port-in-use message names who to stop.
func listener(port int) string {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for k := range listenInodes(string(b), port) {
			inodes[k] = true
		}
	}
	if len(inodes) == 0 {
		return ""
	}
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range fds {
		link, err := os.Readlink(fd)
		if err != nil || !strings.HasPrefix(link, "socket:[") {
			continue
		}
		if inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] {
			pid := strings.Split(fd, "/")[2]
			comm, _ := os.ReadFile("/proc/" + pid + "/comm")
			return fmt.Sprintf("pid %s (%s)", pid, strings.TrimSpace(string(comm)))
		}
	}
	return ""
}

// listenInodes reads /proc/net/tcp{,6} text: the socket inodes in state
// LISTEN (0A) on port.
func listenInodes(table string, port int) map[string]bool {
	out := map[string]bool{}
	want := fmt.Sprintf(":%04X", port)
	for _, line := range strings.Split(table, "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 10 || f[3] != "0A" || !strings.HasSuffix(f[1], want) {
			continue
		}
		out[f[9]] = true
	}
	return out
}
