package kafka

import (
	"errors"
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
)

// TestBacklogs: per partition, the log end minus the group's commit, or
// minus the log start where it committed nothing or its commit is older
// than the log start; a partition's error fails the read.
func TestBacklogs(t *testing.T) {
	listed := func(offs map[int32]int64) kadm.ListedOffsets {
		m := map[int32]kadm.ListedOffset{}
		for p, o := range offs {
			m[p] = kadm.ListedOffset{Topic: "q", Partition: p, Offset: o}
		}
		return kadm.ListedOffsets{"q": m}
	}
	commits := func(offs map[int32]int64) kadm.OffsetResponses {
		m := map[int32]kadm.OffsetResponse{}
		for p, o := range offs {
			m[p] = kadm.OffsetResponse{Offset: kadm.Offset{Topic: "q", Partition: p, At: o}}
		}
		return kadm.OffsetResponses{"q": m}
	}
	for _, tc := range []struct {
		name                string
		ends, starts, comms map[int32]int64
		want                []PartitionBacklog
	}{
		{"committed", map[int32]int64{0: 25, 1: 24}, map[int32]int64{0: 0, 1: 0}, map[int32]int64{0: 10, 1: 24},
			[]PartitionBacklog{{"q", 0, 10, 0, 25, 15}, {"q", 1, 24, 0, 24, 0}}},
		{"no commit: from the log start", map[int32]int64{0: 9, 1: 4}, map[int32]int64{0: 3, 1: 0}, map[int32]int64{1: 2},
			[]PartitionBacklog{{"q", 0, -1, 3, 9, 6}, {"q", 1, 2, 0, 4, 2}}},
		{"a commit -1 is none", map[int32]int64{0: 9}, map[int32]int64{0: 0}, map[int32]int64{0: -1},
			[]PartitionBacklog{{"q", 0, -1, 0, 9, 9}}},
		{"commit before the log start", map[int32]int64{0: 9}, map[int32]int64{0: 5}, map[int32]int64{0: 2},
			[]PartitionBacklog{{"q", 0, 2, 5, 9, 4}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := backlogs(listed(tc.ends), listed(tc.starts), commits(tc.comms))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
	bad := listed(map[int32]int64{0: 9})
	bad["q"][1] = kadm.ListedOffset{Topic: "q", Partition: 1, Err: errors.New("not leader")}
	if _, err := backlogs(bad, listed(nil), commits(nil)); err == nil {
		t.Error("a partition's error: want the read to fail")
	}
}
