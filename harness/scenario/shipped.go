package scenario

import (
	"fmt"
	"io/fs"
	"strings"

	"github.com/edabench/edabench/scenarios"
)

// Shipped lists the names of the scenarios built into edabench (the files
// of scenarios/, embedded), sorted.
func Shipped() []string {
	files, _ := fs.Glob(scenarios.FS(), "*.yaml") // the pattern is valid
	names := make([]string, 0, len(files))
	for _, f := range files {
		names = append(names, strings.TrimSuffix(f, ".yaml"))
	}
	return names
}

// ShippedFile is the YAML of the shipped scenario name, comments and all,
// as it is in scenarios/NAME.yaml: a start for a scenario of one's own.
func ShippedFile(name string) ([]byte, error) {
	var b []byte
	err := fs.ErrNotExist
	if IsName(name) {
		b, err = fs.ReadFile(scenarios.FS(), name+".yaml")
	}
	if err != nil {
		return nil, fmt.Errorf("%w: no scenario named %q is built in: want one of %s (edabench scenarios lists them), or a file's path such as ./%s.yaml",
			ErrInvalid, name, strings.Join(Shipped(), ", "), name)
	}
	return b, nil
}

// LoadShipped reads and validates the shipped scenario name.
func LoadShipped(name string) (*Scenario, error) {
	b, err := ShippedFile(name)
	if err != nil {
		return nil, err
	}
	return Parse(b, "scenarios/"+name+".yaml")
}

// IsName says whether s, as given to --scenario, names a shipped scenario
// rather than a file: a value with a slash or a dot is a path (./mine.yaml,
// /tmp/x.yml, ../s.yaml), anything else a name. So a name never depends on
// the working directory, and a file of one's own is always reachable as
// ./NAME.yaml.
func IsName(s string) bool { return s != "" && !strings.ContainsAny(s, `/.\`) }

// Resolve reads the scenario --scenario names: a shipped one by name, or a
// file by path (see IsName).
func Resolve(s string) (*Scenario, error) {
	if s == "" {
		return nil, fmt.Errorf("%w: no scenario given: want a built-in one's name (%s) or a file's path", ErrInvalid, strings.Join(Shipped(), ", "))
	}
	if IsName(s) {
		return LoadShipped(s)
	}
	return Load(s)
}
