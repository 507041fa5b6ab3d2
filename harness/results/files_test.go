package results

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadRun(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("run/summary.json", `{"twins":{"rr":{"achieved_rps":10}}}`)
	tests := []struct {
		name, arg, wantPath, wantErr string
	}{
		{"a run folder", filepath.Dir(good), good, ""},
		{"the file itself", good, good, ""},
		{"missing", filepath.Join(dir, "nope"), "", "pass a run folder"},
		{"a folder without a summary", filepath.Join(dir), "", "has no summary.json"},
		{"not JSON", write("bad.json", "{"), "", "is not valid JSON"},
		{"not a summary", write("other.json", `{"x":1}`), "", "has no twins key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, path, err := ReadRun(tt.arg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || path != tt.wantPath || m["twins"] == nil {
				t.Fatalf("ReadRun = %v, %q, %v", m, path, err)
			}
		})
	}
}
