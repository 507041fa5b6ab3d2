package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// The shards' Job in deploy/k8s/base runs `edabench run` with flags this
// command accepts, once its settings are expanded as the kubelet expands
// $(VAR): each pod index is its shard, the target is allowlisted, and the
// start-time placeholder is refused with the fix named (a first apply
// must not load anything before a start is chosen).
func TestKubernetesHarnessArgs(t *testing.T) {
	root := filepath.Join("..", "..", "..", "deploy", "k8s", "base")
	b, err := os.ReadFile(filepath.Join(root, "harness.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var job struct {
		Spec struct {
			Completions int `yaml:"completions"`
			Template    struct {
				Spec struct {
					Containers []struct {
						Args []string `yaml:"args"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(b, &job); err != nil {
		t.Fatal(err)
	}
	cfg := baseLiterals(t, filepath.Join(root, "kustomization.yaml"))
	args := job.Spec.Template.Spec.Containers[0].Args
	if len(args) < 2 || args[0] != "edabench" || args[1] != "run" {
		t.Fatalf("the Job runs %q, want edabench run", args)
	}
	now := time.Now()
	for _, tc := range []struct {
		startAt, want string
	}{
		{now.Add(time.Minute).UTC().Format(time.RFC3339), ""},
		{cfg["EDABENCH_START_AT"], "want RFC 3339"},
	} {
		for idx := range job.Spec.Completions {
			env := map[string]string{"JOB_COMPLETION_INDEX": strconv.Itoa(idx)}
			for k, v := range cfg {
				env[k] = v
			}
			env["EDABENCH_START_AT"] = tc.startAt
			var expanded []string
			for _, a := range args[2:] {
				expanded = append(expanded, expandVars(a, env))
			}
			fs, o := runFlags(os.Stderr)
			if err := fs.Parse(expanded); err != nil {
				t.Fatalf("%q: %v", expanded, err)
			}
			o.allow = env["EDABENCH_ALLOW"] // the flag's default, from the pod's environment
			if _, _, _, err := o.check(); err != nil {
				t.Fatalf("%q: %v", expanded, err)
			}
			sh, err := o.checkShard(func(k string) string { return env[k] }, now)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("pod %d: %q: %v", idx, expanded, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("pod %d with the placeholder start: %v, want %q", idx, err, tc.want)
			case tc.want == "" && (sh.shard.I != idx+1 || sh.shard.N != job.Spec.Completions || sh.allow.Check(o.target) != nil):
				t.Errorf("pod %d runs shard %v against %s (allow %s), want %d/%d allowed", idx, sh.shard, o.target, sh.allow, idx+1, job.Spec.Completions)
			}
		}
	}
}

func baseLiterals(t *testing.T, file string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		ConfigMapGenerator []struct {
			Name     string   `yaml:"name"`
			Literals []string `yaml:"literals"`
		} `yaml:"configMapGenerator"`
	}
	if err := yaml.Unmarshal(b, &k); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, g := range k.ConfigMapGenerator {
		for _, l := range g.Literals {
			key, v, _ := strings.Cut(l, "=")
			out[key] = v
		}
	}
	return out
}

var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

func expandVars(s string, env map[string]string) string {
	return varRef.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := env[m[2:len(m)-1]]; ok {
			return v
		}
		return m
	})
}
