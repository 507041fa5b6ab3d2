package nodeproc

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// PortVar is a port a variable may move: DST is set when Env holds a port.
type PortVar struct {
	Env string
	Dst *int
}

// PortsFromEnv sets each Dst whose variable lookup finds set and non-empty.
// A malformed value keeps the default and is named in the error, all of
// them at once, so one run shows every typo.
func PortsFromEnv(lookup func(string) (string, bool), vars ...PortVar) error {
	var errs []error
	for _, p := range vars {
		v, ok := lookup(p.Env)
		if !ok || v == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > 65535 {
			errs = append(errs, fmt.Errorf("%s=%q: want a TCP port number 1-65535", p.Env, v))
			continue
		}
		*p.Dst = n
	}
	return errors.Join(errs...)
}

// StringFromEnv sets *dst to the variable's value when it is set and not
// empty.
func StringFromEnv(lookup func(string) (string, bool), env string, dst *string) {
	if v, ok := lookup(env); ok && v != "" {
		*dst = v
	}
}

// CacheDir is ~/.cache/edabench/NAME. Without a HOME (a bare systemd unit)
// it is still one fixed folder, TMPDIR/edabench-NAME, so every caller
// agrees on the node's lock and pid file.
func CacheDir(name string) string {
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "edabench", name)
	}
	return filepath.Join(os.TempDir(), "edabench-"+name)
}

// ReadRunningConfig returns the config (JSON at path) the node in a data
// dir was started with, so that a Start with other ports fails at once
// with both configs instead of timing out against ports nobody listens on.
func ReadRunningConfig[C any](path string) (C, error) {
	var c C
	b, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	return c, json.Unmarshal(b, &c)
}

// FromEnvOrLog is fromEnv(os.LookupEnv) for a node's DefaultConfig: a
// malformed override is logged (prefixed with who, e.g. "kafka") and
// ignored rather than silently producing a port 0; fromEnv still returns
// the defaults for the bad variables, and callers wanting the error call
// it themselves.
func FromEnvOrLog[C any](log *slog.Logger, who string, fromEnv func(func(string) (string, bool)) (C, error)) C {
	cfg, err := fromEnv(os.LookupEnv)
	if err != nil {
		log.Warn(who+": ignoring invalid environment override", "err", err)
	}
	return cfg
}
