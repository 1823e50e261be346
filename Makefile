# Clientele: `make run` to try it, `make test` to check it. Both install what they
# need on a Debian machine that has Go, Node, make and apt.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Go's own caches (GOCACHE, GOMODCACHE) keep their defaults, which persist already.
# Everything else that downloads (npm, helm, kratos) caches under here.
export CLIENTELE_CACHE ?= $(HOME)/.cache/clientele

BIN := bin/clientele
BENCH_ARGS ?= -min-auth-ratio 10
GO ?= go
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help deps build web-build run test test-citus citus web-test e2e chart-lint openapi bench fuzz drill lint services-start services-stop clean

help:
	@echo "make run     install what is missing, build, start PostgreSQL/Redis if needed, migrate, seed, serve on http://localhost:8080"
	@echo "make test    the whole suite: Go tests on real PostgreSQL and Redis, web tests, e2e, chart lint"
	@echo "make test-citus  the Go tests again on a private Citus cluster (a coordinator and two workers), each package on its own distributed database"
	@echo "make citus   build and install the Citus extension once (cached by version), then start the private cluster"
	@echo "make build   the binary, $(BIN)"
	@echo "make fuzz    every Go fuzz target, FUZZTIME each (default 60s)"
	@echo "make bench   benchmarks as ratios against raw floors (BENCH_ARGS=...); see docs/benchmarks.md"
	@echo "make drill   the load drills too long or too sensitive to a busy machine for CI (noisy neighbour, a 30-minute soak); see docs/reliability.md"
	@echo "make lint    gofmt and go vet"
	@echo "make openapi lint both API documents (Redocly, Spectral, swagger-parser), build the Go and TypeScript clients, call through the Go one"
	@echo "make deps    the Debian packages (PostgreSQL, Redis, Chromium and a Chinese font once there is a web app), when missing"

## deps: Debian packages, installed only when their binaries are absent.
deps:
	@missing=""; \
	{ ls /usr/lib/postgresql/*/bin/initdb || command -v initdb; } >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	if [ -f web/package.json ]; then command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	  { command -v fc-list >/dev/null 2>&1 && [ -n "$$(fc-list :lang=zh 2>/dev/null)" ]; } || missing="$$missing fonts-wqy-microhei"; fi; \
	if [ -n "$$missing" ]; then \
	  if [ -n "$(SUDO)" ] && ! command -v sudo >/dev/null 2>&1; then echo "deps: need$$missing, and neither root nor sudo is available" >&2; exit 1; fi; \
	  echo "deps: installing$$missing with apt-get"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

## build: always asks go, whose cache makes an unchanged build nearly free.
build: web-build
	$(GO) build -o $(BIN) ./cmd/clientele

# ---- HOOK web-build: the web app's owner fills this in. It must leave the build
# ---- where web/embed.go embeds it, before `go build` runs.
web-build:
	@if [ -f web/package.json ]; then \
	  cd web && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --cache "$(CLIENTELE_CACHE)/npm" --prefer-offline --no-audit --no-fund; } && npm run build; \
	else echo "web-build: skipped: no web app yet (web/package.json absent)"; fi

run: deps build
	@CLIENTELE_KRATOS_BIN=$${CLIENTELE_KRATOS_BIN:-$$(bash scripts/kratos.sh)} && export CLIENTELE_KRATOS_BIN && ./$(BIN) dev

## test: scripts/test.sh starts services if needed and stops them again, even when a
## step fails; the first failure decides the exit code.
test: deps build
	bash scripts/test.sh

## citus: the extension is built once per version from the vendored source and
## cached under $(CLIENTELE_CACHE); the cluster lives under the data directory.
citus: deps build
	bash scripts/citus.sh
	./$(BIN) services --citus start

## test-citus: the Go suite against the Citus cluster (started and stopped again if
## this run started it); see docs/operations.md, "Citus".
test-citus: deps build
	bash scripts/citus.sh
	bash scripts/test-citus.sh

# ---- HOOK web-test and e2e: the web app's owner fills these in. e2e drives Debian's
# ---- /usr/bin/chromium through playwright-core and never downloads a browser.
web-test:
	@if [ -f web/package.json ]; then cd web && npm test; else echo "web-test: skipped: no web app yet"; fi

e2e:
	@if [ -f web/package.json ]; then cd web && npm run e2e; else echo "e2e: skipped: no web app yet"; fi

chart-lint:
	@if [ -f scripts/chart-lint.sh ]; then bash scripts/chart-lint.sh; else echo "chart-lint: skipped: no chart lint yet"; fi

## openapi: the API documents checked by third-party tools and the generated
## clients; make test runs it too (scripts/openapi.sh, scripts/openapi/).
openapi: build
	bash scripts/openapi.sh

## fuzz: every Go fuzz target with the fuzzer, FUZZTIME each (default 60s);
## make test runs them for a few seconds each (scripts/fuzz.sh).
fuzz: deps build
	@started=$$(./$(BIN) services start) || exit 1; echo "$$started"; \
	if [ -z "$${CLIENTELE_KRATOS_BIN:-}" ]; then CLIENTELE_KRATOS_BIN=$$(bash scripts/kratos.sh) || exit 1; export CLIENTELE_KRATOS_BIN; fi; \
	FUZZTIME=$${FUZZTIME:-60s} bash scripts/fuzz.sh; rc=$$?; \
	case "$$started" in "services: started"*) ./$(BIN) services stop ;; esac; \
	exit $$rc

## bench: services as for tests, stopped again afterwards if this started them.
bench: deps build
	@started=$$(./$(BIN) services start) || exit 1; echo "$$started"; \
	envfile="$${CLIENTELE_DATA_DIR:-.clientele}/services.env"; \
	if [ -f "$$envfile" ]; then while IFS='=' read -r k v; do [ -n "$$k" ] && export "$$k=$$v"; done < "$$envfile"; fi; \
	./$(BIN) bench $(BENCH_ARGS); rc=$$?; \
	case "$$started" in "services: started"*) ./$(BIN) services stop ;; esac; \
	exit $$rc

## drill: the drills that judge latency under load for a long time, which a
## busy CI machine would make flaky, and the tenant backup round trip at 100k
## customers; make test runs the fault and recovery drills. Each runs; any failure fails.
drill: deps build
	@if [ -z "$${CLIENTELE_KRATOS_BIN:-}" ]; then CLIENTELE_KRATOS_BIN=$$(bash scripts/kratos.sh | tail -1) || exit 1; export CLIENTELE_KRATOS_BIN; fi; \
	rc=0; ./$(BIN) drill noisy || rc=1; ./$(BIN) drill soak $(SOAK_ARGS) || rc=1; \
	CLIENTELE_BACKUP_CUSTOMERS=100000 $(GO) test -count=1 -p 1 -timeout 30m -run '^TestTenantBackupRoundTrip$$' -v ./cmd/clientele/ || rc=1; \
	exit $$rc

lint:
	@out=$$(find . -name '*.go' -not -path './web/node_modules/*' -not -path './.clientele/*' -print0 | xargs -0 -r gofmt -l); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

services-start: build
	./$(BIN) services start

services-stop:
	@if [ -x $(BIN) ]; then ./$(BIN) services stop; fi

clean:
	rm -rf bin
