package serve

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The Kubernetes manifests' twin services (deploy/k8s/twins) start with
// flags this command accepts: each Deployment's args, its environment
// expanded as the kubelet expands $(VAR), parse and check here as they
// would in the pod (nothing is bound). deploy/k8s's own test checks the
// objects' shape; this one checks what the container is told to do.
func TestKubernetesTwinArgs(t *testing.T) {
	root := filepath.Join("..", "..", "deploy", "k8s")
	brokers := map[string]map[string]string{
		"rabbitmq": literals(t, filepath.Join(root, "brokers", "rabbitmq", "kustomization.yaml")),
		"kafka":    literals(t, filepath.Join(root, "brokers", "kafka", "kustomization.yaml")),
	}
	// The eda-kafka overlay's replacement of RabbitMQ's URL.
	kafkaURL := "edabench-kafka-kafka-bootstrap:9092"
	files, _ := filepath.Glob(filepath.Join(root, "twins", "*", "*.yaml"))
	n := 0
	for _, f := range files {
		for _, c := range deploymentContainers(t, f) {
			for broker, cm := range brokers {
				twin := filepath.Base(filepath.Dir(f))
				if broker == "kafka" && twin != "eda" {
					continue // only overlays/eda-kafka runs a twin over Kafka
				}
				env := map[string]string{}
				if c.usesBrokerConfig {
					for k, v := range cm {
						env[k] = v
					}
				}
				for _, e := range c.env {
					v := expand(e.value, env)
					if e.name == "EDABENCH_BROKER_URL" && broker == "kafka" {
						v = kafkaURL
					}
					env[e.name] = v
				}
				args := make([]string, len(c.args))
				for i, a := range c.args {
					args[i] = expand(a, env)
					if i > 0 && c.args[i-1] == "--data-dir" {
						args[i] = t.TempDir() // the pod's emptyDir; not / here
					}
				}
				t.Setenv("EDABENCH_ALLOW", env["EDABENCH_ALLOW"])
				var stderr bytes.Buffer
				if svc, code := prepare("target", args, &stderr); svc == nil {
					t.Errorf("%s over %s: target %q = exit %d:\n%s", f, broker, args, code, stderr.String())
				}
				n++
			}
		}
	}
	if n < 14 {
		t.Fatalf("checked %d service configurations in %s, want every twin's services", n, root)
	}
}

type container struct {
	args             []string
	env              []envVar
	usesBrokerConfig bool
}

type envVar struct{ name, value string }

// deploymentContainers reads the twin service containers of a file's
// Deployments; a value from a Secret reads as a placeholder.
func deploymentContainers(t *testing.T, file string) []container {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []container
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var doc struct {
			Kind string `yaml:"kind"`
			Spec struct {
				Template struct {
					Spec struct {
						Containers []struct {
							Args    []string `yaml:"args"`
							EnvFrom []struct {
								ConfigMapRef struct{ Name string } `yaml:"configMapRef"`
							} `yaml:"envFrom"`
							Env []struct {
								Name      string `yaml:"name"`
								Value     string `yaml:"value"`
								ValueFrom any    `yaml:"valueFrom"`
							} `yaml:"env"`
						} `yaml:"containers"`
					} `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"spec"`
		}
		if err := dec.Decode(&doc); err != nil {
			break
		}
		if doc.Kind != "Deployment" {
			continue
		}
		for _, c := range doc.Spec.Template.Spec.Containers {
			ct := container{args: c.Args}
			for _, ef := range c.EnvFrom {
				ct.usesBrokerConfig = ct.usesBrokerConfig || ef.ConfigMapRef.Name == "edabench-broker"
			}
			for _, e := range c.Env {
				v := e.Value
				if e.ValueFrom != nil {
					v = "from-a-secret"
				}
				ct.env = append(ct.env, envVar{e.Name, v})
			}
			out = append(out, ct)
		}
	}
	return out
}

// literals reads a kustomization's configMapGenerator literals.
func literals(t *testing.T, file string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		ConfigMapGenerator []struct {
			Literals []string `yaml:"literals"`
		} `yaml:"configMapGenerator"`
	}
	if err := yaml.Unmarshal(b, &k); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, g := range k.ConfigMapGenerator {
		for _, l := range g.Literals {
			k, v, _ := strings.Cut(l, "=")
			out[k] = v
		}
	}
	return out
}

var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// expand replaces $(VAR) as the kubelet does: defined variables only.
func expand(s string, env map[string]string) string {
	return varRef.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := env[m[2:len(m)-1]]; ok {
			return v
		}
		return m
	})
}
