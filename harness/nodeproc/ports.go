package nodeproc

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Port is one of a node's TCP ports, with what the messages call it.
type Port struct {
	Role string // human name used in errors, e.g. "AMQP", "controller"
	Env  string // the variable that moves it
	Port int
}

// CheckPorts reports the first port that is no TCP port or that two roles
// share; prefix names the config, e.g. "kafka config".
func CheckPorts(prefix string, ports []Port) error {
	seen := map[int]string{}
	for _, p := range ports {
		if p.Port < 1 || p.Port > 65535 {
			return fmt.Errorf("%s: %s port %d is not a TCP port (set %s)", prefix, p.Role, p.Port, p.Env)
		}
		if other, dup := seen[p.Port]; dup {
			return fmt.Errorf("%s: %s and %s both use port %d (set %s)", prefix, other, p.Role, p.Port, p.Env)
		}
		seen[p.Port] = p.Role
	}
	return nil
}

// PortFree binds as the node will (127.0.0.1). Go sets SO_REUSEADDR, which
// on Linux still refuses a port that has a listener, so TIME_WAIT
// leftovers of the node's own last run do not count as in use.
func PortFree(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return l.Close()
}

// PortInUse is the error for a port PortFree refused (cause): it wraps
// sentinel (the node's ErrPortInUse), names holder ("pid N (comm)", see
// Listener; "" for another process) and the fix: the variable that moves
// the port, or stopping the holder.
func PortInUse(sentinel error, p Port, holder string, cause error) error {
	who := "another process"
	if holder != "" {
		who = holder
	}
	return fmt.Errorf("%w: %s port %d is in use by %s; set %s (or the Config field) to a free port, "+
		"or stop that process (find it with: ss -ltnp 'sport = :%d'; bind error: %v)",
		sentinel, p.Role, p.Port, who, p.Env, p.Port, cause)
}

// Listener finds the process listening on a TCP port, as "pid N (comm)",
// "" when it cannot tell (another user's process, a listener in another
// network namespace): a port-in-use message names who to stop.
func Listener(port int) string {
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
