package runner

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/brokernodes"
	"github.com/edabench/edabench/harness/results"
)

// environment records what the run ran on.
func environment(ctx context.Context) results.Environment {
	e := results.Environment{GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU()}
	e.Hostname, _ = os.Hostname()
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		e.Kernel = utsString(u.Release[:])
	}
	e.CPUModel = procField("/proc/cpuinfo", "model name")
	if kb, err := strconv.ParseInt(strings.Fields(procField("/proc/meminfo", "MemTotal") + " 0")[0], 10, 64); err == nil {
		e.MemoryMiB = kb / 1024
	}
	e.Edabench = edabenchVersion(ctx)
	return e
}

// edabenchVersion names the code that ran. The binary's own build info comes
// first: an installed edabench may run from any directory, where the working
// directory's git history is some other project's or none. `go build` in the
// checkout stamps the commit; `go install ...@vX` the module version. Test
// binaries and `go run` carry neither, so then a checkout of edabench itself
// around the working directory is asked.
func edabenchVersion(ctx context.Context) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := buildVersion(bi); v != "" {
			return v
		}
	}
	top, err := exec.CommandContext(ctx, "git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return ""
	}
	root := strings.TrimSpace(string(top))
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !strings.HasPrefix(string(mod), "module "+module+"\n") {
		return ""
	}
	out, err := exec.CommandContext(ctx, "git", "-C", root, "describe", "--always", "--dirty").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// module is edabench's module path, which a checkout's go.mod declares.
const module = "github.com/edabench/edabench"

func buildVersion(bi *debug.BuildInfo) string {
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return ""
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}

// startNode starts (or reuses) n, else broker's default cluster of nodes
// members when nodes > 1, else its default node.
func startNode(ctx context.Context, broker string, nodes int, n brokernode.Node) (brokernode.Node, error) {
	if n != nil {
		return n, n.Start(ctx)
	}
	kind, err := brokernodes.Builtin().Lookup(broker)
	if err != nil {
		return nil, err
	}
	if nodes > 1 {
		if kind.StartCluster == nil {
			return nil, fmt.Errorf("broker %s has no private cluster: drop --cluster (brokers.nodes)", broker)
		}
		return kind.StartCluster(ctx, nodes)
	}
	return kind.Start(ctx)
}

// openDefaultNode is a handle on the default broker's default node, not
// started; nil when it cannot be described (its configuration is invalid).
func openDefaultNode() brokernode.Node {
	kind, err := brokernodes.Builtin().Lookup(brokernode.Default)
	if err != nil {
		return nil
	}
	n, err := kind.Open()
	if err != nil {
		return nil
	}
	return n
}

func utsString(b []int8) string {
	var sb strings.Builder
	for _, c := range b {
		if c == 0 {
			break
		}
		sb.WriteByte(byte(c))
	}
	return sb.String()
}

func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Environment is what a run records about the machine (and the broker's
// version), for tools that report figures outside a run's summary.json.
func Environment(ctx context.Context) results.Environment {
	e := environment(ctx)
	if n := openDefaultNode(); n != nil {
		e.RabbitMQ = n.Version(ctx)
	}
	return e
}
