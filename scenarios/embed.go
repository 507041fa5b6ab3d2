// Package scenarios holds the load scenarios shipped with edabench, one
// commented YAML file per scenario, NAME.yaml. They are embedded in the
// binary, so an installed edabench finds them by name from any directory;
// harness/scenario reads and validates them.
package scenarios

import (
	"embed"
	"io/fs"
)

//go:embed *.yaml
var files embed.FS

// FS is the shipped scenario files, NAME.yaml each, at its root.
func FS() fs.FS { return files }
