// Package results writes a run's folder: summary.json, the histograms'
// .hgrm and .hlog files, timeseries.csv, and the results/latest link, and
// reads summary.json and timeseries.csv back (ReadSummary, ReadTimeseries)
// for every command that shows or judges a run. Every
// file is written atomically (a temp file renamed into place), so a reader,
// or a run interrupted mid-write, never sees half a file.
package results

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// NewRunDir creates results/<run-id>/ under base and returns its path and ID.
// The ID sorts by time and names what ran.
func NewRunDir(base, label string, now time.Time) (dir, id string, err error) {
	id = now.UTC().Format("20060102-150405") + "-" + label
	dir = filepath.Join(base, id)
	for i := 2; ; i++ {
		err = os.Mkdir(dir, 0o755)
		if err == nil || !os.IsExist(err) {
			break
		}
		dir = filepath.Join(base, fmt.Sprintf("%s-%d", id, i))
	}
	if err != nil {
		if mkErr := os.MkdirAll(base, 0o755); mkErr == nil {
			err = os.Mkdir(dir, 0o755)
		}
	}
	if err != nil {
		return "", "", fmt.Errorf("create the run folder: %w (is --out writable?)", err)
	}
	return dir, filepath.Base(dir), nil
}

// LinkLatest points base/latest at the run folder (a relative symlink,
// replaced atomically).
func LinkLatest(base, runDir string) error {
	tmp := filepath.Join(base, ".latest.tmp")
	os.Remove(tmp)
	if err := os.Symlink(filepath.Base(runDir), tmp); err != nil {
		return fmt.Errorf("link results/latest: %w", err)
	}
	return os.Rename(tmp, filepath.Join(base, "latest"))
}

// WriteFile writes path atomically with whatever write produces.
func WriteFile(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	// CreateTemp makes 0600 files; results are for everyone to read.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// WriteJSON writes v as indented JSON, atomically.
func WriteJSON(path string, v any) error {
	return WriteFile(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}
