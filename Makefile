# jailimg — see README.md. Every target that needs outside tools installs them
# first through hack/deps.sh (apt and the Go module proxy).
GO        ?= go
BIN       ?= bin/jailimg
export CGO_ENABLED = 0

.PHONY: all build test test-short fuzz repro demo bench vet fmt clean deps

all: build

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/jailimg

deps:
	hack/deps.sh test

# The whole suite, as CI runs it. Root-only tests run when root (and must, under CI=true).
# Then the packages whose goroutines share buffers (the unpack pipeline, the
# gzip member reader and writer) again under the race detector (cgo).
RACE_PKGS = ./internal/gzmember ./pkg/unpack
test: deps vet
	$(GO) test -count=1 -timeout 25m ./...
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 10m $(RACE_PKGS)

# Unit tests only: no root, no outside tools.
test-short:
	$(GO) test -short -count=1 ./...

# go vet, the gofmt check and staticcheck (pinned, installed by hack/deps.sh).
vet:
	hack/deps.sh vet
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	staticcheck ./...

# Each fuzz target for a while (FUZZTIME=30s by default), then how many
# inputs each one ran.
FUZZTIME ?= 30s
fuzz:
	GO=$(GO) hack/fuzz.sh $(FUZZTIME)

# Build the sample recipes twice, in two directories under two umasks, and compare digests.
repro: build
	hack/repro.sh $(BIN) recipes/*.yaml

# Build the nginx jail and show what it holds.
demo: build
	hack/deps.sh demo
	hack/demo.sh $(BIN)

# jailimg against the peers users would pick instead, side by side (bench/,
# about 10 minutes on 2 cores): rewrites docs/benchmarks.md and .png.
# Quick run: make bench BENCH_SIZE=50M BENCH_RUNS=2 BENCH_RUNS_SMALL=3
bench: build
	hack/deps.sh bench
	BENCH_SIZE=$(BENCH_SIZE) BENCH_RUNS=$(BENCH_RUNS) BENCH_RUNS_SMALL=$(BENCH_RUNS_SMALL) \
	BENCH_DIR=$(BENCH_DIR) BENCH_SECTIONS=$(BENCH_SECTIONS) BENCH_BEFORE=$(BENCH_BEFORE) GO=$(GO) $(GO) run ./bench $(BIN)

clean:
	rm -rf bin out
