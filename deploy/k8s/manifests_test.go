package k8s

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// builds are every kustomization a user applies.
var builds = []string{"overlays/rr", "overlays/eda-rabbitmq", "overlays/eda-kafka", "overlays/hybrid", "merge", "k6"}

// object is one built manifest: its kind and its YAML.
type object struct {
	apiVersion, kind, name string
	yaml                   []byte
	decoded                any // the typed object, for built-in kinds
}

// build runs kustomize in process on dir, as kubectl apply -k would.
func build(t *testing.T, dir string) []object {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var out []object
	for _, r := range rm.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatalf("%s: %s: %v", dir, r.CurId(), err)
		}
		out = append(out, object{apiVersion: r.GetApiVersion(), kind: r.GetKind(), name: r.GetName(), yaml: y})
	}
	return out
}

// builtin are the Kubernetes kinds the manifests use, by apiVersion/kind.
func builtin(apiVersion, kind string) (any, bool) {
	switch apiVersion + "/" + kind {
	case "v1/Namespace":
		return &corev1.Namespace{}, true
	case "v1/Service":
		return &corev1.Service{}, true
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, true
	case "v1/PersistentVolumeClaim":
		return &corev1.PersistentVolumeClaim{}, true
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}, true
	case "batch/v1/Job":
		return &batchv1.Job{}, true
	case "networking.k8s.io/v1/NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, true
	}
	return nil, false
}

// crds are the operators' custom resources, checked against a subset of
// their published CRD schemas (testdata/crds): the operators' Go API
// modules are not served by the module proxy here (tried:
// github.com/rabbitmq/cluster-operator/v2, github.com/grafana/k6-operator;
// Strimzi's API is Java).
var crds = map[string]string{
	"rabbitmq.com/v1beta1/RabbitmqCluster":   "rabbitmqcluster.json",
	"kafka.strimzi.io/v1beta2/Kafka":         "kafka.json",
	"kafka.strimzi.io/v1beta2/KafkaNodePool": "kafkanodepool.json",
	"k6.io/v1alpha1/TestRun":                 "testrun.json",
}

func compileCRDs(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	out := map[string]*jsonschema.Schema{}
	for gvk, file := range crds {
		s, err := c.Compile(filepath.Join("testdata", "crds", file))
		if err != nil {
			t.Fatalf("schema %s: %v", file, err)
		}
		out[gvk] = s
	}
	return out
}

// decode checks every object strictly: a built-in kind decodes into its Go
// type with unknown fields refused; a custom resource validates against its
// CRD schema, whose objects refuse unknown fields too.
func decode(t *testing.T, dir string, objs []object, schemas map[string]*jsonschema.Schema) {
	t.Helper()
	for i := range objs {
		o := &objs[i]
		id := fmt.Sprintf("%s: %s %s", dir, o.kind, o.name)
		if typed, ok := builtin(o.apiVersion, o.kind); ok {
			if err := yaml.UnmarshalStrict(o.yaml, typed); err != nil {
				t.Errorf("%s does not decode strictly into its Kubernetes type: %v", id, err)
				continue
			}
			o.decoded = typed
			continue
		}
		s, ok := schemas[o.apiVersion+"/"+o.kind]
		if !ok {
			t.Errorf("%s: no Go type or CRD schema for %s/%s: add it to builtin or crds", id, o.apiVersion, o.kind)
			continue
		}
		j, err := yaml.YAMLToJSON(o.yaml)
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		if err := s.Validate(doc); err != nil {
			t.Errorf("%s does not match its CRD schema: %v", id, err)
		}
	}
}

func TestOverlaysBuildAndDecodeStrictly(t *testing.T) {
	schemas := compileCRDs(t)
	for _, dir := range builds {
		t.Run(strings.ReplaceAll(dir, "/", "_"), func(t *testing.T) {
			objs := build(t, dir)
			if len(objs) == 0 {
				t.Fatalf("%s builds nothing", dir)
			}
			decode(t, dir, objs, schemas)
			checkSafe(t, dir, objs)
		})
	}
}

// The strict decoding itself refuses what it must: a misspelt field of a
// built-in kind and of a custom resource.
func TestStrictDecodingRefusesUnknownFields(t *testing.T) {
	schemas := compileCRDs(t)
	bad := []object{
		{apiVersion: "apps/v1", kind: "Deployment", name: "typo", yaml: []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: typo}\nspec:\n  replica: 2\n")},
		{apiVersion: "rabbitmq.com/v1beta1", kind: "RabbitmqCluster", name: "typo", yaml: []byte("apiVersion: rabbitmq.com/v1beta1\nkind: RabbitmqCluster\nmetadata: {name: typo}\nspec:\n  replica: 3\n")},
		{apiVersion: "kafka.strimzi.io/v1beta2", kind: "KafkaNodePool", name: "typo", yaml: []byte("apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaNodePool\nmetadata: {name: typo}\nspec:\n  replicas: 3\n  roles: [broker]\n  storage: {type: ephemeral}\n  resource: {}\n")},
	}
	for _, o := range bad {
		ft := &fakeT{}
		decodeInto(ft, o, schemas)
		if !ft.failed {
			t.Errorf("%s %s with an unknown field passed the strict check", o.kind, o.name)
		}
	}
}

// fakeT records whether a check failed, for testing the checks.
type fakeT struct{ failed bool }

func (f *fakeT) Errorf(string, ...any) { f.failed = true }

func decodeInto(f *fakeT, o object, schemas map[string]*jsonschema.Schema) {
	if typed, ok := builtin(o.apiVersion, o.kind); ok {
		if err := yaml.UnmarshalStrict(o.yaml, typed); err != nil {
			f.Errorf("%v", err)
		}
		return
	}
	j, err := yaml.YAMLToJSON(o.yaml)
	if err != nil {
		f.Errorf("%v", err)
		return
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil || schemas[o.apiVersion+"/"+o.kind].Validate(doc) != nil {
		f.Errorf("invalid")
	}
}

// checkSafe holds the manifests to the safe defaults of a shared cluster.
func checkSafe(t *testing.T, dir string, objs []object) {
	t.Helper()
	var config map[string]string
	for _, o := range objs {
		if cm, ok := o.decoded.(*corev1.ConfigMap); ok && cm.Name == "edabench-harness" {
			config = cm.Data
		}
		if bytes.Contains(o.yaml, []byte("guest:")) || bytes.Contains(o.yaml, []byte("//guest")) {
			t.Errorf("%s: %s %s names the guest user: credentials come from Secrets", dir, o.kind, o.name)
		}
		switch v := o.decoded.(type) {
		case *appsv1.Deployment:
			checkPod(t, dir, "Deployment "+v.Name, &v.Spec.Template.Spec, true)
		case *batchv1.Job:
			checkPod(t, dir, "Job "+v.Name, &v.Spec.Template.Spec, false)
			checkJob(t, dir, v)
		case *corev1.Service:
			if v.Spec.Type != "" && v.Spec.Type != corev1.ServiceTypeClusterIP {
				t.Errorf("%s: Service %s is %s: nothing is exposed outside the cluster", dir, v.Name, v.Spec.Type)
			}
			for _, p := range v.Spec.Ports {
				if p.Port != 7000 || p.TargetPort.String() != "grpc" {
					t.Errorf("%s: Service %s exposes %d -> %s: Services carry gRPC only (/admin, /debug/pprof and /metrics stay off them)", dir, v.Name, p.Port, p.TargetPort.String())
				}
			}
		}
	}
	if config != nil {
		host := strings.Split(config["EDABENCH_TARGET"], ":")[0]
		if !slices.ContainsFunc(strings.Split(config["EDABENCH_ALLOW"], ","), func(a string) bool { return strings.HasPrefix(a, host+":") || a == host }) {
			t.Errorf("%s: EDABENCH_ALLOW %q does not name the target %q: the harness would refuse it", dir, config["EDABENCH_ALLOW"], config["EDABENCH_TARGET"])
		}
	}
	checkPolicies(t, dir, objs)
	checkCustomResources(t, dir, objs)
}

// checkPod: requests and limits on every container; twins probe /healthz
// and never turn on /admin/cost or /debug/pprof/.
func checkPod(t *testing.T, dir, who string, spec *corev1.PodSpec, twin bool) {
	t.Helper()
	for _, c := range spec.Containers {
		for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := c.Resources.Requests[res]; !ok {
				t.Errorf("%s: %s container %s has no %s request", dir, who, c.Name, res)
			}
			if _, ok := c.Resources.Limits[res]; !ok {
				t.Errorf("%s: %s container %s has no %s limit", dir, who, c.Name, res)
			}
		}
		for _, a := range append(append([]string{}, c.Command...), c.Args...) {
			if a == "--admin" || a == "--pprof" || strings.HasPrefix(a, "--admin=") || strings.HasPrefix(a, "--pprof=") {
				t.Errorf("%s: %s turns on %s: off by default on a shared cluster", dir, who, a)
			}
		}
		if !twin {
			continue
		}
		for name, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
			if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" {
				t.Errorf("%s: %s has no %s probe on /healthz", dir, who, name)
			}
		}
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("%s: %s mounts a service account token it does not need", dir, who)
	}
}

var shardArg = regexp.MustCompile(`^job/(\d+)$`)

// checkJob: the shards' Job is Indexed, one pod per shard, and its
// --shard job/N agrees with its completions.
func checkJob(t *testing.T, dir string, j *batchv1.Job) {
	t.Helper()
	args := j.Spec.Template.Spec.Containers[0].Args
	i := slices.Index(args, "--shard")
	if i < 0 {
		return // the merge Job
	}
	if j.Spec.CompletionMode == nil || *j.Spec.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("%s: Job %s runs shards but is not Indexed: its completion index is the shard", dir, j.Name)
	}
	m := shardArg.FindStringSubmatch(args[i+1])
	if m == nil {
		t.Fatalf("%s: Job %s: --shard %q, want job/N", dir, j.Name, args[i+1])
	}
	n, _ := strconv.Atoi(m[1])
	if j.Spec.Completions == nil || int(*j.Spec.Completions) != n || j.Spec.Parallelism == nil || int(*j.Spec.Parallelism) != n {
		t.Errorf("%s: Job %s: --shard job/%d needs completions and parallelism %d, all shards at once", dir, j.Name, n, n)
	}
}

// checkPolicies: a default deny, and a policy selecting every twin pod.
func checkPolicies(t *testing.T, dir string, objs []object) {
	t.Helper()
	var pols []*networkingv1.NetworkPolicy
	for _, o := range objs {
		if p, ok := o.decoded.(*networkingv1.NetworkPolicy); ok {
			pols = append(pols, p)
		}
	}
	if !strings.HasPrefix(dir, "overlays/") {
		return
	}
	if !slices.ContainsFunc(pols, func(p *networkingv1.NetworkPolicy) bool {
		return len(p.Spec.PodSelector.MatchLabels) == 0 && len(p.Spec.Ingress) == 0
	}) {
		t.Errorf("%s: no default-deny ingress NetworkPolicy", dir)
	}
	for _, o := range objs {
		d, ok := o.decoded.(*appsv1.Deployment)
		if !ok {
			continue
		}
		lbl := d.Spec.Template.Labels
		covered := slices.ContainsFunc(pols, func(p *networkingv1.NetworkPolicy) bool {
			sel := p.Spec.PodSelector.MatchLabels
			if len(sel) == 0 || len(p.Spec.Ingress) == 0 {
				return false
			}
			for k, v := range sel {
				if lbl[k] != v {
					return false
				}
			}
			return true
		})
		if !covered {
			t.Errorf("%s: no NetworkPolicy lets anything into Deployment %s's pods", dir, d.Name)
		}
	}
}

// checkCustomResources: the brokers' sizes the issue asks for, with
// requests and limits.
func checkCustomResources(t *testing.T, dir string, objs []object) {
	t.Helper()
	for _, o := range objs {
		var v struct {
			Metadata struct {
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
			Spec struct {
				Replicas  int `json:"replicas"`
				Resources struct {
					Requests map[string]any `json:"requests"`
					Limits   map[string]any `json:"limits"`
				} `json:"resources"`
				Runner struct {
					Resources struct {
						Requests map[string]any `json:"requests"`
						Limits   map[string]any `json:"limits"`
					} `json:"resources"`
				} `json:"runner"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(o.yaml, &v); err != nil {
			t.Fatal(err)
		}
		res := v.Spec.Resources
		switch o.kind {
		case "RabbitmqCluster", "KafkaNodePool":
			if v.Spec.Replicas != 3 {
				t.Errorf("%s: %s %s has %d replicas, want 3", dir, o.kind, o.name, v.Spec.Replicas)
			}
		case "Kafka":
			if v.Metadata.Annotations["strimzi.io/kraft"] != "enabled" || v.Metadata.Annotations["strimzi.io/node-pools"] != "enabled" {
				t.Errorf("%s: Kafka %s is not in KRaft mode with node pools", dir, o.name)
			}
			continue
		case "TestRun":
			res = v.Spec.Runner.Resources
		default:
			continue
		}
		for _, r := range []string{"cpu", "memory"} {
			if res.Requests[r] == nil || res.Limits[r] == nil {
				t.Errorf("%s: %s %s has no %s request and limit", dir, o.kind, o.name, r)
			}
		}
	}
}

// The images' Dockerfiles copy only what the repository has, and the k6
// image builds k6 with the command `make k6` runs.
func TestDockerfiles(t *testing.T) {
	root := filepath.Join("..", "..")
	for _, df := range []string{filepath.Join(root, "Dockerfile"), filepath.Join("k6", "Dockerfile")} {
		body, err := os.ReadFile(df)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(body), "\n") {
			f := strings.Fields(line)
			if len(f) < 3 || !strings.EqualFold(f[0], "COPY") || strings.HasPrefix(f[1], "--from") {
				continue
			}
			for _, src := range f[1 : len(f)-1] {
				if m, _ := filepath.Glob(filepath.Join(root, src)); len(m) == 0 {
					t.Errorf("%s line %d: COPY source %q is not in the repository (the build context is its root)", df, i+1, src)
				}
			}
		}
	}
	k6df, _ := os.ReadFile(filepath.Join("k6", "Dockerfile"))
	if !bytes.Contains(k6df, []byte("go run -C xk6-eda ./cmd/k6build")) {
		t.Error("k6/Dockerfile does not build k6 as `make k6` does (go run -C xk6-eda ./cmd/k6build)")
	}
	if _, err := os.Stat(filepath.Join(root, "xk6-eda", "cmd", "k6build")); err != nil {
		t.Errorf("the k6 image's builder is gone: %v", err)
	}
	var scripts []string
	for _, o := range build(t, "k6") {
		if o.kind == "TestRun" {
			var tr struct {
				Spec struct {
					Script struct {
						ConfigMap struct{ File string } `json:"configMap"`
					} `json:"script"`
				} `json:"spec"`
			}
			if err := yaml.Unmarshal(o.yaml, &tr); err != nil {
				t.Fatal(err)
			}
			scripts = append(scripts, tr.Spec.Script.ConfigMap.File)
		}
	}
	for _, s := range scripts {
		if _, err := os.Stat(filepath.Join("k6", s)); err != nil {
			t.Errorf("a TestRun runs %s, which k6/ does not have: %v", s, err)
		}
	}
}
