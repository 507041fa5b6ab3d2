# edabench: `make bench` runs the measurements, `make test` the tests.
# Every target installs what it needs (idempotently) and starts what it needs.

GO     ?= go
BIN    := $(CURDIR)/bin
MODULE := github.com/edabench/edabench

# Pinned code generators for `make proto`.
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.0

# The suite must fit a 2-core CI machine with other jobs on it.
TEST_TIMEOUT ?= 25m

.PHONY: all build test bench proto broker-up broker-down broker-status deps clean help

all: build

help:
	@echo "make bench         build, start the private broker, run the benchmarks"
	@echo "make test          go vet and every test (starts the private RabbitMQ node itself)"
	@echo "make build         bin/target and bin/brokerctl"
	@echo "make broker-up     start (or reuse) the private RabbitMQ node; broker-down stops it"
	@echo "make proto         regenerate targets/api/orderpb from targets/api/order.proto"

build:
	$(GO) build -o $(BIN)/target ./targets/cmd/target
	$(GO) build -o $(BIN)/brokerctl ./harness/cmd/brokerctl
	$(GO) build -o $(BIN)/edabench ./harness/cmd/edabench

# Installs Debian's rabbitmq-server when missing, then starts the private
# node, so the tests that need a broker find one fast.
deps:
	$(GO) run ./harness/cmd/brokerctl up

test: deps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

# The standard suite: both twins through smoke, spike, a one-minute soak,
# the ramp, a crashed consumer and a broker restart, then the
# micro-benchmarks of the instrument itself. Each run's
# table ends with its results folder.
BENCH_OUT ?= results

bench: build deps
	$(BIN)/edabench run --scenario smoke --out $(BENCH_OUT)
	$(BIN)/edabench run --scenario spike --out $(BENCH_OUT)
	$(BIN)/edabench run --scenario soak --duration 1m --out $(BENCH_OUT)
	$(BIN)/edabench run --scenario ramp --out $(BENCH_OUT)
	$(BIN)/edabench run --scenario failure-crash --out $(BENCH_OUT)
	$(BIN)/edabench run --scenario failure-broker-restart --out $(BENCH_OUT)
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./harness/record ./harness/load ./internal/precise ./targets/workflow ./targets/rr

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

# xk6-eda: k6 with the k6/x/eda extension (xk6-eda/README.md). `make k6`
# builds bin/k6; `make k6-smoke` starts the private broker and both twins as
# the harness does and runs xk6-eda/examples/smoke.js against each, showing
# k6's end-of-test summary (SMOKE_DURATION overrides the script's 30 s).
SMOKE_DURATION ?=

.PHONY: k6 k6-smoke

k6:
	$(GO) build -o $(BIN)/k6 ./xk6-eda/cmd/k6
	$(BIN)/k6 version

k6-smoke: k6 build deps
	$(GO) run ./xk6-eda/cmd/k6smoke --k6 $(BIN)/k6 --target $(BIN)/target --script xk6-eda/examples/smoke.js --duration "$(SMOKE_DURATION)"
