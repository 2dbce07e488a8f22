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

## setup: Go modules, libchdb (the embedded ClickHouse), Postfix and journald
## tools for the end-to-end tests; idempotent
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
	$(GO) test -race -count=1 -timeout 20m ./store/ ./collector/ ./milter/

## fuzz: a short run of every fuzz target (FUZZTIME each)
FUZZTIME ?= 20s
fuzz: setup
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

## bench: parser, store and import throughput (import against pflogsumm and
## mtail), the milter against a minimal filter and through a real Postfix
bench: setup
	$(GO) test -run '^$$' -bench . -benchtime 3x ./store/ ./postfixlog/
	bench/import.sh
	bench/milter.sh

## demo: an embedded store in .demo/ with a generated day of Postfix log
## imported, and what the trace holds
demo: setup build
	bin/mailtrace migrate --store $(DEMO_STORE)
	@mkdir -p $(DEMO_DIR)
	$(GO) run ./bench/genlog -lines 200000 > $(DEMO_DIR)/mail.log
	bin/mailtrace import --store $(DEMO_STORE) --timezone UTC $(DEMO_DIR)/mail.log
	@echo
	bin/mailtrace sql --store $(DEMO_STORE) \
	  "SELECT name, engine, total_rows FROM system.tables WHERE database = currentDatabase() ORDER BY name"
	@echo
	bin/mailtrace sql --store $(DEMO_STORE) \
	  "SELECT pool, status, count() AS attempts FROM delivery_events GROUP BY pool, status ORDER BY pool, status"
	@echo
	@echo "One message's story, from the store:"
	@q=$$(bin/mailtrace sql --store $(DEMO_STORE) --format csv \
	  "SELECT queue_id FROM messages FINAL WHERE has(statuses, 'bounced') ORDER BY first_seen LIMIT 1" | tail -1 | tr -d '"'); \
	bin/mailtrace sql --store $(DEMO_STORE) \
	  "SELECT time, recipient, status, dsn, relay_host, response FROM delivery_events WHERE queue_id = '$$q' ORDER BY time"
	@echo
	@echo "Store ready in $(DEMO_DIR)/store. Ask it anything read-only, e.g.:"
	@echo "  bin/mailtrace sql --store $(DEMO_STORE) \"SELECT status, count() FROM delivery_events GROUP BY status\""

clean:
	rm -rf bin .demo
