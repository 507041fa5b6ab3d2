package broker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/edabench/edabench/harness/nodeproc"
)

// Debian's layout. The /usr/sbin wrappers switch to the rabbitmq user, which
// could not write to a root-owned DataDir, so everything runs from here.
const (
	rabbitBinDir = "/usr/lib/rabbitmq/bin"
	serverBin    = rabbitBinDir + "/rabbitmq-server"
)

// ErrNotInstalled is wrapped by EnsureInstalled (and Start) when RabbitMQ is
// missing and could not be installed; brokertest turns it into a skip.
var ErrNotInstalled = errors.New("rabbitmq-server is not installed")

// installer carries the paths and command runner so the apt dance can be
// tested without touching the real system.
type installer struct {
	serverBin string
	policyRCD string // /usr/sbin/policy-rc.d
	aptLock   string // serializes concurrent test binaries before apt's own lock
	isRoot    bool
	run       func(ctx context.Context, env []string, name string, args ...string) ([]byte, error)
}

func systemInstaller() installer {
	return installer{
		serverBin: serverBin,
		policyRCD: "/usr/sbin/policy-rc.d",
		aptLock:   filepath.Join(os.TempDir(), "edabench-apt.lock"),
		isRoot:    os.Geteuid() == 0,
		run:       runCombined,
	}
}

func runCombined(ctx context.Context, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second
	return cmd.CombinedOutput()
}

// Installed says whether rabbitmq-server is on this machine, without
// installing it: tests check this and name the make target that installs it
// (`make deps`), so that no test runs apt-get.
func Installed() bool { return fileExists(serverBin) }

// EnsureInstalled installs Debian's rabbitmq-server with apt-get when it is missing.
//
// The package's postinst would start the system service, which on a fresh
// machine would grab 5672/4369 and become a second broker nobody asked for;
// a temporary policy-rc.d that answers 101 ("action forbidden") prevents
// that.
func EnsureInstalled(ctx context.Context) error {
	return systemInstaller().ensure(ctx)
}

func (in installer) ensure(ctx context.Context) error {
	if fileExists(in.serverBin) {
		return nil
	}
	if !in.isRoot {
		return fmt.Errorf("%w: %s is missing and installing it needs root; run: sudo apt-get install -y rabbitmq-server",
			ErrNotInstalled, in.serverBin)
	}
	lk, err := nodeproc.LockFile(ctx, in.aptLock, "broker")
	if err != nil {
		return err
	}
	defer lk.Unlock()
	// Another test binary may have installed it while we waited.
	if fileExists(in.serverBin) {
		return nil
	}
	logger().InfoContext(ctx, "rabbitmq-server missing; installing with apt-get", "path", in.serverBin)

	created, err := in.denyServiceStart()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotInstalled, err)
	}
	if created {
		defer os.Remove(in.policyRCD)
	}

	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	// apt's own lock timeout covers unattended-upgrades and friends.
	aptLock := []string{"-o", "DPkg::Lock::Timeout=300"}
	upd, updErr := in.run(ctx, env, "apt-get", append(aptLock, "update")...)
	if updErr != nil {
		// A stale index may still carry the package; the install says for sure.
		logger().WarnContext(ctx, "apt-get update failed; trying install anyway", "err", updErr, "output", lastLines(string(upd), 5))
	}
	out, err := in.run(ctx, env, "apt-get", append(aptLock, "install", "-y", "rabbitmq-server")...)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("installing rabbitmq-server: %w", context.Cause(ctx))
		}
		msg := fmt.Sprintf("apt-get install -y rabbitmq-server failed: %v\n%s", err, lastLines(string(out), 15))
		if updErr != nil {
			msg += fmt.Sprintf("\n(apt-get update had failed too: %v\n%s)", updErr, lastLines(string(upd), 5))
		}
		return fmt.Errorf("%w: %s", ErrNotInstalled, msg)
	}
	if !fileExists(in.serverBin) {
		return fmt.Errorf("%w: apt-get installed rabbitmq-server but %s is still missing (not a Debian layout?)",
			ErrNotInstalled, in.serverBin)
	}
	return nil
}

// denyServiceStart reports whether it created the policy file, so that a
// policy an administrator put there on purpose is never removed.
func (in installer) denyServiceStart() (bool, error) {
	f, err := os.OpenFile(in.policyRCD, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if errors.Is(err, os.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create %s: %w", in.policyRCD, err)
	}
	_, err = f.WriteString("#!/bin/sh\n# Temporary, written by edabench: do not start services during package install.\nexit 101\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(in.policyRCD)
		return false, fmt.Errorf("write %s: %w", in.policyRCD, err)
	}
	return true, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
