package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// reportFixture copies the report package's fixture run into a fresh folder.
func reportFixture(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "20261126-090721-rr-eda-failure-crash")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join("..", "..", "report", "testdata", "crash")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestReportCommand(t *testing.T) {
	good := reportFixture(t)
	latest := filepath.Join(filepath.Dir(good), "latest")
	if err := os.Symlink(filepath.Base(good), latest); err != nil {
		t.Fatal(err)
	}
	notRun := t.TempDir()
	tests := []struct {
		name       string
		args       []string
		code       int
		wantStdout string
		wantStderr string
	}{
		{"help", []string{"report", "-h"}, 0, "", "edabench report results/latest"},
		{"no run folder", []string{"report"}, 2, "", "no run folder given"},
		{"not a run folder", []string{"report", notRun}, 2, "", notRun + " is not a run folder: it has no summary.json"},
		{"no such folder", []string{"report", filepath.Join(notRun, "nope")}, 2, "", filepath.Join(notRun, "nope")},
		{"missing verdict", []string{"report", "--verdict", filepath.Join(notRun, "v.json"), good}, 2, "", "--verdict " + filepath.Join(notRun, "v.json")},
		{"unknown flag", []string{"report", "--colour", "x", good}, 2, "", "flag provided but not defined"},
		{"one run", []string{"report", good}, 0, filepath.Join(good, "report.html") + "\n", ""},
		{"latest", []string{"report", latest}, 0, filepath.Join(good, "report.html") + "\n", ""},
		{"one good, one bad", []string{"report", good, notRun}, 2, filepath.Join(good, "report.html") + "\n", "not a run folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			if code != tt.code || (tt.wantStdout != "" && stdout.String() != tt.wantStdout) || !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Fatalf("edabench %q = exit %d\nstdout: %s\nstderr: %s\nwant exit %d, stdout %q, stderr containing %q",
					tt.args, code, stdout.String(), stderr.String(), tt.code, tt.wantStdout, tt.wantStderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(good, "report.html")); err != nil {
		t.Fatal(err)
	}
}

func TestHelpListsReport(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"help"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "edabench report RUN_DIR") {
		t.Fatalf("help = exit %d:\n%s\nwant the report command listed", code, stdout.String())
	}
}
