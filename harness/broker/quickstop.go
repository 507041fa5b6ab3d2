package broker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// dropStatsHandlerTimeout bounds the call into the node before its stop:
// it takes milliseconds (erl_call is a C program, no Erlang VM to boot);
// a node that does not answer in this time is stopped the slow way.
const dropStatsHandlerTimeout = 3 * time.Second

// dropStatsHandler runs, ahead of the stop, the cleanup RabbitMQ declares
// for the management agent's rabbit_event handler (its boot step's
// gen_event:delete_handler). Left in place, the handler is removed during
// the stop itself, when the application controller is busy stopping the
// rabbit application: its terminate calls application:set_env, a call to
// that same controller, which hangs until gen_server's 5 s default
// timeout. Every clean stop of 3.10.8 (SIGTERM or `rabbitmqctl stop`) waits
// those 5 s after "Management plugin: to stop collect_statistics." (fixed
// upstream in 3.13, rabbitmq-server#11070). Removed beforehand, the
// handler's terminate finds the controller free and the stop takes about
// one second. Nothing the harness reads is lost: the node is about to stop,
// and the next boot adds the handler again.
func (n *Node) dropStatsHandler(ctx context.Context) error {
	bin, err := erlCallBinary()
	if err != nil {
		return err
	}
	cookie, err := n.cookie()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, dropStatsHandlerTimeout)
	defer cancel()
	// -address reaches the node's distribution port directly, without
	// epmd; the cookie goes as an argument, as rabbitmqctl --erlang-cookie
	// does, and the node listens on loopback only.
	cmd := exec.CommandContext(ctx, bin, "-address", "127.0.0.1:"+strconv.Itoa(n.cfg.DistPort), "-c", cookie,
		"-timeout", strconv.Itoa(int(dropStatsHandlerTimeout/time.Second)),
		"-a", "gen_event delete_handler [rabbit_event, rabbit_mgmt_db_handler, []]")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("erl_call: %w: %s", err, strings.TrimSpace(string(out)))
	}
	// ok, or {error,module_not_found} when the handler is already gone
	// (a stop retried): either way nothing is left to wait for.
	if r := strings.TrimSpace(string(out)); r != "ok" && !strings.Contains(r, "module_not_found") {
		return fmt.Errorf("erl_call: delete the handler: %s", r)
	}
	return nil
}

// cookie is the node's Erlang cookie: Config.Cookie, or the one the node
// wrote to HOME=DataDir on its first boot.
func (n *Node) cookie() (string, error) {
	if n.cfg.Cookie != "" {
		return n.cfg.Cookie, nil
	}
	b, err := os.ReadFile(filepath.Join(n.cfg.DataDir, ".erlang.cookie"))
	if err != nil {
		return "", fmt.Errorf("read the node's Erlang cookie: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// erlCallBinary finds erl_call, which erlang-base (a dependency of the
// rabbitmq-server package) ships outside PATH.
func erlCallBinary() (string, error) {
	if p, err := exec.LookPath("erl_call"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/lib/erlang/bin/erl_call"); err == nil {
		return "/usr/lib/erlang/bin/erl_call", nil
	}
	if m, _ := filepath.Glob("/usr/lib/erlang/lib/erl_interface-*/bin/erl_call"); len(m) > 0 {
		return m[len(m)-1], nil
	}
	return "", errors.New("erl_call not found (it comes with erlang-base)")
}
