package dashboards

// TestComposeStructure checks docker-compose.yml without a Docker engine
// (the development machines have none): it parses, everything it refers to
// exists, and its services, ports and mounts agree with
// deploy/prometheus.yml, the file-SD targets and the Grafana provisioning.
// Every service shares the rabbitmq service's network namespace, so every
// address is 127.0.0.1:PORT and "port P is served" means "some service of
// that namespace listens on P".

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const (
	repoRoot    = ".."
	composeFile = "docker-compose.yml"
)

type composeService struct {
	Image       string            `yaml:"image"`
	Build       yaml.Node         `yaml:"build"`
	Command     yaml.Node         `yaml:"command"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
	NetworkMode string            `yaml:"network_mode"`
	DependsOn   yaml.Node         `yaml:"depends_on"`
	Environment map[string]string `yaml:"environment"`
	Profiles    []string          `yaml:"profiles"`
}

type composeDoc struct {
	Name     string                     `yaml:"name"`
	Services map[string]*composeService `yaml:"services"`
	Volumes  map[string]any             `yaml:"volumes"`
}

// mount is one short-syntax volume entry, SOURCE:TARGET[:MODE].
type mount struct {
	source, target string
	bind           bool   // source is a host path (else a named volume)
	host           string // the bind source resolved against the repository root
}

func parseMount(s string) (mount, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return mount{}, fmt.Errorf("volume %q: want SOURCE:TARGET[:MODE]", s)
	}
	m := mount{source: parts[0], target: parts[1]}
	if strings.HasPrefix(m.source, ".") || strings.HasPrefix(m.source, "/") {
		m.bind = true
		m.host = filepath.Join(repoRoot, m.source)
	}
	if !path.IsAbs(m.target) {
		return mount{}, fmt.Errorf("volume %q: target %q is not an absolute container path", s, m.target)
	}
	return m, nil
}

// outputDirs are bind sources that a run creates (git-ignored), which
// compose creates when missing.
var outputDirs = map[string]bool{"./results": true}

func loadCompose(t *testing.T) *composeDoc {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, composeFile))
	if err != nil {
		t.Fatal(err)
	}
	var doc composeDoc
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s does not parse: %v", composeFile, err)
	}
	if len(doc.Services) == 0 {
		t.Fatalf("%s: no services", composeFile)
	}
	return &doc
}

// tokens flattens a command (list or string; an `sh -c` script included)
// into whitespace-separated words, so flags can be looked up.
func tokens(n yaml.Node) []string {
	var words []string
	switch n.Kind {
	case yaml.ScalarNode:
		words = strings.Fields(n.Value)
	case yaml.SequenceNode:
		for _, c := range n.Content {
			words = append(words, strings.Fields(c.Value)...)
		}
	}
	return words
}

// flagValues returns every value of --name (as "--name v" or "--name=v").
func flagValues(words []string, name string) []string {
	var out []string
	for i, w := range words {
		switch {
		case w == "--"+name && i+1 < len(words):
			out = append(out, words[i+1])
		case strings.HasPrefix(w, "--"+name+"="):
			out = append(out, strings.TrimPrefix(w, "--"+name+"="))
		}
	}
	return out
}

func dependsOn(n yaml.Node) []string {
	var out []string
	switch n.Kind {
	case yaml.SequenceNode:
		for _, c := range n.Content {
			out = append(out, c.Value)
		}
	case yaml.MappingNode:
		for i := 0; i < len(n.Content); i += 2 {
			out = append(out, n.Content[i].Value)
		}
	}
	return out
}

// listener is a port some compose service listens on in the shared namespace.
type listener struct {
	service, what string
	loopback      bool // bound to 127.0.0.1 only: not reachable through a published port
}

type composeModel struct {
	doc       *composeDoc
	root      string               // the service whose namespace all join
	listens   map[int][]listener   // port -> who listens
	mounts    map[string][]mount   // service -> its mounts
	words     map[string][]string  // service -> command words
	byHTTP    map[int]string       // --http port -> service
	twinSvc   map[string][2]string // service -> [--twin, --service]
	rabbitCfg map[string]string    // the mounted rabbitmq.conf
	promSvc   string               // the Prometheus service
	grafSvc   string               // the Grafana service
	harness   string               // the harness service
}

func hostPort(t *testing.T, where, addr string) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Errorf("%s: address %q: %v", where, addr, err)
		return "", 0
	}
	n, err := strconv.Atoi(p)
	if err != nil || n <= 0 {
		t.Errorf("%s: address %q: port is not a fixed number", where, addr)
		return h, 0
	}
	return h, n
}

func (m *composeModel) listen(t *testing.T, svc, what, addr string) {
	h, p := hostPort(t, fmt.Sprintf("service %s %s", svc, what), addr)
	if p == 0 {
		return
	}
	m.listens[p] = append(m.listens[p], listener{service: svc, what: what, loopback: h == "127.0.0.1" || h == "localhost" || h == "::1"})
}

// readKV reads a rabbitmq.conf style file (key = value, # comments).
func readKV(t *testing.T, file string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if ok {
			out[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return out
}

func buildModel(t *testing.T, doc *composeDoc) *composeModel {
	m := &composeModel{doc: doc, listens: map[int][]listener{}, mounts: map[string][]mount{},
		words: map[string][]string{}, byHTTP: map[int]string{}, twinSvc: map[string][2]string{}}
	names := keys(doc.Services)
	for _, name := range names {
		s := doc.Services[name]
		m.words[name] = tokens(s.Command)
		for _, v := range s.Volumes {
			mt, err := parseMount(v)
			if err != nil {
				t.Errorf("service %s: %v", name, err)
				continue
			}
			m.mounts[name] = append(m.mounts[name], mt)
		}
		switch {
		case strings.Contains(s.Image, "rabbitmq"):
			m.root = name
		case strings.Contains(s.Image, "prometheus"):
			m.promSvc = name
		case strings.Contains(s.Image, "grafana"):
			m.grafSvc = name
		}
		if slices(s.Profiles, "harness") || name == "harness" {
			m.harness = name
		}
	}
	for _, want := range []struct{ what, got string }{{"a RabbitMQ (image rabbitmq*)", m.root},
		{"a Prometheus (image *prometheus*)", m.promSvc}, {"a Grafana (image *grafana*)", m.grafSvc},
		{"the one-shot harness (profile harness)", m.harness}} {
		if want.got == "" {
			t.Fatalf("%s: no service is %s", composeFile, want.what)
		}
	}
	return m
}

func slices(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestComposeStructure(t *testing.T) {
	doc := loadCompose(t)
	m := buildModel(t, doc)
	names := keys(doc.Services)

	t.Run("references", func(t *testing.T) {
		for _, name := range names {
			s := doc.Services[name]
			if s.Image == "" && s.Build.Kind == 0 {
				t.Errorf("service %s: neither image nor build", name)
			}
			if s.Build.Kind != 0 {
				checkBuild(t, name, s.Build)
			}
			for _, mt := range m.mounts[name] {
				if mt.bind {
					if _, err := os.Stat(mt.host); err != nil && !outputDirs[mt.source] {
						t.Errorf("service %s: bind mount source %s (for %s) does not exist: %v", name, mt.source, mt.target, err)
					}
				} else if _, ok := doc.Volumes[mt.source]; !ok {
					t.Errorf("service %s: named volume %q is not declared under the top-level volumes: (have %v)", name, mt.source, keys(doc.Volumes))
				}
			}
			if nm := s.NetworkMode; nm != "" {
				if peer, ok := strings.CutPrefix(nm, "service:"); !ok || doc.Services[peer] == nil {
					t.Errorf("service %s: network_mode %q: want service:<a service of this file>", name, nm)
				}
			}
			for _, d := range dependsOn(s.DependsOn) {
				if doc.Services[d] == nil {
					t.Errorf("service %s: depends_on %q, which is not a service", name, d)
				}
			}
		}
		for v := range doc.Volumes {
			used := false
			for _, name := range names {
				for _, mt := range m.mounts[name] {
					used = used || (!mt.bind && mt.source == v)
				}
			}
			if !used {
				t.Errorf("top-level volume %q is mounted by no service", v)
			}
		}
	})

	// One namespace: every service but the root joins the root's, so
	// 127.0.0.1 reaches every other service, as in prometheus.yml.
	t.Run("namespace", func(t *testing.T) {
		for _, name := range names {
			if name == m.root {
				if nm := doc.Services[name].NetworkMode; nm != "" {
					t.Errorf("service %s owns the shared namespace but has network_mode %q", name, nm)
				}
				continue
			}
			if nm := doc.Services[name].NetworkMode; nm != "service:"+m.root {
				t.Errorf("service %s: network_mode %q, want \"service:%s\": prometheus.yml and the provisioning reach every service on 127.0.0.1", name, nm, m.root)
			}
			if len(doc.Services[name].Ports) > 0 {
				t.Errorf("service %s publishes ports, which a service in another's namespace cannot: publish them on %s", name, m.root)
			}
		}
	})

	collectListeners(t, m)

	t.Run("ports", func(t *testing.T) {
		ports := intKeys(m.listens)
		for _, p := range ports {
			if ls := m.listens[p]; len(ls) > 1 {
				t.Errorf("port %d is taken twice in the shared namespace: %v", p, ls)
			}
		}
		// A published port reaches the container's interface, not its
		// loopback: the service behind it must listen beyond 127.0.0.1.
		for _, spec := range doc.Services[m.root].Ports {
			parts := strings.Split(spec, ":")
			c, err := strconv.Atoi(strings.TrimSuffix(parts[len(parts)-1], "/tcp"))
			if err != nil {
				t.Errorf("service %s: ports entry %q: container port is not a number", m.root, spec)
				continue
			}
			if len(parts) != 3 || parts[0] != "127.0.0.1" {
				t.Errorf("service %s: ports entry %q: publish on the host's loopback only (127.0.0.1:HOST:CONTAINER)", m.root, spec)
			}
			ls := m.listens[c]
			if len(ls) == 0 {
				t.Errorf("service %s publishes port %d, on which no service of the namespace listens", m.root, c)
				continue
			}
			for _, l := range ls {
				if l.loopback {
					t.Errorf("port %d is published but %s listens on it (%s) on 127.0.0.1 only, which a published port does not reach: listen on 0.0.0.0 inside the container", c, l.service, l.what)
				}
			}
		}
	})

	t.Run("prometheus", func(t *testing.T) { checkPrometheus(t, m) })
	t.Run("grafana", func(t *testing.T) { checkGrafana(t, m) })
	t.Run("harness", func(t *testing.T) { checkHarness(t, m) })
	t.Run("kafka", func(t *testing.T) { checkKafka(t, m) })
}

// checkKafka: the kafka profile runs a single-node Kafka 4 in KRaft mode
// (apache/kafka), the EDA twin over it reaches it where it advertises
// itself and declares the harness's end queue, and the one-shot harness
// over Kafka drives that twin with the twin's own broker URL and prefix.
func checkKafka(t *testing.T, m *composeModel) {
	var node string
	for _, name := range keys(m.doc.Services) {
		if strings.HasPrefix(m.doc.Services[name].Image, "apache/kafka:") {
			node = name
		}
	}
	if node == "" {
		t.Fatalf("%s: no service runs the official apache/kafka image", composeFile)
	}
	s := m.doc.Services[node]
	if !strings.HasPrefix(s.Image, "apache/kafka:4.") {
		t.Errorf("service %s: image %s, want apache/kafka:4.x (KRaft, as the private node)", node, s.Image)
	}
	if !slices(s.Profiles, "kafka") {
		t.Errorf("service %s: profiles %v, want kafka: RabbitMQ users should not start a JVM", node, s.Profiles)
	}
	env := s.Environment
	if roles := env["KAFKA_PROCESS_ROLES"]; !strings.Contains(roles, "broker") || !strings.Contains(roles, "controller") {
		t.Errorf("service %s: KAFKA_PROCESS_ROLES %q, want broker,controller (one KRaft node)", node, roles)
	}
	if _, zk := env["KAFKA_ZOOKEEPER_CONNECT"]; zk {
		t.Errorf("service %s: KAFKA_ZOOKEEPER_CONNECT: Kafka 4 has no ZooKeeper mode", node)
	}
	var advertised string
	for _, l := range strings.Split(env["KAFKA_ADVERTISED_LISTENERS"], ",") {
		if name, addr, ok := strings.Cut(strings.TrimSpace(l), "://"); ok && name == "PLAINTEXT" {
			advertised = addr
		}
	}
	if h, p := hostPort(t, "KAFKA_ADVERTISED_LISTENERS", advertised); h != "127.0.0.1" || !listensOn(m, node, p) {
		t.Fatalf("service %s: advertises %q, want 127.0.0.1:PORT of one of its KAFKA_LISTENERS", node, advertised)
	}
	prefixes, gateways := map[string]bool{}, map[string]bool{}
	for _, name := range keys(m.doc.Services) {
		w := m.words[name]
		if b := flagValues(w, "broker"); len(b) != 1 || b[0] != "kafka" {
			continue
		}
		where := "service " + name
		sv := m.doc.Services[name]
		if !slices(sv.Profiles, "kafka") || !slices(dependsOn(sv.DependsOn), node) {
			t.Errorf("%s: over Kafka but profiles %v, depends_on %v: want profile kafka and a dependency on %s", where, sv.Profiles, dependsOn(sv.DependsOn), node)
		}
		if u := flagValues(w, "broker-url"); len(u) != 1 || u[0] != advertised {
			t.Errorf("%s: --broker-url %v, want %s (where %s advertises itself)", where, u, advertised, node)
		}
		if len(flagValues(w, "amqp")) > 0 {
			t.Errorf("%s: --amqp with --broker kafka", where)
		}
		prefix := flagValues(w, "prefix")
		if len(prefix) != 1 {
			t.Errorf("%s: want one --prefix, have %v", where, prefix)
			continue
		}
		if flagValues(w, "target") != nil {
			continue // the harness, checked below
		}
		prefixes[prefix[0]] = true
		if eq := flagValues(w, "end-queue"); len(eq) != 1 || eq[0] != prefix[0]+".harness" {
			t.Errorf("%s: --end-queue %v, want %s.harness: over Kafka the twin produces an order's end only to the queues it declared", where, eq, prefix[0])
		}
		if m.twinSvc[name][1] == "gateway" {
			for _, a := range flagValues(w, "listen") {
				gateways[a] = true
			}
		}
	}
	if len(prefixes) != 1 || len(gateways) != 1 {
		t.Fatalf("the twin over Kafka: prefixes %v, gateways %v: want one twin, one gateway", keys(prefixes), keys(gateways))
	}
	var harness string
	for _, name := range keys(m.doc.Services) {
		w := m.words[name]
		if b := flagValues(w, "broker"); len(b) == 1 && b[0] == "kafka" && flagValues(w, "target") != nil {
			harness = name
		}
	}
	if harness == "" {
		t.Fatalf("no one-shot harness runs --target ... --broker kafka")
	}
	w := m.words[harness]
	if tg := flagValues(w, "target"); len(tg) != 1 || !gateways[tg[0]] {
		t.Errorf("service %s: --target %v, want the gateway over Kafka %v", harness, tg, keys(gateways))
	}
	if p := flagValues(w, "prefix"); len(p) != 1 || !prefixes[p[0]] {
		t.Errorf("service %s: --prefix %v, want the twin's %v", harness, p, keys(prefixes))
	}
	if !slices(m.doc.Services[harness].Profiles, "kafka") {
		t.Errorf("service %s: not in profile kafka", harness)
	}
}

func listensOn(m *composeModel, svc string, port int) bool {
	for _, l := range m.listens[port] {
		if l.service == svc {
			return true
		}
	}
	return false
}

func checkBuild(t *testing.T, name string, n yaml.Node) {
	t.Helper()
	var b struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	}
	if n.Kind == yaml.ScalarNode {
		b.Context = n.Value
	} else if err := n.Decode(&b); err != nil {
		t.Errorf("service %s: build: %v", name, err)
		return
	}
	if b.Dockerfile == "" {
		b.Dockerfile = "Dockerfile"
	}
	ctx := filepath.Join(repoRoot, b.Context)
	if st, err := os.Stat(ctx); err != nil || !st.IsDir() {
		t.Errorf("service %s: build context %q is not a directory: %v", name, b.Context, err)
		return
	}
	df := filepath.Join(ctx, b.Dockerfile)
	body, err := os.ReadFile(df)
	if err != nil {
		t.Errorf("service %s: Dockerfile %q: %v", name, b.Dockerfile, err)
		return
	}
	// Every COPY source from the context (not --from a stage) exists.
	for i, line := range strings.Split(string(body), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || !strings.EqualFold(f[0], "COPY") {
			continue
		}
		args := f[1:]
		for len(args) > 0 && strings.HasPrefix(args[0], "--") {
			if strings.HasPrefix(args[0], "--from") {
				args = nil
				break
			}
			args = args[1:]
		}
		if len(args) < 2 {
			continue
		}
		for _, src := range args[:len(args)-1] {
			matches, _ := filepath.Glob(filepath.Join(ctx, src))
			if len(matches) == 0 {
				t.Errorf("service %s: %s line %d: COPY source %q does not exist in the build context", name, b.Dockerfile, i+1, src)
			}
		}
	}
}

// collectListeners records what each service listens on, from its command
// flags, environment and config files.
func collectListeners(t *testing.T, m *composeModel) {
	t.Helper()
	for _, name := range keys(m.doc.Services) {
		s := m.doc.Services[name]
		w := m.words[name]
		for _, a := range flagValues(w, "http") {
			m.listen(t, name, "--http", a)
			_, p := hostPort(t, name, a)
			m.byHTTP[p] = name
		}
		for _, a := range flagValues(w, "listen") {
			m.listen(t, name, "--listen", a)
		}
		if tw, sv := flagValues(w, "twin"), flagValues(w, "service"); len(tw) == 1 && len(sv) == 1 {
			m.twinSvc[name] = [2]string{tw[0], sv[0]}
		}
		for _, a := range flagValues(w, "web.listen-address") {
			m.listen(t, name, "--web.listen-address", a)
		}
		// The harness runs one twin after the other on the same address.
		if ma := flagValues(w, "metrics-addr"); len(ma) > 0 {
			for _, a := range ma[1:] {
				if a != ma[0] {
					t.Errorf("service %s: --metrics-addr %s and %s: one address, so one scrape target", name, ma[0], a)
				}
			}
			m.listen(t, name, "--metrics-addr", ma[0])
		}
		if p, ok := s.Environment["GF_SERVER_HTTP_PORT"]; ok {
			addr := s.Environment["GF_SERVER_HTTP_ADDR"]
			if addr == "" {
				addr = "0.0.0.0"
			}
			m.listen(t, name, "GF_SERVER_HTTP_ADDR:PORT", net.JoinHostPort(addr, p))
		} else if name == m.grafSvc {
			m.listen(t, name, "Grafana's default", "0.0.0.0:3000")
		}
	}
	// Kafka: its listeners (KAFKA_LISTENERS, NAME://HOST:PORT,...).
	for _, name := range keys(m.doc.Services) {
		for _, l := range strings.Split(m.doc.Services[name].Environment["KAFKA_LISTENERS"], ",") {
			if _, addr, ok := strings.Cut(strings.TrimSpace(l), "://"); ok {
				m.listen(t, name, "KAFKA_LISTENERS", addr)
			}
		}
	}
	// RabbitMQ: its ports from the mounted conf.d file (all interfaces).
	for _, mt := range m.mounts[m.root] {
		if strings.HasPrefix(mt.target, "/etc/rabbitmq/conf.d/") || mt.target == "/etc/rabbitmq/rabbitmq.conf" {
			m.rabbitCfg = readKV(t, mt.host)
		}
		if mt.target == "/etc/rabbitmq/enabled_plugins" {
			b, err := os.ReadFile(mt.host)
			if err != nil {
				t.Fatal(err)
			}
			for _, pl := range []string{"rabbitmq_management", "rabbitmq_prometheus"} {
				if !strings.Contains(string(b), pl) {
					t.Errorf("%s does not enable %s", mt.source, pl)
				}
			}
		}
	}
	if m.rabbitCfg == nil {
		t.Fatalf("service %s mounts no rabbitmq.conf: its ports are RabbitMQ's defaults, not the private node's that prometheus.yml scrapes", m.root)
	}
	for key, def := range map[string]string{"listeners.tcp.default": "5672", "management.tcp.port": "15672", "prometheus.tcp.port": "15692"} {
		v := m.rabbitCfg[key]
		if v == "" {
			v = def
		}
		m.listen(t, m.root, key, "0.0.0.0:"+v)
	}
}

// scrapeTarget is one host:port Prometheus scrapes, with where it came from.
type scrapeTarget struct {
	job, addr, from string
	labels          map[string]string
}

func checkPrometheus(t *testing.T, m *composeModel) {
	w := m.words[m.promSvc]
	cfgs := flagValues(w, "config.file")
	if len(cfgs) != 1 {
		t.Fatalf("service %s: want one --config.file, have %v", m.promSvc, cfgs)
	}
	if !slices(w, "--web.enable-remote-write-receiver") {
		t.Errorf("service %s: no --web.enable-remote-write-receiver: k6's remote-write output (the k6 dashboard) has nowhere to write", m.promSvc)
	}
	var cfgMount *mount
	for i, mt := range m.mounts[m.promSvc] {
		if mt.target == cfgs[0] {
			cfgMount = &m.mounts[m.promSvc][i]
		}
	}
	if cfgMount == nil || !cfgMount.bind {
		t.Fatalf("service %s: --config.file %s is not a bind mount of this repository's file", m.promSvc, cfgs[0])
	}
	if filepath.Clean(cfgMount.source) != filepath.Clean("./deploy/prometheus.yml") {
		t.Errorf("service %s: --config.file %s is %s, want ./deploy/prometheus.yml (the file make observe uses)", m.promSvc, cfgs[0], cfgMount.source)
	}
	b, err := os.ReadFile(cfgMount.host)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string          `yaml:"targets"`
				Labels  map[string]string `yaml:"labels"`
			} `yaml:"static_configs"`
			FileSDConfigs []struct {
				Files []string `yaml:"files"`
			} `yaml:"file_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("%s does not parse: %v", cfgMount.source, err)
	}
	cfgDir := path.Dir(cfgs[0])
	var targets []scrapeTarget
	globsWrittenByHarness := map[string]bool{}
	for _, sc := range cfg.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, a := range st.Targets {
				targets = append(targets, scrapeTarget{job: sc.JobName, addr: a, from: "static_configs", labels: st.Labels})
			}
		}
		for _, fsd := range sc.FileSDConfigs {
			for _, g := range fsd.Files {
				glob := g
				if !path.IsAbs(glob) {
					glob = path.Join(cfgDir, glob)
				}
				// Where does this glob's directory come from inside the container?
				dir := path.Dir(glob)
				var fromVolume string
				for _, mt := range m.mounts[m.promSvc] {
					switch {
					case mt.bind && mt.target != cfgs[0]:
						if ok, _ := path.Match(glob, mt.target); ok {
							tt := readFileSD(t, mt, sc.JobName)
							targets = append(targets, tt...)
						}
					case !mt.bind && mt.target == dir:
						fromVolume = mt.source
					}
				}
				if fromVolume != "" {
					globsWrittenByHarness[fromVolume+" "+path.Base(glob)] = true
				}
			}
		}
	}
	// The harness writes harness.json, rr.json, eda.json into
	// $EDABENCH_SD_DIR: that must be the volume Prometheus reads them from.
	sdEnv := m.doc.Services[m.harness].Environment["EDABENCH_SD_DIR"]
	if sdEnv == "" {
		t.Errorf("service %s: no EDABENCH_SD_DIR: the harness writes no file-SD target, so Prometheus never scrapes it", m.harness)
	} else {
		var vol string
		for _, mt := range m.mounts[m.harness] {
			if mt.target == sdEnv && !mt.bind {
				vol = mt.source
			}
		}
		if vol == "" {
			t.Errorf("service %s: EDABENCH_SD_DIR=%s is not a named volume mount, so Prometheus cannot read what the harness writes there", m.harness, sdEnv)
		} else if !globsWrittenByHarness[vol+" harness*.json"] {
			t.Errorf("service %s writes harness.json into volume %q, but no file_sd_configs glob harness*.json of %s reads from that volume (have %v)", m.harness, vol, cfgMount.source, keys(globsWrittenByHarness))
		}
	}
	if len(targets) == 0 {
		t.Fatalf("Prometheus in compose scrapes nothing")
	}
	scraped := map[int]bool{}
	for _, st := range targets {
		where := fmt.Sprintf("job %s target %s (%s)", st.job, st.addr, st.from)
		h, p := hostPort(t, where, st.addr)
		if p == 0 {
			continue
		}
		scraped[p] = true
		if h != "127.0.0.1" {
			t.Errorf("%s: host %q, want 127.0.0.1 (every compose service shares %s's namespace)", where, h, m.root)
		}
		ls := m.listens[p]
		if len(ls) == 0 {
			t.Errorf("%s: no compose service listens on port %d (listening: %s)", where, p, m.describeListens())
			continue
		}
		if svc, ok := m.byHTTP[p]; ok {
			ts := m.twinSvc[svc]
			if st.labels["twin"] != ts[0] || st.labels["service"] != ts[1] {
				t.Errorf("%s: labels twin=%q service=%q, but compose service %s is --twin %s --service %s", where, st.labels["twin"], st.labels["service"], svc, ts[0], ts[1])
			}
		}
		if st.job == "rabbitmq" && m.rabbitCfg["prometheus.tcp.port"] != strconv.Itoa(p) {
			t.Errorf("%s: the broker's rabbitmq_prometheus listens on prometheus.tcp.port=%s", where, m.rabbitCfg["prometheus.tcp.port"])
		}
	}
	// Conversely: every service's /metrics is scraped.
	for _, p := range intKeys(m.byHTTP) {
		if !scraped[p] {
			t.Errorf("service %s serves /metrics on 127.0.0.1:%d, which no scrape config (static or file-SD mounted in %s) covers", m.byHTTP[p], p, m.promSvc)
		}
	}
}

func readFileSD(t *testing.T, mt mount, job string) []scrapeTarget {
	t.Helper()
	b, err := os.ReadFile(mt.host)
	if err != nil {
		t.Errorf("file-SD %s: %v", mt.source, err)
		return nil
	}
	var groups []struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	if err := json.Unmarshal(b, &groups); err != nil {
		t.Errorf("file-SD %s does not parse as Prometheus file_sd JSON: %v", mt.source, err)
		return nil
	}
	var out []scrapeTarget
	for _, g := range groups {
		for _, a := range g.Targets {
			out = append(out, scrapeTarget{job: job, addr: a, from: mt.source, labels: g.Labels})
		}
	}
	return out
}

func (m *composeModel) describeListens() string {
	var parts []string
	for _, p := range intKeys(m.listens) {
		parts = append(parts, fmt.Sprintf("%d=%s", p, m.listens[p][0].service))
	}
	return strings.Join(parts, " ")
}

func checkGrafana(t *testing.T, m *composeModel) {
	s := m.doc.Services[m.grafSvc]
	byTarget := map[string]mount{}
	for _, mt := range m.mounts[m.grafSvc] {
		byTarget[mt.target] = mt
	}
	for _, kind := range []string{"datasources", "dashboards"} {
		target := "/etc/grafana/provisioning/" + kind
		mt, ok := byTarget[target]
		if !ok {
			t.Errorf("service %s: nothing mounted at %s: Grafana provisions no %s", m.grafSvc, target, kind)
			continue
		}
		if filepath.Clean(mt.source) != filepath.Clean("./dashboards/provisioning/"+kind) {
			t.Errorf("service %s: %s is %s, want ./dashboards/provisioning/%s", m.grafSvc, target, mt.source, kind)
		}
		if files, _ := filepath.Glob(filepath.Join(mt.host, "*.yaml")); len(files) == 0 {
			t.Errorf("service %s: %s (mounted at %s) holds no *.yaml", m.grafSvc, mt.source, target)
		}
	}

	// The dashboard provider's path is where ./dashboards is mounted.
	files, _ := filepath.Glob("provisioning/dashboards/*.yaml")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Providers []struct {
				Name    string `yaml:"name"`
				Options struct {
					Path string `yaml:"path"`
				} `yaml:"options"`
			} `yaml:"providers"`
		}
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, p := range doc.Providers {
			mt, ok := byTarget[p.Options.Path]
			if !ok {
				t.Errorf("%s: provider %s reads %s, where service %s mounts nothing (mounts: %v)", f, p.Name, p.Options.Path, m.grafSvc, keys(byTarget))
				continue
			}
			if dj, _ := filepath.Glob(filepath.Join(mt.host, "*.json")); len(dj) == 0 {
				t.Errorf("%s: provider %s reads %s, mounted from %s, which holds no dashboard JSON", f, p.Name, p.Options.Path, mt.source)
			}
		}
	}
	if home := s.Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]; home != "" {
		found := false
		for _, mt := range m.mounts[m.grafSvc] {
			if rel, ok := strings.CutPrefix(home, mt.target+"/"); ok && mt.bind {
				if _, err := os.Stat(filepath.Join(mt.host, rel)); err != nil {
					t.Errorf("service %s: GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH %s: %v", m.grafSvc, home, err)
				}
				found = true
			}
		}
		if !found {
			t.Errorf("service %s: GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH %s is under no mount", m.grafSvc, home)
		}
	}
	if s.Environment["GF_AUTH_ANONYMOUS_ENABLED"] != "true" || s.Environment["GF_AUTH_ANONYMOUS_ORG_ROLE"] != "Viewer" {
		t.Errorf("service %s: want anonymous read-only access (GF_AUTH_ANONYMOUS_ENABLED=true, GF_AUTH_ANONYMOUS_ORG_ROLE=Viewer)", m.grafSvc)
	}

	// The provisioned datasource reaches the compose Prometheus.
	promAddr := flagValues(m.words[m.promSvc], "web.listen-address")
	promPort := 9090 // Prometheus's default
	if len(promAddr) == 1 {
		_, promPort = hostPort(t, m.promSvc, promAddr[0])
	}
	for uid, ds := range provisionedDatasources(t) {
		if ds["type"] != "prometheus" {
			continue
		}
		raw, _ := ds["url"].(string)
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			t.Errorf("datasource %s: url %q: %v", uid, raw, err)
			continue
		}
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		if u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost" {
			t.Errorf("datasource %s: url %s: host %q, want 127.0.0.1 (Grafana shares %s's namespace with Prometheus)", uid, raw, u.Hostname(), m.root)
		}
		if port != strconv.Itoa(promPort) {
			t.Errorf("datasource %s: url %s: port %s, but service %s listens on %d", uid, raw, port, m.promSvc, promPort)
		}
	}
}

var addrRE = regexp.MustCompile(`^amqp://[^@]*@?([^/]+)/?(.*)$`)

// checkHarness: the one-shot harness drives the compose twins.
func checkHarness(t *testing.T, m *composeModel) {
	w := m.words[m.harness]
	gateways := map[string]string{} // --listen addr of the gateways -> twin
	prefixes := map[string]bool{}
	for name, ts := range m.twinSvc {
		if ts[1] == "gateway" {
			for _, a := range flagValues(m.words[name], "listen") {
				gateways[a] = ts[0]
			}
		}
		if ts[0] == "eda" {
			for _, p := range flagValues(m.words[name], "prefix") {
				prefixes[p] = true
			}
		}
		for _, u := range flagValues(m.words[name], "amqp") {
			checkAMQP(t, m, "service "+name, u)
		}
	}
	targets := flagValues(w, "target")
	twins := flagValues(w, "twin")
	if len(targets) == 0 || len(targets) != len(twins) {
		t.Fatalf("service %s: want one --twin per --target, have --twin %v --target %v", m.harness, twins, targets)
	}
	for i, a := range targets {
		if gateways[a] != twins[i] {
			t.Errorf("service %s: --twin %s --target %s, but the %s gateway of compose listens on %v", m.harness, twins[i], a, twins[i], keys(gateways))
		}
	}
	for _, p := range flagValues(w, "prefix") {
		if !prefixes[p] {
			t.Errorf("service %s: --prefix %s, but the EDA services use %v", m.harness, p, keys(prefixes))
		}
	}
	for _, u := range flagValues(w, "amqp") {
		checkAMQP(t, m, "service "+m.harness, u)
	}
	if !slices(dependsOn(m.doc.Services[m.harness].DependsOn), m.promSvc) {
		t.Errorf("service %s does not depend on %s: the run could end before it is scraped", m.harness, m.promSvc)
	}
}

func checkAMQP(t *testing.T, m *composeModel, where, raw string) {
	t.Helper()
	mm := addrRE.FindStringSubmatch(raw)
	if mm == nil {
		t.Errorf("%s: --amqp %q is not amqp://user:pass@host:port/", where, raw)
		return
	}
	h, p := hostPort(t, where, mm[1])
	if want := m.rabbitCfg["listeners.tcp.default"]; strconv.Itoa(p) != want || h != "127.0.0.1" {
		t.Errorf("%s: --amqp %s, but the broker listens on 127.0.0.1:%s (listeners.tcp.default)", where, raw, want)
	}
}

func intKeys[V any](m map[int]V) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}
