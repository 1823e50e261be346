#!/usr/bin/env bash
# The Go test suite on a private Citus cluster (a coordinator and two workers on
# loopback, under the data directory), as `make test-citus` and CI run it after
# `make test`. Each test package gets its own distributed database (platform/testkit,
# CLIENTELE_TEST_CITUS_URL). Redis is the one `make test` uses. Whatever this run
# started is stopped again, even when it fails.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=bin/clientele
DATA_DIR=${CLIENTELE_DATA_DIR:-.clientele}
[ -x "$BIN" ] || { echo "test-citus: $BIN is missing; run \`make test-citus\`, which builds it" >&2; exit 1; }

started=$("$BIN" services start) || { echo "$started"; exit 1; }
echo "$started"
cstarted=$("$BIN" services --citus start) || { echo "$cstarted"; exit 1; }
echo "$cstarted"
cleanup() {
  case "$cstarted" in "services: started"*) "$BIN" services --citus stop || echo "test-citus: could not stop the Citus cluster" >&2 ;; esac
  case "$started" in "services: started"*) "$BIN" services stop || echo "test-citus: could not stop the services" >&2 ;; esac
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

envfile="$DATA_DIR/services.env"
if [ -f "$envfile" ]; then
  while IFS='=' read -r k v; do
    case "$k" in CLIENTELE_TEST_REDIS_URL) [ -n "${!k:-}" ] || export "$k=$v" ;; esac
  done < "$envfile"
fi
port=${CLIENTELE_CITUS_PORT:-55440}
export CLIENTELE_TEST_CITUS_URL=${CLIENTELE_TEST_CITUS_URL:-postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable}
if [ -z "${CLIENTELE_KRATOS_BIN:-}" ]; then
  CLIENTELE_KRATOS_BIN=$(bash scripts/kratos.sh) || exit 1
  export CLIENTELE_KRATOS_BIN
fi

t0=$SECONDS
log=$(mktemp)
go test -count=1 -p 2 -timeout 25m "${@:-./...}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
echo
echo "test-citus: go test on Citus $([ "$rc" = 0 ] && echo passed || echo "FAILED (exit $rc)") in $((SECONDS - t0))s; per package:"
grep -E '^(ok|FAIL)[[:space:]]|^[[:space:]]*--- FAIL|^panic:' "$log" || true
rm -f "$log"
exit "$rc"
