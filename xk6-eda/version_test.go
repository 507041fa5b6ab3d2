package eda

import (
	"runtime/debug"
	"testing"

	"go.k6.io/k6/ext"
)

// The extension is named by its own module, never by the parent module
// that build info lists before it, with the version required when a local
// directory replaces it.
func TestCorrectExtensionInfo(t *testing.T) {
	parent := &debug.Module{Path: "github.com/edabench/edabench", Version: "v0.0.0-00010101000000-000000000000",
		Replace: &debug.Module{Path: "/src/edabench", Version: "(devel)"}}
	cases := []struct {
		name       string
		info       *debug.BuildInfo
		path, vers string
	}{
		{"local replace (make k6, xk6 --with =./xk6-eda)", &debug.BuildInfo{Main: debug.Module{Path: "k6"}, Deps: []*debug.Module{parent,
			{Path: modulePath, Version: "v0.1.0", Replace: &debug.Module{Path: "/src/edabench/xk6-eda", Version: "(devel)"}}}},
			modulePath, "v0.1.0"},
		{"from the module proxy", &debug.BuildInfo{Main: debug.Module{Path: "k6"}, Deps: []*debug.Module{parent, {Path: modulePath, Version: "v0.2.0"}}},
			modulePath, "v0.2.0"},
		{"replaced by another version", &debug.BuildInfo{Main: debug.Module{Path: "k6"}, Deps: []*debug.Module{parent,
			{Path: modulePath, Version: "v0.1.0", Replace: &debug.Module{Path: "example.com/fork/xk6-eda", Version: "v0.1.1"}}}},
			modulePath, "v0.1.1"},
		{"the extension's own tests", &debug.BuildInfo{Main: debug.Module{Path: modulePath, Version: "(devel)"}, Deps: []*debug.Module{parent}},
			modulePath, "(devel)"},
		{"not in the build info: k6's answer stays", &debug.BuildInfo{Main: debug.Module{Path: "k6"}, Deps: []*debug.Module{parent}},
			"as k6 said", "v9"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := &ext.Extension{Name: ImportPath, Path: "as k6 said", Version: "v9"}
			correctExtensionInfo(e, c.info)
			if e.Path != c.path || e.Version != c.vers {
				t.Errorf("got %s %s, want %s %s", e.Path, e.Version, c.path, c.vers)
			}
		})
	}
}
