package results

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadSummary(t *testing.T) {
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
	good := write("run/summary.json", `{"run_id":"r1","scenario":{"name":"chain","steps":"3","ramp":{"step":250}},
		"twins":{"rr":{"achieved_rps":10,"lag":{"max_queue_depth":7},"later_key":1}}}`)
	odd := write("odd/summary.json", `{"scenario":{"name":"x","steps":"many"},"twins":{}}`)
	tests := []struct {
		name, arg, wantPath, wantErr string
		notExist                     bool
	}{
		{"a run folder", filepath.Dir(good), good, "", false},
		{"the file itself", good, good, "", false},
		{"a scenario of another shape", odd, odd, "", false},
		{"missing", filepath.Join(dir, "nope"), "", "pass a run folder", true},
		{"a folder without a summary", filepath.Join(dir), "", "has no summary.json", true},
		{"not JSON", write("bad.json", "{"), "", "is not valid JSON", false},
		{"not a summary", write("other.json", `{"x":1}`), "", "has no twins key", false},
		{"a figure of the wrong type", write("type.json", `{"twins":{"rr":{"sent":"ten"}}}`), "", "want the summary.json edabench run writes", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ReadSummary(tt.arg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || errors.Is(err, fs.ErrNotExist) != tt.notExist {
					t.Fatalf("err = %v, want %q (not exist: %v)", err, tt.wantErr, tt.notExist)
				}
				return
			}
			if err != nil || f.Path != tt.wantPath || f.Tree["twins"] == nil {
				t.Fatalf("ReadSummary = %+v, %v", f, err)
			}
		})
	}
	f, _ := ReadSummary(good)
	rr := f.Summary.Twins["rr"]
	if f.Summary.RunID != "r1" || rr.AchievedRPS != 10 || rr.Lag.MaxQueueDepth != 7 {
		t.Errorf("typed view: %+v", f.Summary)
	}
	if f.Scenario.Name != "chain" || f.Scenario.Steps != 3 || f.Scenario.Ramp == nil || f.Scenario.Ramp.Step != 250 || f.ScenarioErr != nil {
		t.Errorf("scenario: %+v, %v", f.Scenario, f.ScenarioErr)
	}
	if string(f.Raw.Twins["rr"]["later_key"]) != "1" {
		t.Errorf("raw twin keys: %v", f.Raw.Twins["rr"])
	}
	if twins := f.Tree["twins"].(map[string]any); twins["rr"].(map[string]any)["later_key"] != 1.0 {
		t.Errorf("generic view: %v", twins)
	}
	f, _ = ReadSummary(odd)
	if f.ScenarioErr == nil || f.Scenario.Name != "" {
		t.Errorf("a scenario with steps \"many\": %+v, %v; want an error and no scenario", f.Scenario, f.ScenarioErr)
	}
}
