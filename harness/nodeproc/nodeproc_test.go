package nodeproc

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseStartTicks(t *testing.T) {
	// Field 22 counts from 1 with the command name as field 2.
	rest := " S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 987654 20 21"
	for _, tc := range []struct {
		name, stat string
		want       uint64
		wantErr    bool
	}{
		{"plain", "42 (go)" + rest, 987654, false},
		{"command with spaces and parens", "42 (a) b (c))" + rest, 987654, false},
		{"truncated", "42 (go) S 1 2", 0, true},
		{"no command", "42 go S", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseStartTicks([]byte(tc.stat))
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("ParseStartTicks(%q) = %d, %v; want %d, error %v", tc.stat, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestAliveTreatsZombiesAsDead(t *testing.T) {
	if !Alive(os.Getpid()) {
		t.Fatal("own process reported dead")
	}
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	// Not waited for yet: the child becomes a zombie once it exits.
	deadline := time.Now().Add(5 * time.Second)
	for Alive(pid) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if Alive(pid) {
		t.Fatalf("zombie pid %d reported alive", pid)
	}
	cmd.Wait()
	if Alive(pid) {
		t.Fatalf("reaped pid %d reported alive", pid)
	}
}

func TestTailFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "log")
	long := strings.Repeat("x", 1000)
	os.WriteFile(f, []byte("one\ntwo\n"+long+"\nfour\n"), 0o644)
	got := TailFile(f, 3)
	lines := strings.Split(got, "\n")
	if len(lines) != 3 || lines[0] != "two" || lines[2] != "four" {
		t.Fatalf("tail = %q", got)
	}
	if len(lines[1]) > 310 || !strings.HasSuffix(lines[1], "…") {
		t.Errorf("long line not shortened: %d bytes", len(lines[1]))
	}
	if TailFile(filepath.Join(t.TempDir(), "missing"), 3) != "" {
		t.Error("missing file should give empty tail")
	}
}

func TestLockSerializes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	l1, err := LockFile(context.Background(), path, "test node")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := LockFile(ctx, path, "test node"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock while held: err = %v, want deadline exceeded", err)
	}
	l1.Unlock()
	l2, err := LockFile(context.Background(), path, "test node")
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	l2.Unlock()
}

func TestListenInodes(t *testing.T) {
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:238E 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0000000000000000 100 0 0 10 0
   1: 0100007F:238E 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0000000000000000 20 4 30 10 -1
   2: 00000000:238F 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 333 1 0000000000000000 100 0 0 10 0
`
	got := listenInodes(table, 9102)
	if len(got) != 1 || !got["111"] {
		t.Errorf("listenInodes(9102) = %v, want only the listener's inode 111", got)
	}
}
