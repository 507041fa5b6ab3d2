package broker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func logger() *slog.Logger { return slog.Default().With("component", "broker") }

// fileLock is an flock(2) on a file in DataDir. flock rather than a pid file
// because the kernel drops it when a test binary dies mid-start, so a crash
// can never wedge the next run.
type fileLock struct{ f *os.File }

func lockFile(ctx context.Context, path string) (*fileLock, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	logged := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return &fileLock{f: f}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("flock %s: %w", path, err)
		}
		if !logged {
			logger().InfoContext(ctx, "waiting for another process to finish starting/stopping the broker", "lock", path)
			logged = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for broker lock %s (another process is starting or stopping the node): %w", path, context.Cause(ctx))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (l *fileLock) unlock() {
	// Closing the descriptor releases the flock.
	_ = l.f.Close()
}

// processAlive treats zombies as dead: in containers whose PID 1 does not
// reap orphans, a stopped node's process can linger as a zombie forever and
// kill(pid, 0) would still succeed.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The command name in field 2 may contain spaces and parentheses; the
	// state is the first field after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	switch b[i+2] {
	case 'Z', 'X', 'x':
		return false
	}
	return true
}

// isOurBeam guards against pid reuse and against a pid file copied from
// elsewhere: the node's command line carries "-home DataDir" because we set
// HOME=DataDir, which no other beam on the machine has.
func isOurBeam(pid int, dataDir string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	if len(args) == 0 || !strings.Contains(args[0], "beam") {
		return false
	}
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "-home" && args[i+1] == dataDir {
			return true
		}
	}
	return false
}

func readPIDFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("pid file %s: %w", path, err)
	}
	return pid, nil
}

// waitExit polls because the process is usually not our child (another test
// binary or brokerctl started it), so there is nothing to wait(2) on.
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

// ErrPortInUse is wrapped by Start when one of the node's ports is taken by
// something that is not this node.
var ErrPortInUse = errors.New("broker port in use")

// portFree binds like the node will (127.0.0.1). Go sets SO_REUSEADDR, which
// on Linux still refuses a port that has a listener, so TIME_WAIT leftovers
// of our own previous run do not count as "in use".
func portFree(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return l.Close()
}

func portInUseError(p portRole, cause error) error {
	return fmt.Errorf("%w: %s port %d is in use by another process; set %s (or the Config field) to a free port, "+
		"or stop that process (find it with: ss -ltnp 'sport = :%d'; bind error: %v)",
		ErrPortInUse, p.role, p.port, p.env, p.port, cause)
}

// epmdNames asks an epmd for its registered nodes (NAMES_REQ). It doubles as
// "is this port an epmd at all?": anything else will not answer this way.
func epmdNames(ctx context.Context, port int) (map[string]int, error) {
	// A real epmd answers in microseconds; anything slower is not one.
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if _, err := c.Write([]byte{0, 1, 'n'}); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(c)
	if err != nil {
		return nil, err
	}
	if len(b) < 4 || binary.BigEndian.Uint32(b[:4]) != uint32(port) {
		return nil, fmt.Errorf("port %d does not speak the epmd protocol", port)
	}
	names := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(b[4:]))
	for sc.Scan() {
		// "name edabench at port 25682"
		f := strings.Fields(sc.Text())
		if len(f) == 5 && f[0] == "name" && f[2] == "at" && f[3] == "port" {
			p, _ := strconv.Atoi(f[4])
			names[f[1]] = p
		}
	}
	return names, nil
}

// tailFile returns the last n lines, each cut to a readable width: Erlang
// boot errors are single lines of several kilobytes.
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
