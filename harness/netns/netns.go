// Package netns isolates processes at the kernel's network layer for
// faults that cut a node off: each Net is a hub namespace holding a
// bridge, one namespace per node wired to it by a veth pair, and one veth
// from the host to it, all addresses in a private 10.231.S.0/24 that exists
// only on those interfaces. Cutting a node sets its veth's hub end down:
// the node loses the other nodes and every client at once, whatever the
// protocol (a proxy would miss Erlang distribution, whose ports the nodes
// find through epmd).
//
// Everything is named edab-<id>-..., where id is the Net's random run id,
// and recorded (owner pid and start time) in StateDir before it is made,
// so that Sweep can remove what a killed process left behind: removal is
// deferred by the owner (Net.Close) and swept at the next start.
//
// Load may run inside these namespaces: they are made and removed by the
// run or test that uses them (the project's loopback-only rule allows it).
package netns

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Prefix starts the name of every namespace and interface this package
// makes, and nothing else's.
const Prefix = "edab-"

// StateDir holds one record per live Net (its owner), on the tmpfs that,
// like the namespaces themselves, does not survive a reboot.
const StateDir = "/run/edabench/netns"

// cmdTimeout bounds one ip(8) command: they take milliseconds, and a hung
// one must not hold a fault's undo forever.
const cmdTimeout = 10 * time.Second

// maxNodes keeps interface names within the kernel's 15 characters
// (edab-<6 hex>-<2 digits><role>).
const maxNodes = 99

var nodeName = regexp.MustCompile(`^[a-z0-9]{1,8}$`)

func logger() *slog.Logger { return slog.Default().With("component", "netns") }

// Net is one run's isolated network: a hub, the host's link to it, and
// the nodes added to it.
type Net struct {
	id     string
	subnet netip.Prefix

	mu     sync.Mutex
	nodes  []*Node
	closed bool
}

// Node is one namespace on a Net: a process started with its Command (or
// wrapped in its Exec prefix) has only the node's address and loopback.
type Node struct {
	net    *Net
	name   string
	ns     string
	hubEnd string // the veth end in the hub: down is cut
	addr   netip.Addr
}

// New sweeps what dead owners left (Sweep), then makes a Net: records its
// owner, then the hub namespace with its bridge and the host's veth into
// it. On failure nothing of it is left.
func New(ctx context.Context) (n *Net, err error) {
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, fmt.Errorf("netns: ip (iproute2) not found: install it (apt-get install -y iproute2, or make deps): %w", err)
	}
	// What killed runs left goes first, as each broker start sweeps
	// stale nodes; a failure to sweep does not stop this run.
	if _, err := Sweep(ctx); err != nil {
		logger().WarnContext(ctx, "could not remove every stale network namespace", "err", err)
	}
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("netns: run id: %w", err)
	}
	n = &Net{id: hex.EncodeToString(b[:])}
	if err := writeRecord(n.id); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = n.Close(context.WithoutCancel(ctx))
			n = nil
		}
	}()
	if n.subnet, err = freeSubnet(ctx, b[0]); err != nil {
		return nil, err
	}
	hub := n.hubNS()
	if err := run(ctx, "netns", "add", hub); err != nil {
		return nil, err
	}
	for _, args := range [][]string{
		{"-n", hub, "link", "set", "lo", "up"},
		{"-n", hub, "link", "add", "br0", "type", "bridge"},
		{"-n", hub, "link", "set", "br0", "up"},
		{"link", "add", n.hostLink(), "type", "veth", "peer", "name", n.hostLink() + "h", "netns", hub},
		{"-n", hub, "link", "set", n.hostLink() + "h", "master", "br0", "up"},
		{"addr", "add", prefixOf(n.subnet, 1).String(), "dev", n.hostLink()},
		{"link", "set", n.hostLink(), "up"},
	} {
		if err := run(ctx, args...); err != nil {
			return nil, err
		}
	}
	logger().InfoContext(ctx, "network made", "id", n.id, "subnet", n.subnet)
	return n, nil
}

// ID is the Net's run id, in every name it makes.
func (n *Net) ID() string { return n.id }

// HostAddr is the host's own address on the Net: what a node sees a
// client on the host come from.
func (n *Net) HostAddr() netip.Addr { return prefixOf(n.subnet, 1).Addr() }

func (n *Net) hubNS() string    { return Prefix + n.id + "-hub" }
func (n *Net) hostLink() string { return Prefix + n.id + "-h" }

// AddNode makes a namespace for a node named name (1-8 of a-z, 0-9), with
// loopback and one address on the Net, wired to the hub.
func (n *Net) AddNode(ctx context.Context, name string) (*Node, error) {
	if !nodeName.MatchString(name) {
		return nil, fmt.Errorf("netns: node name %q: use 1-8 characters of a-z and 0-9", name)
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil, errors.New("netns: AddNode on a closed Net")
	}
	for _, o := range n.nodes {
		if o.name == name {
			n.mu.Unlock()
			return nil, fmt.Errorf("netns: node %q already on net %s", name, n.id)
		}
	}
	idx := len(n.nodes) + 1
	host := byte(10 + idx)
	if idx > maxNodes {
		n.mu.Unlock()
		return nil, fmt.Errorf("netns: net %s has %d nodes, the most it can name", n.id, maxNodes)
	}
	nd := &Node{net: n, name: name, ns: Prefix + n.id + "-" + name,
		hubEnd: fmt.Sprintf("%s%s-%dh", Prefix, n.id, idx), addr: prefixOf(n.subnet, host).Addr()}
	// Listed before it exists, so that Close removes a half-made node.
	n.nodes = append(n.nodes, nd)
	n.mu.Unlock()
	nodeEnd := fmt.Sprintf("%s%s-%dn", Prefix, n.id, idx)
	hub := n.hubNS()
	for _, args := range [][]string{
		{"netns", "add", nd.ns},
		{"-n", nd.ns, "link", "set", "lo", "up"},
		{"link", "add", nodeEnd, "netns", nd.ns, "type", "veth", "peer", "name", nd.hubEnd, "netns", hub},
		{"-n", nd.ns, "addr", "add", prefixOf(n.subnet, host).String(), "dev", nodeEnd},
		{"-n", nd.ns, "link", "set", nodeEnd, "up"},
		{"-n", hub, "link", "set", nd.hubEnd, "master", "br0", "up"},
	} {
		if err := run(ctx, args...); err != nil {
			return nil, fmt.Errorf("netns: add node %q: %w", name, err)
		}
	}
	return nd, nil
}

// Name is the node's name on the Net; Namespace the kernel's name for its
// namespace; Addr its one address, where a server inside listens and
// clients on the host and other nodes reach it.
func (nd *Node) Name() string         { return nd.name }
func (nd *Node) Namespace() string    { return nd.ns }
func (nd *Node) Addr() netip.Addr     { return nd.addr }
func (nd *Node) Prefix() netip.Prefix { return prefixOf(nd.net.subnet, nd.addr.As4()[3]) }

// Exec is the command prefix that runs a program inside the node's
// namespace: append the program and its arguments (a broker node's start
// command is wrapped this way).
func (nd *Node) Exec() []string { return []string{"ip", "netns", "exec", nd.ns} }

// Command is exec.CommandContext of name and args inside the namespace.
func (nd *Node) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	argv := append(nd.Exec()[1:], append([]string{name}, args...)...)
	return exec.CommandContext(ctx, "ip", argv...)
}

// Cut takes the node off the Net: its hub-side link goes down, so nothing
// reaches it or leaves it (established connections stall, new ones time
// out) until Heal.
func (nd *Node) Cut(ctx context.Context) error {
	if err := run(ctx, "-n", nd.net.hubNS(), "link", "set", nd.hubEnd, "down"); err != nil {
		return fmt.Errorf("netns: cut node %q: %w", nd.name, err)
	}
	return nil
}

// Heal puts a cut node back on the Net.
func (nd *Node) Heal(ctx context.Context) error {
	if err := run(ctx, "-n", nd.net.hubNS(), "link", "set", nd.hubEnd, "up"); err != nil {
		return fmt.Errorf("netns: heal node %q: %w", nd.name, err)
	}
	return nil
}

// Close removes every namespace and link of the Net, then its record. Safe
// on every exit path and more than once; a process still inside a node's
// namespace keeps only that namespace alive, unnamed, until it exits.
func (n *Net) Close(ctx context.Context) error {
	n.mu.Lock()
	n.closed = true
	nodes := n.nodes
	n.nodes = nil
	n.mu.Unlock()
	ctx = context.WithoutCancel(ctx)
	var errs []error
	for _, nd := range nodes {
		errs = append(errs, removeNS(ctx, nd.ns))
	}
	errs = append(errs, removeNS(ctx, n.hubNS()), removeLink(ctx, n.hostLink()))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("netns: close net %s: %w", n.id, err)
	}
	if err := os.Remove(recordPath(n.id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("netns: close net %s: %w", n.id, err)
	}
	return nil
}

// prefixOf is host number host of p (a /24), with p's length.
func prefixOf(p netip.Prefix, host byte) netip.Prefix {
	a := p.Addr().As4()
	a[3] = host
	return netip.PrefixFrom(netip.AddrFrom4(a), p.Bits())
}

// freeSubnet picks 10.231.S.0/24 with no host address in it yet, starting
// from S=seed so that parallel runs rarely probe the same ones.
func freeSubnet(ctx context.Context, seed byte) (netip.Prefix, error) {
	out, err := output(ctx, "-o", "-4", "addr", "show")
	if err != nil {
		return netip.Prefix{}, err
	}
	for i := range 256 {
		s := seed + byte(i)
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 231, s, 0}), 24)
		if !strings.Contains(out, fmt.Sprintf(" 10.231.%d.", s)) {
			return p, nil
		}
	}
	return netip.Prefix{}, errors.New("netns: every 10.231.S.0/24 is in use on the host: run Sweep (edabench starts do) or remove stale edab-* links")
}

func removeNS(ctx context.Context, name string) error {
	if _, err := os.Stat(filepath.Join("/run/netns", name)); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return run(ctx, "netns", "del", name)
}

func removeLink(ctx context.Context, name string) error {
	if _, err := os.Stat(filepath.Join("/sys/class/net", name)); errors.Is(err, os.ErrNotExist) {
		return nil // gone with its peer's namespace
	}
	return run(ctx, "link", "del", name)
}

func run(ctx context.Context, args ...string) error {
	_, err := output(ctx, args...)
	return err
}

func output(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("ip %s: %w: %s (creating namespaces needs root or CAP_NET_ADMIN)",
			strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}
