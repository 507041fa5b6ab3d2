// Package k6build builds k6 with the xk6-eda extension the way the xk6
// builder does (`xk6 build --with github.com/edabench/edabench/xk6-eda=./xk6-eda`):
// a throwaway main module that requires go.k6.io/k6 and the extension at its
// release version, with replace directives to the local checkout, a main.go
// that imports both, `go mod tidy`, `go build -trimpath`. The xk6 builder
// itself cannot be installed everywhere edabench builds (no network beyond
// the Go module proxy), so this does its steps with the go command alone.
package k6build

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Module paths: the extension's identity in `k6 version` and in the k6
// extension registry, and the edabench module whose packages it imports.
const (
	ExtensionModule = "github.com/edabench/edabench/xk6-eda"
	ParentModule    = "github.com/edabench/edabench"
)

// Version is the extension's version, the one the generated module requires
// and `k6 version` shows. A release tags the commit xk6-eda/<Version> (the
// module lives in a subdirectory, so its tags carry the directory as a
// prefix); bump it with the tag.
const Version = "v0.1.0"

// mainGo is the generated module's main package.
//
//go:embed k6main/main.go
var mainGo string

// Options say what to build and where.
type Options struct {
	// Out is the k6 binary to write.
	Out string
	// ExtDir is the extension's directory (where xk6-eda's go.mod is);
	// default: found from the working directory.
	ExtDir string
	// K6Version is the k6 to build; default: the one xk6-eda's go.mod
	// requires, the version its tests run against.
	K6Version string
	// Go is the go command; default "go".
	Go string
}

// Build writes the generated module into a temporary directory, builds k6
// into o.Out and removes the directory.
func Build(ctx context.Context, o Options) error {
	if o.Out == "" {
		return errors.New("k6build: no output path: give the binary to write, e.g. bin/k6")
	}
	out, err := filepath.Abs(o.Out)
	if err != nil {
		return fmt.Errorf("k6build: output %s: %w", o.Out, err)
	}
	if o.Go == "" {
		o.Go = "go"
	}
	if o.ExtDir == "" {
		if o.ExtDir, err = ExtensionDir(ctx, o.Go); err != nil {
			return err
		}
	}
	parent, err := moduleDir(ctx, o.Go, o.ExtDir, ParentModule)
	if err != nil {
		return err
	}
	if o.K6Version == "" {
		if o.K6Version, err = requiredVersion(ctx, o.Go, o.ExtDir, "go.k6.io/k6"); err != nil {
			return err
		}
	}
	work, err := os.MkdirTemp("", "xk6-eda-build-")
	if err != nil {
		return fmt.Errorf("k6build: %w", err)
	}
	defer os.RemoveAll(work)
	if err := writeModule(work, o.ExtDir, parent, o.K6Version); err != nil {
		return err
	}
	goCmd := func(args ...string) error {
		cmd := exec.CommandContext(ctx, o.Go, args...)
		cmd.Dir = work
		// GOWORK=off: a go.work around the checkout must not change what is built.
		cmd.Env = append(os.Environ(), "GOWORK=off")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("k6build: go %s in the generated module %s: %w\n%s", strings.Join(args, " "), work, err, b)
		}
		return nil
	}
	if err := goCmd("mod", "tidy"); err != nil {
		return err
	}
	return goCmd("build", "-trimpath", "-o", out, ".")
}

// writeModule writes go.mod, go.sum (xk6-eda's: it holds the checksums of
// k6's whole tree, see k6main) and main.go into dir.
func writeModule(dir, extDir, parentDir, k6Version string) error {
	goVersion, err := goDirective(filepath.Join(extDir, "go.mod"))
	if err != nil {
		return err
	}
	mod := fmt.Sprintf(`module k6

go %s

require (
	go.k6.io/k6 %s
	%s %s
)

replace %s => %s

replace %s => %s
`, goVersion, k6Version, ExtensionModule, Version, ExtensionModule, quote(extDir), ParentModule, quote(parentDir))
	sum, err := os.ReadFile(filepath.Join(extDir, "go.sum"))
	if err != nil {
		return fmt.Errorf("k6build: xk6-eda's go.sum: %w", err)
	}
	// The template's build tag is for xk6-eda's own module only.
	main := strings.Replace(mainGo, "//go:build k6main\n", "", 1)
	for name, body := range map[string]string{"go.mod": mod, "go.sum": string(sum), "main.go": main} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return fmt.Errorf("k6build: %w", err)
		}
	}
	return nil
}

// quote keeps a directory with spaces one token in go.mod.
func quote(dir string) string {
	if strings.ContainsAny(dir, " \t\"'`") {
		return fmt.Sprintf("%q", dir)
	}
	return dir
}

func goDirective(gomod string) (string, error) {
	b, err := os.ReadFile(gomod)
	if err != nil {
		return "", fmt.Errorf("k6build: %w", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "go "); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("k6build: %s has no go directive", gomod)
}

// ExtensionDir is the directory of xk6-eda's go.mod, from the working
// directory: xk6-eda itself or anything under it, or the edabench checkout
// it lives in.
func ExtensionDir(ctx context.Context, goBin string) (string, error) {
	b, err := exec.CommandContext(ctx, goBin, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("k6build: go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(b))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("k6build: not inside the edabench checkout: run from it or from xk6-eda, or give the extension's directory")
	}
	dir := filepath.Dir(mod)
	if _, err := os.Stat(filepath.Join(dir, "xk6-eda", "go.mod")); err == nil {
		return filepath.Join(dir, "xk6-eda"), nil
	}
	return dir, nil
}

// ParentDir is the edabench checkout's root, from xk6-eda's replace
// directive (github.com/edabench/edabench => ../).
func ParentDir(ctx context.Context, goBin, extDir string) (string, error) {
	return moduleDir(ctx, goBin, extDir, ParentModule)
}

func moduleDir(ctx context.Context, goBin, extDir, module string) (string, error) {
	return listModule(ctx, goBin, extDir, module, "{{if .Replace}}{{.Replace.Dir}}{{else}}{{.Dir}}{{end}}")
}

func requiredVersion(ctx context.Context, goBin, extDir, module string) (string, error) {
	return listModule(ctx, goBin, extDir, module, "{{.Version}}")
}

func listModule(ctx context.Context, goBin, extDir, module, format string) (string, error) {
	cmd := exec.CommandContext(ctx, goBin, "list", "-m", "-f", format, module)
	cmd.Dir = extDir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	b, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, ee.Stderr)
		}
		return "", fmt.Errorf("k6build: go list -m %s in %s: %w", module, extDir, err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("k6build: go list -m %s in %s: nothing: is %s xk6-eda's directory?", module, extDir, extDir)
	}
	return v, nil
}
