package drivers_test

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/targets/bus/drivers"
)

const module = "github.com/edabench/edabench/"

// backbonePackages are the packages of one backbone each: the drivers
// and the nodes (with their test helpers below them).
var backbonePackages = []string{
	"targets/bus/rabbitmq", "targets/bus/kafka", "targets/bus/nats",
	"harness/broker", "harness/kafkanode", "harness/natsnode",
}

// mayImportBackbones are the packages outside the backbones whose code
// (not tests: a test starts the node it tests on) may import one.
var mayImportBackbones = map[string]string{
	"targets/bus/drivers": "the drivers' registry",
	"harness/brokernodes": "the nodes' registry",
	// brokerctl is also the RabbitMQ node's own command from before the
	// seam (its port and data-dir flags, clean); every other broker goes
	// through brokernode.Kind alone, so a new backbone needs nothing here.
	"harness/cmd/brokerctl": "the RabbitMQ node's own command",
}

func inBackbone(rel string) bool {
	for _, b := range backbonePackages {
		if rel == b || strings.HasPrefix(rel, b+"/") {
			return true
		}
	}
	return false
}

// The seam stays honest: outside the backbones and the two registries no
// package imports a concrete driver or node, so adding a backbone is one
// driver package, one node package and a line in each registry.
func TestOnlyRegistriesImportBackbones(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, dir := range []string{"../../..", "../../../xk6-eda"} {
		cmd := exec.CommandContext(ctx, "go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go list in %s: %v\n%s(is the go command on PATH?)", dir, err, out)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Fields(line)
			rel, ok := strings.CutPrefix(f[0], module)
			if !ok || inBackbone(rel) || mayImportBackbones[rel] != "" {
				continue
			}
			for _, imp := range f[1:] {
				if r, ok := strings.CutPrefix(imp, module); ok && inBackbone(r) {
					t.Errorf("%s imports %s: take what differs per backbone from its registration (bus.Kind in targets/bus/drivers, brokernode.Kind in harness/brokernodes)", f[0], imp)
				}
			}
		}
	}
}

// defaultNamed are the places that name the default broker: its name as
// a constant, which the rest use.
var defaultNamed = map[string]bool{"targets/bus/observer.go": true, "harness/brokernode/node.go": true}

// No code outside the backbones names a broker: a switch on "kafka" or
// "nats" is a per-backbone setting that belongs on the registration.
func TestNoCodeNamesABroker(t *testing.T) {
	const root = "../../.."
	names := map[string]bool{}
	for _, n := range drivers.Builtin().Names() {
		names[n] = true
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules" || inBackbone(rel)) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(file, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			v, err := strconv.Unquote(lit.Value)
			if err == nil && names[v] && !(defaultNamed[rel] && v == "rabbitmq") {
				t.Errorf("%s names broker %q: put what differs per backbone on its registration (bus.Kind, brokernode.Kind)", rel, v)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
