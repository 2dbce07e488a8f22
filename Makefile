# mailtrace — see README.md. `make demo` and `make test` set up everything
# they need (Go modules, libchdb) on a fresh machine.

GO      ?= go
export PATH := $(PATH):/usr/local/go/bin

CHDB_VERSION := 26.5.3
CHDB_LIB     := $(CURDIR)/.cache/chdb/$(CHDB_VERSION)/libchdb.so
VERSION      ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS      := -X main.version=$(VERSION) -X github.com/mailtrace/mailtrace/store.DefaultChdbLibrary=$(CHDB_LIB)
DEMO_DIR     := $(CURDIR)/.demo
DEMO_STORE   := chdb://$(DEMO_DIR)/store

export MAILTRACE_CHDB_LIBRARY ?= $(CHDB_LIB)

.PHONY: all setup build test check fuzz bench demo clean

all: build

## setup: Go modules, libchdb (the embedded ClickHouse), Postfix, journald
## tools, Chromium, promtool, Sisimai and a bounce corpus for the tests;
## idempotent
setup:
	$(GO) mod download
	scripts/setup-chdb.sh
	scripts/setup-debian.sh

## build: bin/mailtrace
build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/mailtrace ./cmd/mailtrace

## check: formatting and vet
check:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## test: everything, against a real embedded ClickHouse and a real Postfix;
## the concurrent parts again under the race detector
test: setup check
	$(GO) test -count=1 -timeout 20m ./...
	$(GO) test -race -count=1 -timeout 20m ./store/ ./collector/ ./milter/ ./block/ ./bounce/

## fuzz: a short run of every fuzz target (FUZZTIME each)
FUZZTIME ?= 20s
fuzz: setup
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

## bench: parser, store and import throughput (import against pflogsumm and
## mtail), reply classification, the bounce parser against Sisimai, the
## milter against a minimal filter and through a real Postfix
bench: setup
	$(GO) test -run '^$$' -bench . -benchtime 3x ./store/ ./postfixlog/
	$(GO) test -run '^$$' -bench . -benchtime 2s ./reply/
	bench/import.sh
	bench/dsn.sh
	bench/milter.sh

## demo: a sandbox Postfix (three dedicated-IP pools, receivers answering
## like Google, Microsoft and Yahoo) with `mailtrace run` on an embedded
## store and a mixed stream of mail; prints the web UI's address and a
## trace, runs until Ctrl-C, then removes everything. Needs root (Postfix).
## API=host:port moves the web UI.
API ?= 127.0.0.1:8025
# Built, not `go run`: go run exits 1 on Ctrl-C whatever the demo returns.
demo: setup build
	$(GO) build -trimpath -o bin/mailtrace-demo ./demo
	bin/mailtrace-demo --bin bin/mailtrace --api $(API)

clean:
	rm -rf bin .demo .artifacts
