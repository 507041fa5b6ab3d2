package kafkanode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ConsumerGroupTool is the main class of Kafka's kafka-consumer-groups.sh,
// from the kafka-tools jar `make kafka` fetches with the broker.
const ConsumerGroupTool = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"

// toolsJarGlob is the jar that holds ConsumerGroupTool; a cache fetched
// before the pom listed it lacks it.
const toolsJarGlob = "kafka-tools-[0-9]*.jar"

// groupToolTimeout bounds one run of the tool: a JVM start (about a
// second) and a few admin requests.
const groupToolTimeout = time.Minute

// GroupPartition is one row of the consumer-group tool's --describe: a
// partition the group consumes, as Kafka itself reports it.
type GroupPartition struct {
	Topic     string
	Partition int32
	// Committed is the group's committed offset (CURRENT-OFFSET), -1 when
	// the group committed nothing on the partition (the tool prints "-").
	Committed int64
	End       int64 // LOG-END-OFFSET
	// Lag is End minus Committed (LAG), -1 when the tool prints "-"
	// (nothing committed).
	Lag int64
}

// DescribeGroup runs Kafka's own consumer-group tool, from the node's
// jars, on group: the reference a test checks the driver's backlog
// against. A group Kafka does not know is an error naming it.
func (n *Node) DescribeGroup(ctx context.Context, group string) ([]GroupPartition, error) {
	if m, _ := filepath.Glob(filepath.Join(n.cfg.LibsDir, toolsJarGlob)); len(m) == 0 {
		return nil, fmt.Errorf("%w: no %s in %s (fetched before the pom listed kafka-tools): run `make kafka`, which refetches once",
			ErrNotFetched, toolsJarGlob, n.cfg.LibsDir)
	}
	java, err := Java()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, groupToolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, java, "-cp", filepath.Join(n.cfg.LibsDir, "*"), ConsumerGroupTool,
		"--bootstrap-server", n.Addr(), "--describe", "--group", group)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// The tool exits 0 even when it fails: the table, or its absence, is
	// what says.
	runErr := cmd.Run()
	rows, err := ParseDescribeGroup(stdout.String())
	if err != nil {
		return nil, fmt.Errorf("kafka: %s --describe --group %s: %w (exit: %v; stderr: %s)",
			ConsumerGroupTool, group, err, runErr, lastLines(stderr.String(), 5))
	}
	return rows, nil
}

// describeColumns are the --describe columns read, by header name: the
// tool pads them to its widest value, so positions are not fixed.
var describeColumns = []string{"TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG"}

// ParseDescribeGroup reads the tool's --describe table. Output without
// the table (the tool prints its errors to stdout, exit 0) is an error
// quoting it.
func ParseDescribeGroup(out string) ([]GroupPartition, error) {
	lines := strings.Split(out, "\n")
	col := map[string]int{}
	var rows []GroupPartition
	for i, line := range lines {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if f[0] == "GROUP" {
			for j, name := range f {
				col[name] = j
			}
			for _, c := range describeColumns {
				if _, ok := col[c]; !ok {
					return nil, fmt.Errorf("line %d: header %q has no %s column", i+1, line, c)
				}
			}
			continue
		}
		if len(col) == 0 {
			continue // "Consumer group 'G' has no active members." and the like
		}
		r, err := describeRow(f, col)
		if err != nil {
			return nil, fmt.Errorf("line %d %q: %w", i+1, line, err)
		}
		rows = append(rows, r)
	}
	if len(col) == 0 {
		return nil, fmt.Errorf("no --describe table in the tool's output: %q", strings.TrimSpace(lastLines(out, 3)))
	}
	return rows, nil
}

// describeRow is one table row, "-" read as -1.
func describeRow(f []string, col map[string]int) (GroupPartition, error) {
	num := func(name string) (int64, error) {
		i := col[name]
		if i >= len(f) {
			return 0, fmt.Errorf("no %s value", name)
		}
		if f[i] == "-" {
			return -1, nil
		}
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s %q: %w", name, f[i], err)
		}
		return v, nil
	}
	r := GroupPartition{Topic: f[col["TOPIC"]]}
	var errs []error
	p, err := num("PARTITION")
	errs = append(errs, err)
	r.Partition = int32(p)
	r.Committed, err = num("CURRENT-OFFSET")
	errs = append(errs, err)
	r.End, err = num("LOG-END-OFFSET")
	errs = append(errs, err)
	r.Lag, err = num("LAG")
	errs = append(errs, err)
	return r, errors.Join(errs...)
}
