package k6build

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The generated module requires k6 and the extension at its release
// version, replaces the extension and its parent with the checkout (with
// a directory that has a space in it quoted), starts from xk6-eda's go.sum,
// and its main.go has no build tag left.
func TestWriteModule(t *testing.T) {
	ext := filepath.Join(t.TempDir(), "my checkout", "xk6-eda")
	if err := os.MkdirAll(ext, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"go.mod": "module " + ExtensionModule + "\n\ngo 1.26.8\n", "go.sum": "example.com/m v1.0.0 h1:x=\n"}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(ext, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	work := t.TempDir()
	if err := writeModule(work, ext, filepath.Dir(ext), "v1.8.1"); err != nil {
		t.Fatal(err)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(work, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	mod := read("go.mod")
	for _, want := range []string{
		"\ngo 1.26.8\n",
		"\tgo.k6.io/k6 v1.8.1\n",
		"\t" + ExtensionModule + " " + Version + "\n",
		"replace " + ExtensionModule + " => \"" + ext + "\"\n",
		"replace " + ParentModule + " => \"" + filepath.Dir(ext) + "\"\n",
	} {
		if !strings.Contains(mod, want) {
			t.Errorf("generated go.mod lacks %q:\n%s", want, mod)
		}
	}
	if got := read("go.sum"); got != files["go.sum"] {
		t.Errorf("go.sum %q, want xk6-eda's %q", got, files["go.sum"])
	}
	main := read("main.go")
	if strings.Contains(main, "//go:build") || !strings.Contains(main, `_ "`+ExtensionModule+`"`) || !strings.Contains(main, "k6cmd.Execute()") {
		t.Errorf("generated main.go:\n%s", main)
	}

	if err := os.Remove(filepath.Join(ext, "go.sum")); err != nil {
		t.Fatal(err)
	}
	if err := writeModule(t.TempDir(), ext, filepath.Dir(ext), "v1.8.1"); err == nil || !strings.Contains(err.Error(), "go.sum") {
		t.Errorf("without xk6-eda's go.sum: %v, want an error naming it", err)
	}
}

func TestBuildNeedsAnOutput(t *testing.T) {
	if err := Build(t.Context(), Options{}); err == nil || !strings.Contains(err.Error(), "no output path") {
		t.Errorf("Build with no Out: %v", err)
	}
}
