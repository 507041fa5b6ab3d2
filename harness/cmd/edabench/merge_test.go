package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// shardFolder writes a shard's summary.json alone: enough for merge to
// read its shard block and refuse it before any log is opened.
func shardFolder(t *testing.T, index, count int, hash string, seed int) string {
	t.Helper()
	dir := t.TempDir()
	body := fmt.Sprintf(`{"schema_version":1,"run_id":"r%d","twins":{"rr":{}},"scenario":{"name":"smoke"},
"shard":{"index":%d,"count":%d,"scenario_hash":%q,"seed":%d,"start_at":"2026-12-05T08:00:00Z"}}`, index, index, count, hash, seed)
	if err := os.WriteFile(filepath.Join(dir, "summary.json"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestMergeRefusesShardsThatDoNotBelongTogether(t *testing.T) {
	one := shardFolder(t, 1, 2, "aaa", 1)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no folder", []string{"merge"}, "no run folder given"},
		{"no summary", []string{"merge", t.TempDir()}, "has no summary.json"},
		{"other seed", []string{"merge", one, shardFolder(t, 2, 2, "aaa", 2)}, "seed 2"},
		{"other scenario", []string{"merge", one, shardFolder(t, 2, 2, "bbb", 1)}, "which differ"},
		{"other N", []string{"merge", one, shardFolder(t, 2, 3, "aaa", 1)}, "different N"},
		{"bad tolerance", []string{"merge", "--tolerance", "0s", one}, "--tolerance 0s"},
		{"hlog not a log name", []string{"merge", "--hlog", "out.txt", "a.hlog"}, "want a file name ending in .hlog"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append(tc.args, "--out", t.TempDir())
			if code := run(args, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("edabench %q = exit %d, stderr:\n%s\nwant exit 2 and %q", args, code, stderr.String(), tc.want)
			}
		})
	}
}
