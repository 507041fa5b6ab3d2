package nodeproc

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// PIDRecord is a node's pid file: "PID" (RabbitMQ writes its own) or
// "PID START_TICKS" (WritePIDFile), the start time telling the node from a
// later process that got the same PID.
type PIDRecord struct {
	PID   int
	Ticks uint64 // 0 when the file holds no start time
}

// ReadPIDFile parses a pid file of either form.
func ReadPIDFile(path string) (PIDRecord, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return PIDRecord{}, err
	}
	return parsePIDFile(path, string(b))
}

func parsePIDFile(path, text string) (PIDRecord, error) {
	f := strings.Fields(text)
	if len(f) == 0 || len(f) > 2 {
		return PIDRecord{}, fmt.Errorf("pid file %s: want \"PID\" or \"PID START_TICKS\", got %q", path, text)
	}
	var r PIDRecord
	var err error
	if r.PID, err = strconv.Atoi(f[0]); err != nil {
		return PIDRecord{}, fmt.Errorf("pid file %s: %w", path, err)
	}
	if len(f) == 2 {
		if r.Ticks, err = strconv.ParseUint(f[1], 10, 64); err != nil {
			return PIDRecord{}, fmt.Errorf("pid file %s: %w", path, err)
		}
	}
	return r, nil
}

// WritePIDFile records pid and its start time at path.
func WritePIDFile(path string, pid int) error {
	ticks, err := StartTicks(pid)
	if err != nil {
		return fmt.Errorf("start time of pid %d: %w", pid, err)
	}
	return os.WriteFile(path, []byte(fmt.Sprintf("%d %d\n", pid, ticks)), 0o644)
}

// RunningPID is the pid in the pid file at path when that process still
// runs (SameProcess) and ours says it is the node (its command line marks
// it with the data dir, guarding against pid reuse and a pid file copied
// from elsewhere); 0 otherwise.
func RunningPID(path string, ours func(cmdline []string) bool) int {
	r, err := ReadPIDFile(path)
	if err != nil || !SameProcess(r.PID, r.Ticks) {
		return 0
	}
	args, err := Cmdline(r.PID)
	if err != nil || !ours(args) {
		return 0
	}
	return r.PID
}
