package eda

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/broker"
	"github.com/edabench/edabench/harness/broker/brokertest"
	"github.com/edabench/edabench/targets/bus/rabbitmq"
	"github.com/edabench/edabench/xk6-eda/internal/k6build"
)

// k6 runs bin/k6 (built as `make k6` builds it) with args and extra
// environment variables, and returns its combined output.
func k6(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds k6 with the extension and runs it: not with -short")
	}
	bin, err := buildK6()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "K6_NO_USAGE_REPORT=true")
	cmd.Env = append(cmd.Env, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	return out.String(), err
}

// `k6 version` names the extension by its module and release version, as
// the k6 extension registry and `use k6 with k6/x/eda >= ...` read it.
func TestK6VersionListsTheExtension(t *testing.T) {
	out, err := k6(t, nil, "version")
	if err != nil {
		t.Fatalf("k6 version: %v\n%s", err, out)
	}
	want := fmt.Sprintf("%s %s, %s [js]", k6build.ExtensionModule, k6build.Version, ImportPath)
	if !strings.Contains(out, want) {
		t.Errorf("k6 version:\n%s\nwant a line %q", out, want)
	}
}

// test/smoke.test.js, the registry's dependency-free check that the module
// loads, runs with no twin and no broker.
func TestSmokeTestScript(t *testing.T) {
	out, err := k6(t, nil, "run", "--quiet", filepath.Join("test", "smoke.test.js"))
	if err != nil {
		t.Fatalf("k6 run test/smoke.test.js: %v\n%s", err, out)
	}
}

// examples are the scripts of examples/ (common.js is their library, not a
// test).
func examples(t *testing.T) []string {
	t.Helper()
	all, err := filepath.Glob(filepath.Join("examples", "*.js"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range all {
		if filepath.Base(f) != "common.js" {
			out = append(out, f)
		}
	}
	if len(out) < 5 {
		t.Fatalf("found only %v in examples/", out)
	}
	return out
}

// `k6 inspect` and `k6 archive` run a script's init context: for every
// example and every twin they succeed with nothing listening at any address
// the script is given, and create nothing (not even the hdr directory).
func TestInspectAndArchiveNeedNoTwin(t *testing.T) {
	dir := t.TempDir()
	hdr := filepath.Join(dir, "hdr")
	dead := func() string { return closedAddr(t) }
	for _, twin := range []string{"rr", "eda", "hybrid"} {
		env := []string{"TWIN=" + twin, "GRPC=" + dead(), "AMQP=amqp://guest:guest@" + dead() + "/",
			"MGMT=http://" + dead(), "METRICS=http://" + dead() + "/metrics", "PREFIX=k6inspect", "HDR=" + hdr}
		inspectAndArchive(t, env, twin, dir)
	}
	if _, err := os.Stat(hdr); err == nil {
		t.Errorf("the init context created the hdr directory %s", hdr)
	}
}

// The same with the broker up and the scripts pointed at it: no queue or
// exchange under the test's prefix appears on it (the completion queue is
// declared by the first order, not the constructor).
func TestInspectAndArchiveLeaveNothingOnTheBroker(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the private broker: not with -short")
	}
	node := brokertest.Shared(t)
	prefix := "k6inspect" + strconv.FormatInt(time.Now().UnixNano()%1e9, 10)
	dir := t.TempDir()
	for _, twin := range []string{"eda", "hybrid"} {
		env := []string{"TWIN=" + twin, "GRPC=" + closedAddr(t), "AMQP=" + node.AMQPURL(), "MGMT=" + node.MgmtURL(), "PREFIX=" + prefix}
		inspectAndArchive(t, env, twin, dir)
	}
	left, err := brokerObjects(t.Context(), node, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("inspect and archive left on the broker: %v", left)
	}
}

func inspectAndArchive(t *testing.T, env []string, twin, dir string) {
	t.Helper()
	for _, script := range examples(t) {
		name := strings.TrimSuffix(filepath.Base(script), ".js")
		if out, err := k6(t, env, "inspect", script); err != nil {
			t.Errorf("TWIN=%s k6 inspect %s: %v\n%s", twin, script, err, out)
		}
		tar := filepath.Join(dir, twin+"-"+name+".tar")
		if out, err := k6(t, env, "archive", "-O", tar, script); err != nil {
			t.Errorf("TWIN=%s k6 archive %s: %v\n%s", twin, script, err, out)
		} else if fi, err := os.Stat(tar); err != nil || fi.Size() == 0 {
			t.Errorf("TWIN=%s k6 archive %s wrote no archive (%v)", twin, script, err)
		}
	}
}

// brokerObjects lists the queues and exchanges whose names start with
// prefix, from the management API.
func brokerObjects(ctx context.Context, node *broker.Node, prefix string) ([]string, error) {
	var found []string
	queues, err := node.QueueDepths(ctx)
	if err != nil {
		return nil, err
	}
	for name := range queues {
		if strings.HasPrefix(name, prefix) {
			found = append(found, "queue "+name)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, node.MgmtURL()+"/api/exchanges?columns=name", nil)
	if err != nil {
		return nil, err
	}
	u, p := rabbitmq.Credentials(node.AMQPURL())
	req.SetBasicAuth(u, p)
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("management API: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("management API /api/exchanges: %s", resp.Status)
	}
	var exchanges []struct {
		Name string `json:"name"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&exchanges); err != nil {
		return nil, fmt.Errorf("management API /api/exchanges: %w", err)
	}
	for _, e := range exchanges {
		if strings.HasPrefix(e.Name, prefix) {
			found = append(found, "exchange "+e.Name)
		}
	}
	return found, nil
}

// The extension's warnings follow k6's --log-format and --log-output: here
// the management API is dead, which the gauge sampler warns about once.
func TestLogsFollowK6LogOptions(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the EDA twin and the broker: not with -short")
	}
	r := twin(t, "eda")
	logFile := filepath.Join(t.TempDir(), "k6.log")
	env := append(r.Env(), "MGMT=http://"+closedAddr(t), "DURATION=3s", "RATE=5")
	out, err := k6(t, env, "run", "--quiet", "--log-format", "json", "--log-output", "file="+logFile, filepath.Join("examples", "smoke.js"))
	if err != nil {
		t.Fatalf("k6 run: %v\n%s", err, out)
	}
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for line := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("--log-format json, yet a line of %s is not JSON: %q", logFile, line)
		}
		if rec["component"] == "xk6-eda" && rec["level"] == "warning" && strings.Contains(fmt.Sprint(rec["msg"]), "management API unavailable") {
			found = true
			if rec["twin"] != "eda" {
				t.Errorf("the warning lacks twin=eda: %v", rec)
			}
		}
	}
	if !found {
		t.Errorf("no xk6-eda warning about the management API in %s:\n%s", logFile, b)
	}
	if strings.Contains(out, "management API unavailable") {
		t.Errorf("the warning went to the console too, not only to --log-output:\n%s", out)
	}
}

// With nothing at the gateway's address, k6 run ends at the first order
// (exit 108, aborted) with the address in the message, not an exception
// per iteration.
func TestRunAgainstNoTwinAborts(t *testing.T) {
	addr := closedAddr(t)
	out, err := k6(t, []string{"TWIN=rr", "GRPC=" + addr, "DURATION=5s"}, "run", "--quiet", "--address", "", filepath.Join("examples", "smoke.js"))
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 108 {
		t.Fatalf("k6 run against no twin: %v, want exit status 108 (aborted)\n%s", err, out)
	}
	want := "gRPC address " + addr + " is unreachable"
	if n := strings.Count(out, want); n != 1 {
		t.Errorf("the output says %q %d times, want once:\n%s", want, n, out)
	}
}
