package launch

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// EnvSDDir names the directory where edabench writes Prometheus file-based
// service discovery files (file_sd_configs), one per scrape target group:
// harness.json for the harness's own /metrics, <twin>.json for a twin's
// services. "off" disables them.
const EnvSDDir = "EDABENCH_SD_DIR"

// DefaultSDDir is where `make observe` points its Prometheus; when the
// variable is unset, edabench writes there only if the directory exists
// (that is, if `make observe` created it).
func DefaultSDDir() string {
	base, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(base, "edabench", "prometheus", "sd")
}

// FileSDDir is the directory to write file-SD files into, or "" for none.
func FileSDDir() string {
	if d, ok := os.LookupEnv(EnvSDDir); ok {
		if d == "off" {
			return ""
		}
		return d
	}
	d := DefaultSDDir()
	if st, err := os.Stat(d); err == nil && st.IsDir() {
		return d
	}
	return ""
}

// SDGroup is one file-SD target group: host:port targets and the labels
// Prometheus adds to their series.
type SDGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels,omitempty"`
}

// WriteFileSD writes dir/name.json, one file-SD target group of the
// host:port targets with labels (e.g. run, scenario), atomically, so
// Prometheus never reads half a file. remove deletes it again (Prometheus
// then drops the targets). dir "" does nothing.
func WriteFileSD(dir, name string, targets []string, labels map[string]string) (remove func(), err error) {
	ts := append([]string(nil), targets...)
	sort.Strings(ts)
	return WriteFileSDGroups(dir, name, []SDGroup{{Targets: ts, Labels: labels}})
}

// WriteFileSDGroups is WriteFileSD with several groups.
func WriteFileSDGroups(dir, name string, groups []SDGroup) (remove func(), err error) {
	if dir == "" || len(groups) == 0 {
		return func() {}, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return func() {}, fmt.Errorf("file-SD dir (%s): %w", EnvSDDir, err)
	}
	b, err := json.MarshalIndent(groups, "", "  ")
	if err != nil {
		return func() {}, err
	}
	path := filepath.Join(dir, name+".json")
	tmp, err := os.CreateTemp(dir, "."+name+".json.*")
	if err != nil {
		return func() {}, fmt.Errorf("file-SD (%s): %w", EnvSDDir, err)
	}
	_, werr := tmp.Write(append(b, '\n'))
	cerr := tmp.Close()
	if werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return func() {}, fmt.Errorf("file-SD %s: %v %v", path, werr, cerr)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return func() {}, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return func() {}, err
	}
	return func() { os.Remove(path) }, nil
}

// FileSDGroups are the twin's services as file-SD groups, one per service,
// labelled twin and service (so process_* series are attributed too) plus
// labels.
func (t *Twin) FileSDGroups(labels map[string]string) []SDGroup {
	var out []SDGroup
	for _, svc := range t.order {
		p := t.Process(svc)
		if p == nil {
			continue
		}
		l := map[string]string{"twin": t.spec.Twin, "service": svc}
		for k, v := range labels {
			l[k] = v
		}
		out = append(out, SDGroup{Targets: []string{p.Ready().HTTP}, Labels: l})
	}
	return out
}
