package nodeproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// statFields is /proc/PID/stat's fields after the command name, which may
// itself hold spaces and parentheses: index 0 is field 3 (the state).
func statFields(stat []byte) ([]string, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return nil, errors.New("no ')' in /proc/PID/stat")
	}
	return strings.Fields(string(stat[i+1:])), nil
}

func readStat(pid int) ([]byte, error) {
	return os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
}

// Alive treats zombies as dead: in a container whose PID 1 does not reap
// orphans, a stopped node's process can linger as a zombie forever and
// kill(pid, 0) would still succeed.
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := readStat(pid)
	if err != nil {
		return false
	}
	return statAlive(b)
}

func statAlive(stat []byte) bool {
	f, err := statFields(stat)
	if err != nil || len(f) == 0 {
		return false
	}
	switch f[0] {
	case "Z", "X", "x":
		return false
	}
	return true
}

// StartTicks is the process's start time in clock ticks since boot (field
// 22 of /proc/PID/stat), which no later process with the same PID can share.
func StartTicks(pid int) (uint64, error) {
	b, err := readStat(pid)
	if err != nil {
		return 0, err
	}
	return ParseStartTicks(b)
}

// ParseStartTicks reads field 22 from the text of /proc/PID/stat.
func ParseStartTicks(stat []byte) (uint64, error) {
	f, err := statFields(stat)
	if err != nil {
		return 0, err
	}
	const startIdx = 22 - 3
	if len(f) <= startIdx {
		return 0, fmt.Errorf("/proc/PID/stat has %d fields after the command, want more than %d", len(f), startIdx)
	}
	return strconv.ParseUint(f[startIdx], 10, 64)
}

// SameProcess reports whether pid is alive and, when ticks is known (not
// 0), still the process that started at ticks. A start time that cannot be
// read errs towards alive: taking a running node or a running test's
// claim for dead is worse than keeping garbage.
func SameProcess(pid int, ticks uint64) bool {
	if !Alive(pid) {
		return false
	}
	if ticks == 0 {
		return true
	}
	t, err := StartTicks(pid)
	return err != nil || t == ticks
}

// Cmdline is the process's arguments, argv[0] first.
func Cmdline(pid int) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00"), nil
}

// WaitExit polls because the node is usually not our child (brokerctl or
// another test binary started it), so there is nothing to wait(2) on. It
// reports whether pid exited within d.
func WaitExit(ctx context.Context, pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for Alive(pid) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}

// TailFile returns the last n lines of path, each cut to a readable width
// (Erlang boot errors are single lines of several kilobytes); "" when it
// cannot be read.
func TailFile(path string, n int) string {
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

// Stopped reports whether pid is stopped by a signal (SIGSTOP: state T),
// so that a caller does not wait on a frozen process's listeners.
func Stopped(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := readStat(pid)
	if err != nil {
		return false
	}
	f, err := statFields(b)
	return err == nil && len(f) > 0 && (f[0] == "T" || f[0] == "t")
}
