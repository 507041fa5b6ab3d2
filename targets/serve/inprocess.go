package serve

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/edabench/edabench/harness/supervise"
)

// InProcess runs Main with args in this process, for a test that needs a
// real twin service without building and starting a binary. It returns what
// the service announced once it serves, and stop, which shuts it down and
// returns Main's exit status. stderr gets the service's logs.
func InProcess(ctx context.Context, args []string, stderr io.Writer) (supervise.Ready, func() int, error) {
	ctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, "target", args, pw, stderr)
		pw.Close()
	}()
	stop := func() int { cancel(); return <-done }
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), supervise.ReadyPrefix)
		if !ok {
			continue
		}
		var r supervise.Ready
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			stop()
			return supervise.Ready{}, nil, fmt.Errorf("ready line %q: %w", line, err)
		}
		// Main writes nothing more to stdout, but a write must not block it.
		go io.Copy(io.Discard, pr)
		return r, stop, nil
	}
	code := stop()
	return supervise.Ready{}, nil, errors.New("the service exited with status " + fmt.Sprint(code) + " before it announced itself; see its log")
}
