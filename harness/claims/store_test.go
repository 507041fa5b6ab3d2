package claims

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/harness/nodeproc"
)

func TestWriteReadRemove(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "claims")
	if recs, err := Read(dir); err != nil || len(recs) != 0 {
		t.Fatalf("Read(missing dir) = %v, %v; want nothing, no error", recs, err)
	}
	tp := brokernode.Topology{Prefixes: []string{"p1"}}
	path, err := Write(dir, tp)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "garbage.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, err := Read(dir)
	if err == nil {
		t.Error("Read: no error for an unparseable record")
	}
	if len(recs) != 1 || recs[0].Path != path || recs[0].PID != os.Getpid() || !recs[0].Alive() ||
		!slices.Equal(recs[0].Topology.Prefixes, tp.Prefixes) || time.Since(recs[0].Created) > time.Hour {
		t.Fatalf("Read = %+v, want one live record of this process claiming %v at %s", recs, tp.Prefixes, path)
	}
	if err := Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := Remove(path); err != nil {
		t.Errorf("Remove of a removed record: %v, want nil", err)
	}
}

func TestLiveTopologies(t *testing.T) {
	self := os.Getpid()
	ticks, err := nodeproc.StartTicks(self)
	if err != nil {
		t.Fatal(err)
	}
	live := Record{PID: self, StartTicks: ticks, Path: "a", Topology: brokernode.Topology{Prefixes: []string{"live"}}}
	own := Record{PID: self, StartTicks: ticks, Path: "own", Topology: brokernode.Topology{Prefixes: []string{"own"}}}
	dead := Record{PID: self, StartTicks: ticks + 1, Path: "b", Topology: brokernode.Topology{Prefixes: []string{"dead"}}}
	got := LiveTopologies([]Record{live, own, dead}, "own")
	if len(got) != 1 || got[0].Prefixes[0] != "live" {
		t.Fatalf("LiveTopologies = %+v, want only the live one that is not the caller's own", got)
	}
}

func TestUnderPrefix(t *testing.T) {
	prefixes := []string{"eb1", ""}
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"eb1", true},
		{"eb1.payment", true},
		{"eb1.payment.dlq", true},
		{"eb10.payment", false},
		{"eb1x", false},
		{"", false}, // an empty prefix claims nothing
		{"other", false},
	} {
		if got := UnderPrefix(tc.name, prefixes); got != tc.want {
			t.Errorf("UnderPrefix(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Claim writes the record before returning; release deletes through del
// (given the record's path) and then removes the record, unless del failed.
func TestClaimRelease(t *testing.T) {
	for _, tc := range []struct {
		name        string
		tp          brokernode.Topology
		delErr      error
		wantRecords int // after release
		wantDel     bool
	}{
		{"released", brokernode.Topology{Prefixes: []string{"p"}}, nil, 0, true},
		{"delete failed: record stays", brokernode.Topology{Prefixes: []string{"p"}}, errors.New("boom"), 1, true},
		{"empty topology: nothing", brokernode.Topology{}, nil, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			deleted := false
			release := Claim(context.Background(), slog.Default(), "test", "", dir, tc.tp, func(_ context.Context, own string) error {
				deleted = true
				if recs, _ := Read(dir); len(recs) != 1 || recs[0].Path != own {
					t.Errorf("del: own = %q, records %+v; want the one record's path", own, recs)
				}
				return tc.delErr
			})
			if recs, _ := Read(dir); len(recs) != map[bool]int{true: 0, false: 1}[tc.tp.Empty()] {
				t.Fatalf("before release: %d records", len(recs))
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // release must still delete with its caller's ctx done
			release(ctx)
			if recs, _ := Read(dir); len(recs) != tc.wantRecords || deleted != tc.wantDel {
				t.Errorf("after release: %d records, deleted %v; want %d, %v", len(recs), deleted, tc.wantRecords, tc.wantDel)
			}
		})
	}
}
