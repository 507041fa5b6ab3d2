package nodeproc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Spawn detaches (own session), logs the output and reaps the process,
// its exit status in Err once Exited closes.
func TestSpawn(t *testing.T) {
	for _, tc := range []struct {
		name    string
		script  string
		wantOut string
		wantErr bool
	}{
		{"exits 0", "echo hello; echo oops >&2", "hello\noops\n", false},
		{"exits 3", "echo failing; exit 3", "failing\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := filepath.Join(t.TempDir(), "server.out")
			p, err := Spawn(exec.Command("sh", "-c", "sleep 0.2; "+tc.script), log)
			if err != nil {
				t.Fatal(err)
			}
			if sid, err := sessionID(p.PID); err == nil && sid != p.PID {
				t.Errorf("session of pid %d is %d: not detached", p.PID, sid)
			}
			select {
			case <-p.Exited:
			case <-time.After(10 * time.Second):
				t.Fatal("never reaped")
			}
			if (p.Err != nil) != tc.wantErr {
				t.Errorf("Err = %v, want error %v", p.Err, tc.wantErr)
			}
			if b, _ := os.ReadFile(log); string(b) != tc.wantOut {
				t.Errorf("log = %q, want %q", b, tc.wantOut)
			}
			if Alive(p.PID) {
				t.Errorf("pid %d alive (or a zombie) after Exited", p.PID)
			}
		})
	}
	if _, err := Spawn(exec.Command(filepath.Join(t.TempDir(), "missing")), filepath.Join(t.TempDir(), "out")); err == nil || !strings.Contains(err.Error(), "start ") {
		t.Errorf("Spawn(missing binary) = %v, want a start error naming it", err)
	}
}

func TestWriteStartFiles(t *testing.T) {
	dir := t.TempDir()
	type cfg struct{ Port int }
	conf := filepath.Join(dir, "node-config.json")
	err := WriteStartFiles([]string{filepath.Join(dir, "log", "x")}, conf, cfg{7},
		File{Path: filepath.Join(dir, "a.conf"), Body: "a=1\n"})
	if err != nil {
		t.Fatal(err)
	}
	if running, differs := RunningDiffers(conf, cfg{7}); differs || running != (cfg{7}) {
		t.Errorf("running config = %v (differs %v), want {7}", running, differs)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.conf")); string(b) != "a=1\n" {
		t.Errorf("a.conf = %q", b)
	}
	if st, err := os.Stat(filepath.Join(dir, "log", "x")); err != nil || !st.IsDir() {
		t.Errorf("dir not made: %v", err)
	}
}

// sessionID is field 6 of /proc/PID/stat (index 3 after the command).
func sessionID(pid int) (int, error) {
	b, err := readStat(pid)
	if err != nil {
		return 0, err
	}
	f, err := statFields(b)
	if err != nil || len(f) < 4 {
		return 0, fmt.Errorf("stat of %d: %v", pid, err)
	}
	return strconv.Atoi(f[3])
}

// A server that exits before its start time is read (CI saw nats-server
// reject its config that fast) is a boot failure for the readiness wait to
// report, not an error about /proc; a live one gets its pid file.
func TestRecordPID(t *testing.T) {
	dir := t.TempDir()
	gone, err := Spawn(exec.Command("/bin/sh", "-c", "exit 1"), filepath.Join(dir, "gone.out"))
	if err != nil {
		t.Fatal(err)
	}
	<-gone.Exited
	goneFile := filepath.Join(dir, "gone.pid")
	if err := gone.RecordPID(goneFile); err != nil {
		t.Errorf("RecordPID of a process that already exited: %v, want nil", err)
	}
	if _, err := os.Stat(goneFile); !os.IsNotExist(err) {
		t.Errorf("a pid file was written for an exited process (stat: %v)", err)
	}

	live, err := Spawn(exec.Command("/bin/sh", "-c", "sleep 30"), filepath.Join(dir, "live.out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(live.PID, syscall.SIGKILL); <-live.Exited })
	liveFile := filepath.Join(dir, "live.pid")
	if err := live.RecordPID(liveFile); err != nil {
		t.Fatal(err)
	}
	r, err := ReadPIDFile(liveFile)
	if err != nil {
		t.Fatal(err)
	}
	if r.PID != live.PID || !SameProcess(r.PID, r.Ticks) {
		t.Errorf("pid file %+v does not name the live process %d", r, live.PID)
	}
}
