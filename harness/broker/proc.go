package broker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"
)

func logger() *slog.Logger { return slog.Default().With("component", "broker") }

// isOurBeam guards against pid reuse and against a pid file copied from
// elsewhere: the node's command line carries "-home DataDir" because we set
// HOME=DataDir, which no other beam on the machine has.
func isOurBeam(dataDir string) func(args []string) bool {
	return func(args []string) bool {
		if len(args) == 0 || !strings.Contains(args[0], "beam") {
			return false
		}
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "-home" && args[i+1] == dataDir {
				return true
			}
		}
		return false
	}
}

// ErrPortInUse is wrapped by Start when one of the node's ports is taken by
// something that is not this node.
var ErrPortInUse = errors.New("broker port in use")

// epmdNames asks an epmd for its registered nodes (NAMES_REQ). It doubles as
// "is this port an epmd at all?": anything else will not answer this way.
func epmdNames(ctx context.Context, port int) (map[string]int, error) {
	// A real epmd answers in microseconds; anything slower is not one.
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if _, err := c.Write([]byte{0, 1, 'n'}); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(c)
	if err != nil {
		return nil, err
	}
	if len(b) < 4 || binary.BigEndian.Uint32(b[:4]) != uint32(port) {
		return nil, fmt.Errorf("port %d does not speak the epmd protocol", port)
	}
	names := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(b[4:]))
	for sc.Scan() {
		// "name edabench at port 25682"
		f := strings.Fields(sc.Text())
		if len(f) == 5 && f[0] == "name" && f[2] == "at" && f[3] == "port" {
			p, _ := strconv.Atoi(f[4])
			names[f[1]] = p
		}
	}
	return names, nil
}
