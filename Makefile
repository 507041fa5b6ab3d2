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

# The standard suite: both twins through smoke, spike, a one-minute soak and
# the ramp, then the micro-benchmarks of the instrument itself. Each run's
# table ends with its results folder.
BENCH_OUT ?= results

bench: build deps
	$(BIN)/edabench run --scenario smoke --out $(BENCH_OUT)
	$(BIN)/edabench run --scenario spike --out $(BENCH_OUT)
	$(BIN)/edabench run --scenario soak --duration 1m --out $(BENCH_OUT)
	$(BIN)/edabench run --scenario ramp --out $(BENCH_OUT)
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
