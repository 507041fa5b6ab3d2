package netns

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// require skips under -short (these change the kernel's network state)
// and fails, naming the fix, where namespaces cannot be made.
func require(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("makes network namespaces (root, iproute2); the -short tier changes no kernel state: run without -short")
	}
	if os.Geteuid() != 0 {
		t.Fatal("network namespaces need root (or CAP_NET_ADMIN): run the test as root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatal("ip (iproute2) not found: apt-get install -y iproute2 (make deps)")
	}
}

func newNet(t *testing.T) *Net {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	n, err := New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
		assertGone(t, n.ID())
	})
	return n
}

// leftovers lists the namespaces and host links with id in their name.
func leftovers(t *testing.T, id string) []string {
	t.Helper()
	names, err := ours()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, Prefix+id+"-") {
			out = append(out, n)
		}
	}
	if _, err := os.Stat(recordPath(id)); err == nil {
		out = append(out, recordPath(id))
	}
	return out
}

func assertGone(t *testing.T, id string) {
	t.Helper()
	if left := leftovers(t, id); len(left) > 0 {
		t.Errorf("net %s left behind: %v", id, left)
	}
}

// echoServer listens on addr inside nd and echoes every line back until
// the test ends; the load is bounded by the test's few lines.
func echoServer(t *testing.T, nd *Node) netip.AddrPort {
	t.Helper()
	var ln net.Listener
	err := nd.Do(func() error {
		var err error
		ln, err = net.Listen("tcp", netip.AddrPortFrom(nd.Addr(), 0).String())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String())
}

// echo sends one line on c and reads it back within d.
func echo(c net.Conn, d time.Duration) error {
	_ = c.SetDeadline(time.Now().Add(d))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "ping\n" {
		return errors.New("echo answered " + strconv.Quote(line))
	}
	return nil
}

func dialFrom(nd *Node, to netip.AddrPort, d time.Duration) (net.Conn, error) {
	var c net.Conn
	err := nd.Do(func() error {
		var err error
		c, err = net.DialTimeout("tcp", to.String(), d)
		return err
	})
	return c, err
}

// TestEchoAcrossCutAndHeal: two namespaces on one Net reach each other
// over TCP; cut, an open connection stalls and a new one fails; healed,
// both work again. The host reaches a node too (a client of a cluster).
func TestEchoAcrossCutAndHeal(t *testing.T) {
	require(t)
	ctx := t.Context()
	n := newNet(t)
	a, err := n.AddNode(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := n.AddNode(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	srv := echoServer(t, a)
	const wait = time.Second

	conn, err := dialFrom(b, srv, wait)
	if err != nil {
		t.Fatalf("b → a before the cut: %v", err)
	}
	defer conn.Close()
	if err := echo(conn, wait); err != nil {
		t.Fatalf("echo b → a before the cut: %v", err)
	}
	host, err := net.DialTimeout("tcp", srv.String(), wait)
	if err != nil {
		t.Fatalf("host → a: %v", err)
	}
	if err := echo(host, wait); err != nil {
		t.Fatalf("echo host → a: %v", err)
	}
	host.Close()

	if err := a.Cut(ctx); err != nil {
		t.Fatal(err)
	}
	if err := echo(conn, wait); err == nil {
		t.Error("echo on the open connection b → a worked across the cut")
	}
	if c, err := dialFrom(b, srv, wait); err == nil {
		c.Close()
		t.Error("a new connection b → a worked across the cut")
	}
	if c, err := net.DialTimeout("tcp", srv.String(), wait); err == nil {
		c.Close()
		t.Error("a new connection host → a worked across the cut")
	}

	if err := a.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := dialFrom(b, srv, 5*wait)
	if err != nil {
		t.Fatalf("b → a after the heal: %v", err)
	}
	defer c.Close()
	if err := echo(c, 5*wait); err != nil {
		t.Fatalf("echo b → a after the heal: %v", err)
	}
}

// TestNodeCommandRunsInside: a program started through a node's Command
// sees only the node's address (how a broker node is started inside).
func TestNodeCommandRunsInside(t *testing.T) {
	require(t)
	n := newNet(t)
	a, err := n.AddNode(t.Context(), "a")
	if err != nil {
		t.Fatal(err)
	}
	out, err := a.Command(t.Context(), "ip", "-o", "-4", "addr", "show").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !strings.Contains(string(out), " "+a.Addr().String()+"/") {
		t.Errorf("inside the namespace: %s, want %s", out, a.Addr())
	}
	if strings.Contains(string(out), " "+n.HostAddr().String()+"/") {
		t.Errorf("the host's address is visible inside the namespace: %s", out)
	}
}

func TestAddNodeRejectsBadNames(t *testing.T) {
	require(t)
	n := newNet(t)
	for _, name := range []string{"", "UPPER", "way-too-long-name", "a/b"} {
		if _, err := n.AddNode(t.Context(), name); err == nil || !strings.Contains(err.Error(), "1-8 characters") {
			t.Errorf("AddNode(%q) = %v, want a message naming the allowed names", name, err)
		}
	}
	if _, err := n.AddNode(t.Context(), "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.AddNode(t.Context(), "a"); err == nil || !strings.Contains(err.Error(), "already") {
		t.Errorf("a second node a: %v, want already", err)
	}
}

// childEnv makes this test binary, started by TestSweepAfterKill, the
// harness that is killed: it makes a Net with a node, prints the Net's id
// and waits to be killed.
const childEnv = "EDABENCH_NETNS_SWEEP_CHILD"

func TestSweepChild(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("the child half of TestSweepAfterKill; it runs only there")
	}
	n, err := New(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.AddNode(t.Context(), "k"); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("NET " + n.ID() + "\n")
	// Bounded: the parent kills it within seconds.
	time.Sleep(time.Minute)
	_ = n.Close(context.Background())
}

// TestSweepAfterKill: a harness SIGKILLed with a Net made leaves its
// namespaces, links and record; the next start's Sweep removes them and
// leaves a live owner's Net alone.
func TestSweepAfterKill(t *testing.T) {
	require(t)
	live := newNet(t)
	if _, err := live.AddNode(t.Context(), "l"); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-test.run=^TestSweepChild$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	id := ""
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "NET" {
			id = f[1]
			break
		}
	}
	if id == "" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatal("the child printed no net id")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	t.Cleanup(func() {
		// Whatever the assertions said, leave nothing behind.
		_, _ = Sweep(context.Background())
	})
	left := leftovers(t, id)
	if len(left) < 3 { // hub, node, record at least
		t.Fatalf("the killed child left %v; want its namespaces and record to test the sweep", left)
	}
	removed, err := Sweep(ctx)
	if err != nil {
		t.Fatalf("sweep: %v", err)
	}
	assertGone(t, id)
	for _, r := range removed {
		if strings.HasPrefix(r, Prefix+live.ID()+"-") {
			t.Errorf("sweep removed %s of a live owner", r)
		}
	}
	if _, err := os.Stat(filepath.Join("/run/netns", Prefix+live.ID()+"-l")); err != nil {
		t.Errorf("the live net's node namespace is gone after the sweep: %v", err)
	}
}
