package brokernodes

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edabench/edabench/harness/brokernode"
	"github.com/edabench/edabench/targets/bus/drivers"
)

// Every registered kind is complete and named once, and the default broker
// is one of them.
func TestBuiltin(t *testing.T) {
	reg := Builtin()
	names := reg.Names()
	if !slices.Contains(names, brokernode.Default) {
		t.Fatalf("Builtin() = %v: the default broker %q is not registered", names, brokernode.Default)
	}
	seen := map[string]bool{}
	for _, name := range names {
		if name == "" || seen[name] {
			t.Fatalf("Builtin() = %v: a kind is nameless or registered twice", names)
		}
		seen[name] = true
		k, err := reg.Lookup(name)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", name, err)
		}
		if err := k.Check(); err != nil {
			t.Error(err)
		}
		if _, err := drivers.Builtin().Lookup(name); err != nil {
			t.Errorf("node kind %q has no bus driver of its name (targets/bus/drivers): a run starts the node and the twins dial the driver: %v", name, err)
		}
	}
	for _, name := range drivers.Builtin().Names() {
		if _, err := reg.Lookup(name); err != nil {
			t.Errorf("bus driver %q has no broker node of its name: %v", name, err)
		}
	}
}

// Check names each missing field, so that a new node kind's registration
// says what it lacks.
func TestKindCheck(t *testing.T) {
	err := brokernode.Kind{Name: "x"}.Check()
	for _, want := range []string{"Start", "Open", "Depths", "StartByHand"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check() of an empty kind = %v, want it to name %s", err, want)
		}
	}
}

func TestLookupUnknown(t *testing.T) {
	for _, name := range []string{"kafka-not-yet", "", "RabbitMQ"} {
		_, err := Builtin().Lookup(name)
		if err == nil {
			t.Errorf("Lookup(%q) found a kind", name)
			continue
		}
		if !strings.Contains(err.Error(), "use one of "+strings.Join(Builtin().Names(), ", ")) {
			t.Errorf("Lookup(%q): %v; want the message to name the brokers edabench can run", name, err)
		}
	}
}

// brokernode is what every broker implements, so it must import none of
// them: a second broker must not need RabbitMQ's code, and an
// implementation importing brokernode must not make a cycle.
func TestBrokernodeImportsNoBroker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const pkg = "github.com/edabench/edabench/harness/brokernode"
	out, err := exec.CommandContext(ctx, "go", "list", "-deps", pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s(is the go command on PATH?)", pkg, err, out)
	}
	banned := func(dep string) bool {
		return dep == "github.com/edabench/edabench/harness/broker" ||
			strings.HasPrefix(dep, "github.com/edabench/edabench/targets/") ||
			strings.HasPrefix(dep, "github.com/rabbitmq/")
	}
	for _, dep := range strings.Fields(string(out)) {
		if banned(dep) {
			t.Errorf("%s depends on %s: move what it needs into brokernode or the implementation", pkg, dep)
		}
	}
}
