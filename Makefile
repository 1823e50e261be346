# Clientele: `make run` to try it, `make test` to check it. Both install what they
# need on a fresh Debian machine with Go, Node and make.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export CLIENTELE_CACHE ?= $(HOME)/.cache/clientele
BIN := bin/clientele
GO ?= go
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
GO_SOURCES := $(shell find cmd platform tenants modules migrations web -name '*.go' -o -name '*.sql' 2>/dev/null) go.mod go.sum

.PHONY: help run test build deps services-start services-stop bench lint web-build web-test e2e chart-lint clean

help:
	@echo "make run    install what is missing, build, start PostgreSQL/Redis, migrate, seed, serve on http://localhost:8080"
	@echo "make test   the whole suite: Go tests on real PostgreSQL and Redis, web tests, e2e, chart lint"
	@echo "make build  the binary in $(BIN)"
	@echo "make bench  benchmarks (ratios against raw SQL floors); see docs/benchmarks.md"

## deps: Debian packages the stack needs, installed only when missing.
deps:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing with apt-get"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

web-build:
	@if [ -f web/package.json ]; then \
	  cd web && npm ci --cache "$(CLIENTELE_CACHE)/npm" --prefer-offline --no-audit --no-fund && npm run build; \
	else echo "web-build: no web app yet (web/package.json absent)"; fi

$(BIN): $(GO_SOURCES)
	$(GO) build -o $(BIN) ./cmd/clientele

build: web-build $(BIN)

run: deps build
	./$(BIN) dev

services-start: $(BIN)
	./$(BIN) services start

services-stop:
	@[ -x $(BIN) ] && ./$(BIN) services stop || true

test: deps build
	bash scripts/test.sh

web-test:
	@if [ -f web/package.json ]; then cd web && npm test; else echo "web-test: skipped: no web app yet (web/package.json absent)"; fi

e2e:
	@if [ -f web/package.json ]; then cd web && npm run e2e; else echo "e2e: skipped: no web app yet (web/package.json absent)"; fi

chart-lint:
	bash scripts/chart-lint.sh

bench: deps build
	./$(BIN) services start
	./$(BIN) bench $(BENCH_ARGS)

lint:
	@out=$$(gofmt -l cmd platform tenants modules migrations 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin
