package kafkanode

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestParseDescribeGroup reads the consumer-group tool's --describe
// output as the tool prints it (testdata/: a live group, a group with no
// members and a partition it never committed on, the tool's error, which
// it prints to stdout with exit 0, and a malformed row).
func TestParseDescribeGroup(t *testing.T) {
	p := "ebc54a31ce.payment"
	for _, tc := range []struct {
		file    string
		want    []GroupPartition
		wantErr string
	}{
		{file: "describe-active.txt", want: []GroupPartition{
			{Topic: p, Partition: 0, Committed: 2017, End: 2017, Lag: 0},
			{Topic: p, Partition: 1, Committed: 2050, End: 2050, Lag: 0},
			{Topic: p, Partition: 2, Committed: 1979, End: 1979, Lag: 0},
		}},
		{file: "describe-inactive.txt", want: []GroupPartition{
			{Topic: "kafkatest-1.in", Partition: 0, Committed: 20, End: 35, Lag: 15},
			{Topic: "kafkatest-1.in", Partition: 1, Committed: -1, End: 4, Lag: -1},
		}},
		{file: "describe-nogroup.txt", wantErr: "GroupIdNotFoundException"},
		{file: "describe-badrow.txt", wantErr: `CURRENT-OFFSET "twenty"`},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseDescribeGroup(string(b))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// The pom `make kafka` fetches with lists the jar DescribeGroup runs, and
// the Makefile's marker holds the pom's hash, so a cache fetched before
// the jar was listed is fetched again once.
func TestPomFetchesTheGroupTool(t *testing.T) {
	pom, err := os.ReadFile("../../deploy/kafka/pom.xml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(pom), "<artifactId>kafka-tools</artifactId>") {
		t.Errorf("deploy/kafka/pom.xml does not list org.apache.kafka:kafka-tools, which holds %s", ConsumerGroupTool)
	}
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mk), "sha256sum deploy/kafka/pom.xml") || !strings.Contains(string(mk), `"$(KAFKA_POM_SUM)" > "$(KAFKA_LIBS)/.fetched"`) {
		t.Error("the Makefile's kafka target no longer records the pom's hash in the .fetched marker: a changed pom would not refetch")
	}
}

// A cache fetched before the pom listed kafka-tools has no group tool:
// DescribeGroup says so and names the fix, without starting a JVM.
func TestDescribeGroupWithoutTheTool(t *testing.T) {
	n := &Node{cfg: Config{LibsDir: t.TempDir(), Port: 1}}
	_, err := n.DescribeGroup(t.Context(), "g")
	if !errors.Is(err, ErrNotFetched) || !strings.Contains(err.Error(), "make kafka") {
		t.Fatalf("DescribeGroup with no kafka-tools jar = %v, want ErrNotFetched naming make kafka", err)
	}
}
