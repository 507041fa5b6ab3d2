package claims

import (
	"os"
	"os/exec"
	"testing"

	"github.com/edabench/edabench/harness/nodeproc"
)

// Alive against real processes: this one, this one with another start time
// (what a reused pid looks like), and a child that has exited.
func TestRecordAlive(t *testing.T) {
	self := os.Getpid()
	ticks, err := nodeproc.StartTicks(self)
	if err != nil {
		t.Fatalf("own start time: %v", err)
	}
	child := exec.Command("true")
	if err := child.Run(); err != nil {
		t.Fatalf("run a child: %v", err)
	}
	for _, tc := range []struct {
		name string
		rec  Record
		want bool
	}{
		{"this process", Record{PID: self, StartTicks: ticks}, true},
		{"this pid, another start time", Record{PID: self, StartTicks: ticks + 1}, false},
		{"start time unknown, pid alive", Record{PID: self}, true},
		{"exited child", Record{PID: child.Process.Pid, StartTicks: 1}, false},
		{"no pid", Record{}, false},
	} {
		if got := tc.rec.Alive(); got != tc.want {
			t.Errorf("%s: Alive() = %v, want %v", tc.name, got, tc.want)
		}
	}
}
