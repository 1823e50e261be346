#!/usr/bin/env bash
# The whole suite. Services that this run had to start are stopped again, even
# when a step fails; the first failure decides the exit code.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=bin/clientele
status=0
step() {
  local name=$1; shift
  local t0=$SECONDS
  echo "==> $name"
  "$@"
  local rc=$?
  echo "==> $name: $([ $rc = 0 ] && echo ok || echo "FAILED (exit $rc)") in $((SECONDS - t0))s"
  [ $rc = 0 ] || status=$rc
  return $rc
}

started=$("$BIN" services start) || { echo "$started"; echo "test: PostgreSQL/Redis could not be made to answer"; exit 1; }
echo "$started"
cleanup() { case "$started" in "services: started"*) "$BIN" services stop ;; esac; }
trap cleanup EXIT

step "go vet" go vet ./...
step "go test" go test -count=1 -p 2 -timeout 20m ./...
step "web unit tests" make --no-print-directory web-test
step "browser end-to-end tests" make --no-print-directory e2e
if [ -f scripts/chart-lint.sh ]; then step "chart lint" bash scripts/chart-lint.sh; else echo "chart lint: skipped: no chart yet"; fi
exit $status
