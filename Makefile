# edabench: `make bench` runs the measurements, `make test` the tests.
# Every target installs what it needs (idempotently) and starts what it needs.

GO     ?= go
BIN    := $(CURDIR)/bin
MODULE := github.com/edabench/edabench

# ghz, the gRPC load tool `make bench-instrument` measures edabench against.
GHZ_VERSION := v0.120.0

# Pinned code generators for `make proto`.
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.0

# The suite must fit a 2-core CI machine with other jobs on it.
TEST_TIMEOUT ?= 25m

.PHONY: all build install test test-short bench bench-cluster bench-micro gate-ci proto broker-up broker-down broker-status deps nftables clean help

all: build

help:
	@echo "make bench         the standard suite on every backbone (BROKERS=rabbitmq,kafka,nats; RR's scenarios once), the verdict as claim x backbone,"
	@echo "                   a report per run: under 20 minutes on 2 cores (REPEAT=N repeats each scenario; BROKERS=rabbitmq for one)"
	@echo "make bench-full    make bench with REPEAT=3: every verdict figure with an interval (about 75 minutes on 2 cores for the three backbones, estimated from one pass's 26),"
	@echo "                   then bench-profiles into the same folder (PROFILES=\"datacenter/shared loopback/isolated datacenter/isolated\"; PROFILES= skips)"
	@echo "                   (CLUSTER=1: bench-cluster into it too, before the profiles)"
	@echo "make bench-profiles  the profile-dependent claims (1, 2, 3, 4, 8, 9) under each NETWORK/DEPLOYMENT of PROFILES, and the verdict"
	@echo "make bench-cluster the replicated deployment: smoke, spike and the leader killed and paused on three-node clusters (BROKERS=rabbitmq,kafka),"
	@echo "                   the verdict's x3 columns and the cost of replication; BENCH_DIR=the folder of a make bench to put both deployments side by side"
	@echo "make test          go vet and every test (starts the private RabbitMQ node itself)"
	@echo "make gate-ci       a 20 s smoke run of both twins, checked against gates/ci.yaml (JUnit in results/ci)"
	@echo "make build         bin/target, bin/brokerctl and bin/edabench"
	@echo "make install       go install edabench (one binary: scenarios built in, serves the twins itself)"
	@echo "make broker-up     start (or reuse) the private RabbitMQ node; broker-down stops it"
	@echo "make kafka         fetch Apache Kafka's jars for the private Kafka node (brokerctl up --broker kafka)"
	@echo "make nats          build nats-server for the private NATS JetStream node (brokerctl up --broker nats)"
	@echo "make proto         regenerate targets/api/orderpb from targets/api/order.proto"
	@echo "make bench-instrument  edabench against ghz and k6: cost, latency fidelity, the EDA twin's share of its broker's ceiling (RabbitMQ, Kafka, NATS), soak memory, suite time, the floor (a bare grpc-go client)"

build:
	$(GO) build -o $(BIN)/target ./targets/cmd/target
	$(GO) build -o $(BIN)/brokerctl ./harness/cmd/brokerctl
	$(GO) build -o $(BIN)/edabench ./harness/cmd/edabench

# Into GOBIN (or GOPATH/bin): runs from any directory, see README, Installing it.
install:
	$(GO) install ./harness/cmd/edabench

# Installs Debian's rabbitmq-server when missing, then starts the private
# node, so the tests that need a broker find one fast; fetches Kafka's jars
# (make kafka: about 10 s and 45 MB the first time, nothing after); builds
# nats-server (make nats: about a minute the first time, nothing after).
deps: kafka nats nftables
	$(GO) run ./harness/cmd/brokerctl up

# nft(8), with which partition-node cuts one cluster member off the network
# (harness/netcut: an nftables table of its own per cut); from Debian when
# missing, nothing after.
nftables:
	@command -v nft >/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nftables; }

# Apache Kafka for the private Kafka node (harness/kafkanode, `brokerctl up
# --broker kafka`): the broker and its runtime dependencies from Maven
# Central, fetched with Maven (deploy/kafka/pom.xml) into
# KAFKA_CACHE/KAFKA_VERSION/libs, where the node looks by default (keep
# KAFKA_VERSION equal to kafkanode.Version; a test checks). Idempotent: the
# .fetched marker is written last and holds the pom's SHA-256, so an
# interrupted fetch is redone, a finished one never, and a pom that lists
# other artifacts (kafka-tools was added for the consumer-group tool)
# refetches an older cache once. Java 17+ and Maven come from Debian when
# missing.
KAFKA_VERSION := 4.4.0
KAFKA_CACHE   ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/edabench/kafka
KAFKA_LIBS    := $(KAFKA_CACHE)/$(KAFKA_VERSION)/libs
KAFKA_POM_SUM  = $(firstword $(shell sha256sum deploy/kafka/pom.xml))

# nats-server for the private NATS node (harness/natsnode, `brokerctl up
# --broker nats`), built from the Go module proxy with go install into
# NATS_CACHE/NATS_VERSION/bin, where the node looks by default (keep
# NATS_VERSION equal to natsnode.Version; a test checks). Idempotent: the
# binary is rebuilt only when it is missing or reports another version.
NATS_VERSION := v2.15.3
NATS_CACHE   ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/edabench/nats
NATS_BIN     := $(NATS_CACHE)/$(NATS_VERSION)/bin

.PHONY: nats
nats:
	@"$(NATS_BIN)/nats-server" --version 2>/dev/null | grep -qx "nats-server: $(NATS_VERSION)" || { \
		echo "building nats-server $(NATS_VERSION) into $(NATS_BIN)" && \
		GOBIN="$(NATS_BIN)" GOFLAGS=-buildvcs=false $(GO) install github.com/nats-io/nats-server/v2@$(NATS_VERSION); } || \
		{ echo "make nats: building nats-server $(NATS_VERSION) failed (see above)" >&2; exit 1; }

.PHONY: java kafka

java:
	@command -v java >/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openjdk-17-jre-headless; }

kafka: java
	@test "$$(cat "$(KAFKA_LIBS)/.fetched" 2>/dev/null)" = "$(KAFKA_POM_SUM)" || { \
		command -v mvn >/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends maven; } && \
		echo "fetching Apache Kafka $(KAFKA_VERSION) into $(KAFKA_LIBS)" && \
		rm -rf "$(KAFKA_LIBS).tmp" && \
		mvn -B -q -f deploy/kafka/pom.xml dependency:copy-dependencies \
			-Dkafka.version=$(KAFKA_VERSION) -Dkafka.libs="$(KAFKA_LIBS).tmp" && \
		rm -rf "$(KAFKA_LIBS)" && mv "$(KAFKA_LIBS).tmp" "$(KAFKA_LIBS)" && \
		echo "$(KAFKA_POM_SUM)" > "$(KAFKA_LIBS)/.fetched"; } || { echo "make kafka: fetching Kafka $(KAFKA_VERSION) with Maven failed (see above)" >&2; exit 1; }

# Debian's chromium, for the test that opens a report in a headless browser.
.PHONY: chromium
chromium:
	@command -v chromium >/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

# xk6-eda is a module of its own (so edabench's module never requires k6):
# its vet and tests run from its directory. So is deploy/k8s (the
# Kubernetes manifests' test needs kustomize and the Kubernetes API types,
# which edabench's module does not require): its test builds every overlay
# and decodes each object strictly, pure logic with no cluster.
# The pure-logic tier: no broker, no child processes, no installs. Tests that
# need more skip saying what they need; make test runs them all.
test-short:
	$(GO) test -short -count=1 ./...
	cd xk6-eda && $(GO) test -short -count=1 ./...
	cd deploy/k8s && $(GO) test -short -count=1 ./...

test: deps chromium
	$(GO) vet ./...
	cd xk6-eda && $(GO) vet ./...
	cd deploy/k8s && $(GO) vet ./...
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...
	cd xk6-eda && $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...
	cd deploy/k8s && $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

# The standard suite, into one folder per bench: every scenario the
# verdict's claims need, each on the twins its claims compare (all three for
# the light load and the crashed consumer, which decide the hybrid's claim;
# rr and eda for the spike and the slowed step; rr alone for the chains of
# 2 to 5 hops; eda alone for the broker restart, which RR does not use; the
# knee search, claim 3's, rr alone once and eda per backbone), the k6
# cross-check, then the verdict (verdict.md) and one report.html
# per run. The light loads (smoke, the chains, the cross-check) run first:
# after the spike or a knee search, the broker is still busy for a while deleting
# deep quorum queues, which on 2 cores shows in the next runs' latencies
# (seen: the generator dispatching 100 ms late in a chain run right after
# the ramp). Sized for a 2-core machine; `make bench-micro` runs the
# instrument's own micro-benchmarks, `edabench run --scenario soak` a soak.
#
# BROKERS are the backbones (comma-separated; `make bench BROKERS=rabbitmq`
# for one). The scenarios RR alone runs (the chains, and the k6
# cross-check, which drives its twins over RabbitMQ) run once: RR uses no
# broker, so its runs are the RR arm of every backbone's comparison (RR's
# knee search too: the verdict reads each twin's knee from the run that
# drove it). Every
# scenario with an EDA or hybrid twin runs once per backbone (edabench run
# --broker B), its arms interleaved within each run as with one backbone
# (rr, eda, hybrid: each backbone's comparison has its own RR arm, run
# minutes apart at most), the backbones one after the other within each scenario, so a
# machine that drifts over the minutes hurts both backbones alike. One
# verdict over the folder decides each claim per backbone (the matrix).
#
# Time (docs/verdict.md, "Time"): two quiet runs of 2026-12-05 with the
# ramp took 18m25s and 19m09s, both backbones. The ramp (244 s for both
# backbones) is replaced by the knee search, whose brackets decide claim 3
# to within 10% wherever the knees lie: RR's once (about 65-75 s), EDA's
# per backbone (about 70-80 s each), with 1,000 requests per step, steps
# of 2 to 4 s, a completion grace that ends when the step's orders have,
# and a 100 s bound per twin (scenarios/knee.yaml says why); the k6
# cross-check runs 10 s per twin instead of 20 (a p50 of 500 requests).
# Estimated from each step's measured time: about 18 minutes (17m45s to
# 18m35s); the slowed step stays at 30 s (claim 9 reads the 10 s before
# its window and the 15 s inside it). The others keep the durations the
# verdict's figures were sized for: the spike's stages make its backlog,
# the crash's and the broker restart's recovery must fall inside the load
# (on Kafka the broker restart's window ran to 31 s of 40).
#
# NATS JetStream is the third backbone (BROKERS=rabbitmq,kafka,nats runs
# all three); it stays out of the default until a three-backbone bench is
# measured to fit the 20-minute budget (two took 18m42s).
#
# REPEAT runs each scenario that many times (edabench run --repeat: its own
# seed and folder per repetition, the twins in one order in each), and the
# verdict decides each claim on the intervals of its figures. REPEAT=3 on
# both backbones (about 50 minutes) does not fit the 20-minute budget of
# `make bench`: the default stays 1 (every status then marked "single
# run"), and `make bench-full` runs REPEAT=3.
BENCH_OUT ?= results
BENCH_DIR := $(BENCH_OUT)/bench-$(shell date +%Y%m%d-%H%M%S)
CROSSCHECK_DURATION ?= 10s
REPEAT ?= 1
BROKERS ?= rabbitmq,kafka,nats
comma := ,
BENCH_BROKERS := $(subst $(comma), ,$(BROKERS))
# The backbones with a private cluster; by default the ones of BROKERS that have one.
CLUSTER_BROKERS := $(if $(filter file,$(origin BROKERS)),$(filter rabbitmq kafka,$(BENCH_BROKERS)),$(BENCH_BROKERS))
# One scenario on every backbone: $(call per-broker,FLAGS).
per-broker = for b in $(BENCH_BROKERS); do $(BIN)/edabench run --broker $$b $(1) --repeat $(REPEAT) --out $(BENCH_DIR) || exit $$?; done

bench: build deps
	@test -n "$(strip $(BENCH_BROKERS))" || { echo "make bench: BROKERS is empty: give one or more of rabbitmq,kafka,nats" >&2; exit 2; }
	$(if $(filter kafka,$(BENCH_BROKERS)),$(BIN)/brokerctl up --broker kafka)
	$(if $(filter nats,$(BENCH_BROKERS)),$(BIN)/brokerctl up --broker nats)
	$(call per-broker,--twin all --scenario smoke --duration 20s)
	for n in 1 2 3 4; do $(BIN)/edabench run --twin rr --scenario chain --steps $$n --duration 10s --repeat $(REPEAT) --out $(BENCH_DIR) || exit $$?; done
	$(MAKE) --no-print-directory bench-crosscheck BENCH_OUT=$(BENCH_DIR)
	$(call per-broker,--twin both --scenario spike)
	$(BIN)/edabench run --twin rr --scenario knee --repeat $(REPEAT) --out $(BENCH_DIR)
	$(call per-broker,--twin eda --scenario knee)
	$(call per-broker,--twin all --scenario failure-crash)
	$(call per-broker,--twin eda --scenario failure-broker-restart)
	$(call per-broker,--twin both --scenario failure-slow-step --duration 30s)
	$(BIN)/edabench verdict --out $(BENCH_DIR) $(BENCH_DIR)
	$(BIN)/edabench report $(BENCH_DIR)/[0-9]*/
	@echo "bench: verdict $(BENCH_DIR)/verdict.md (claim x backbone: $(BROKERS)); reports $(BENCH_DIR)/*/report.html"

# The suite with three repetitions of every scenario (about 30 minutes on 2
# cores per backbone, about 50 for both): the verdict's intervals then have
# n=3 (coverage 75% each); then the deployment profiles (bench-profiles)
# into the same folder, and one verdict over it all: a matrix column per
# backbone and profile. PROFILES= (empty) skips the profiles; CLUSTER=1
# adds bench-cluster (the x3 columns) before them.
.PHONY: bench-full
bench-full:
	$(MAKE) --no-print-directory bench REPEAT=3 BENCH_DIR=$(BENCH_DIR)
	$(if $(filter 1,$(CLUSTER)),$(MAKE) --no-print-directory bench-cluster REPEAT=3 BENCH_DIR=$(BENCH_DIR))
	$(if $(strip $(PROFILES)),$(MAKE) --no-print-directory bench-profiles REPEAT=3 BENCH_DIR=$(BENCH_DIR))

# Deployment profiles (docs/verdict.md, "Deployment profiles"): the claims
# that turn on the network and the CPUs, 1 and 8 (smoke), 2 (the chains),
# 3 (ramp), 4 (spike) and 9 (slowed step), again under each of PROFILES,
# NETWORK/DEPLOYMENT pairs (loopback/shared is the standard suite's own),
# each scenario with its own arrival process (Poisson but for the
# cross-check's uniform; edabench run --arrival on-off for bursts), into
# BENCH_DIR, then the verdict over the folder. Isolated needs root and a
# cgroup cpu controller (it says so and stops otherwise). Each profile costs
# about what the suite's matching scenarios do (about 15 minutes per
# profile and backbone at REPEAT=1 on 2 cores).
PROFILES ?= datacenter/shared loopback/isolated datacenter/isolated
profile-flags = --network $$(echo $$p | cut -d/ -f1) --deployment $$(echo $$p | cut -d/ -f2)
.PHONY: bench-profiles
bench-profiles: build deps
	@test -n "$(strip $(PROFILES))" || { echo "make bench-profiles: PROFILES is empty: give NETWORK/DEPLOYMENT pairs, e.g. PROFILES=datacenter/isolated" >&2; exit 2; }
	$(if $(filter kafka,$(BENCH_BROKERS)),$(BIN)/brokerctl up --broker kafka)
	$(if $(filter nats,$(BENCH_BROKERS)),$(BIN)/brokerctl up --broker nats)
	for p in $(PROFILES); do \
	  $(call per-broker,--twin both --scenario smoke --duration 20s $(profile-flags)); \
	  for n in 1 2 3 4; do $(BIN)/edabench run --twin rr --scenario chain --steps $$n --duration 10s --repeat $(REPEAT) $(profile-flags) --out $(BENCH_DIR) || exit $$?; done; \
	  $(call per-broker,--twin both --scenario spike $(profile-flags)); \
	  $(call per-broker,--twin both --scenario ramp $(profile-flags)); \
	  $(call per-broker,--twin both --scenario failure-slow-step --duration 30s $(profile-flags)); \
	done
	$(BIN)/edabench verdict --out $(BENCH_DIR) $(BENCH_DIR)
	@echo "bench-profiles: verdict $(BENCH_DIR)/verdict.md (claim x backbone x profile: $(PROFILES))"

# The replicated deployment (docs/verdict.md, "Broker deployments"): on a
# private three-node cluster of each of BROKERS (RabbitMQ quorum queues on
# three replicas; Kafka replication factor 3, min.insync.replicas 2), the
# smoke and the spike as make bench runs them on one node (the cost of
# replication: latency, CPU per order with every member metered), then the
# leader of the busiest queue killed, paused and cut off the network for
# 20 s at 200/s (claims 5 and 6 with the broker's own failures: lost,
# applied twice, seconds with failed orders, the new leader; EDA alone,
# since RR uses no broker), into
# BENCH_DIR, then the verdict over the folder: a column per backbone and
# deployment ("rabbitmq x3"). Given the folder of a make bench
# (BENCH_DIR=results/bench-...), the verdict has both deployments side by
# side and the cost of replication table. NATS has no private cluster yet.
# Each cluster is started once (the runs reuse it) and stopped at the end,
# its data dirs deleted, also when a run fails. About 6 minutes per
# backbone on 2 cores (estimated from the scenarios' lengths and drains),
# 2 more with the partition.
CLUSTER_NODES ?= 3
.PHONY: bench-cluster
bench-cluster: build deps
	@test -n "$(strip $(CLUSTER_BROKERS))" || { echo "make bench-cluster: BROKERS is empty: give rabbitmq, kafka or both" >&2; exit 2; }
	@test -z "$(filter-out rabbitmq kafka,$(CLUSTER_BROKERS))" || { echo "make bench-cluster: $(filter-out rabbitmq kafka,$(CLUSTER_BROKERS)) has no private cluster: BROKERS=rabbitmq,kafka" >&2; exit 2; }
	rc=0; \
	trap 'for b in $(CLUSTER_BROKERS); do $(BIN)/brokerctl down --broker $$b --cluster $(CLUSTER_NODES); done; exit 130' INT TERM; \
	for args in "--twin all --scenario smoke --duration 20s" "--twin both --scenario spike" "--twin eda --scenario failure-node-kill" "--twin eda --scenario failure-node-pause" "--twin eda --scenario failure-partition"; do \
	  for b in $(CLUSTER_BROKERS); do \
	    [ $$rc -eq 0 ] || break 2; \
	    $(BIN)/edabench run --broker $$b $$args --cluster $(CLUSTER_NODES) --repeat $(REPEAT) --out $(BENCH_DIR) || rc=$$?; \
	  done; \
	done; \
	for b in $(CLUSTER_BROKERS); do $(BIN)/brokerctl down --broker $$b --cluster $(CLUSTER_NODES) || rc=$$?; done; \
	exit $$rc
	$(BIN)/edabench verdict --out $(BENCH_DIR) $(BENCH_DIR)
	@echo "bench-cluster: verdict $(BENCH_DIR)/verdict.md (claim x backbone x deployment: $(BROKERS) on one node and $(CLUSTER_NODES))"

# The harness's observers each have a per-tick benchmark (issue 21): the
# completion consumer (harness/completion), the backlog sampler and its
# scrapes (harness/lag), the staleness probe, the interval logs
# (harness/output), the live metrics (harness/runner), and the span that
# bills them (harness/cpubill).
.PHONY: bench-micro
bench-micro:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./harness/record ./harness/load ./harness/runner ./internal/precise ./targets/workflow ./targets/rr \
		./harness/cpubill ./harness/completion ./harness/lag ./harness/staleness ./harness/output

# The CI gate: a 20 s smoke run of both twins (about 1.5 minutes with
# start-up and drain), then the run checked against gates/ci.yaml, with a
# JUnit report for the CI's test page. A run that fails part-way (exit 1)
# still leaves its partial summary under latest, so the gate runs anyway and
# its report says what went wrong; any other failure of the run (bad input,
# interrupted) stops here, as latest may then be an older run's.
GATE_OUT ?= results/ci

gate-ci: build deps
	rc=0; $(BIN)/edabench run --scenario smoke --duration 20s --out $(GATE_OUT) || rc=$$?; \
	if [ $$rc -ne 0 ] && [ $$rc -ne 1 ]; then exit $$rc; fi; \
	$(BIN)/edabench gate --file gates/ci.yaml --junit $(GATE_OUT)/junit.xml $(GATE_OUT)/latest && exit $$rc

broker-up:
	$(GO) run ./harness/cmd/brokerctl up

broker-down:
	$(GO) run ./harness/cmd/brokerctl down

broker-status:
	$(GO) run ./harness/cmd/brokerctl status

proto:
	@command -v protoc >/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y protobuf-compiler; }
	GOBIN=$(BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	GOBIN=$(BIN) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	PATH=$(BIN):$$PATH protoc -I targets/api \
		--go_out=. --go_opt=module=$(MODULE) \
		--go-grpc_out=. --go-grpc_opt=module=$(MODULE) \
		targets/api/order.proto

clean:
	rm -rf $(BIN)

# --- Observability: `make observe` runs a local Prometheus (Debian's
# prometheus package) on 127.0.0.1:$(OBSERVE_PORT) with deploy/prometheus.yml,
# its own data directory, and the remote-write receiver on (for k6). It
# creates the file-SD directory edabench writes its targets into, so every
# later `bin/edabench run` / `make bench` is scraped. Ctrl-C stops it.
OBSERVE_DIR  ?= $(HOME)/.cache/edabench/prometheus
OBSERVE_PORT ?= 9090

.PHONY: observe observe-deps

observe-deps:
	@command -v prometheus >/dev/null && command -v promtool >/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus; }

observe: observe-deps
	mkdir -p $(OBSERVE_DIR)/sd $(OBSERVE_DIR)/data
	cp deploy/prometheus.yml $(OBSERVE_DIR)/prometheus.yml
	promtool check config $(OBSERVE_DIR)/prometheus.yml
	@echo "Prometheus on http://127.0.0.1:$(OBSERVE_PORT); runs write their targets to $(OBSERVE_DIR)/sd"
	@echo "In another terminal: make bench (or bin/edabench run --scenario smoke); Grafana: see README, Observing a run"
	prometheus --config.file=$(OBSERVE_DIR)/prometheus.yml --storage.tsdb.path=$(OBSERVE_DIR)/data \
		--web.listen-address=127.0.0.1:$(OBSERVE_PORT) --web.enable-remote-write-receiver \
		--storage.tsdb.retention.time=15d

# xk6-eda: k6 with the k6/x/eda extension (xk6-eda/README.md), a Go module
# of its own. `make k6` builds bin/k6 as the xk6 builder would: a generated
# main module requiring go.k6.io/k6 (the version xk6-eda's go.mod requires)
# and the extension at its release version, replaced by this checkout
# (xk6-eda/internal/k6build); `bin/k6 version` lists the extension and its
# version. `make k6-smoke` starts the private broker and both twins as the
# harness does and runs xk6-eda/examples/smoke.js against each, showing k6's
# end-of-test summary (SMOKE_DURATION overrides the script's 30 s).
SMOKE_DURATION ?=

.PHONY: k6 k6smoke k6-smoke

k6:
	$(GO) run -C xk6-eda ./cmd/k6build --out $(BIN)/k6
	$(BIN)/k6 version

# The smoke and cross-check driver, from xk6-eda's module; run from here so
# its relative paths (scripts, --out) are the checkout's.
k6smoke:
	$(GO) build -C xk6-eda -o $(BIN)/k6smoke ./cmd/k6smoke

k6-smoke: k6 k6smoke build deps
	$(BIN)/k6smoke --k6 $(BIN)/k6 --target $(BIN)/target --script xk6-eda/examples/smoke.js --duration "$(SMOKE_DURATION)"

# The instrument checked against another: k6 with xk6-eda and edabench drive
# the same twin at the same rate and with the same arrival process (evenly
# spaced: k6's constant-arrival-rate, edabench's --arrival uniform); their
# end-to-end p50s are printed side by side (goal: within 15%; reported, not
# asserted). Part of `make bench`.
CROSSCHECK_RATE ?= 50

.PHONY: bench-crosscheck
bench-crosscheck: k6 k6smoke build deps
	$(BIN)/k6smoke --k6 $(BIN)/k6 --target $(BIN)/target --script xk6-eda/examples/smoke.js \
		--rate $(CROSSCHECK_RATE) --duration $(CROSSCHECK_DURATION) --crosscheck $(BIN)/edabench --out $(BENCH_OUT)/crosscheck

# The instrument against its peers (issue 9, docs/performance.md): ghz and
# k6 against edabench on the same twin: generator cost, latency under a
# frozen gateway, the broker's ceiling, soak memory, and `make bench`'s own
# time. Results in results/instrument-<time>/performance.md. About 50
# minutes in full (a 20-minute soak per tool, 15 for the suite); try it
# small with INSTRUMENT_FLAGS="--scale 0.1 --parts 1,2,3 --soak 1m".
INSTRUMENT_FLAGS ?=

.PHONY: ghz bench-instrument

# Installed from the Go module proxy at a pinned version, into bin/ (not a
# dependency of the module); reinstalled only when bin/ghz is another version.
ghz:
	@$(GO) version -m $(BIN)/ghz 2>/dev/null | grep -q 'mod[[:space:]]*github.com/bojand/ghz[[:space:]]*$(GHZ_VERSION)' || \
		{ echo "installing ghz $(GHZ_VERSION) into $(BIN)"; GOBIN=$(BIN) $(GO) install github.com/bojand/ghz/cmd/ghz@$(GHZ_VERSION); }

bench-instrument: build k6 ghz deps
	$(GO) run ./harness/cmd/instrument $(INSTRUMENT_FLAGS)
