#!/usr/bin/env bash
# The whole suite, as `make test` and CI run it (after `make deps build`).
# PostgreSQL and Redis are made to answer first; whatever this run had to start is
# stopped again at the end, even when a step fails or the run is interrupted. Every
# step runs; the first failure decides the exit code.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=bin/clientele
DATA_DIR=${CLIENTELE_DATA_DIR:-.clientele}
[ -x "$BIN" ] || { echo "test: $BIN is missing; run \`make test\`, which builds it" >&2; exit 1; }

status=0
failed=()
tails=""
step() {
  local name=$1; shift
  local t0=$SECONDS out rc
  out=$(mktemp)
  echo "==> $name"
  "$@" 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  if [ "$rc" = 0 ]; then
    echo "==> $name: ok ($((SECONDS - t0))s)"
  else
    echo "==> $name: FAILED, exit $rc ($((SECONDS - t0))s)"
    failed+=("$name")
    [ $status != 0 ] || status=$rc
    # Its last lines, repeated at the end of the run.
    tails+="--- $name (exit $rc), its last lines:"$'\n'"$(grep -v '^[[:space:]]*$' "$out" | tail -12)"$'\n'
  fi
  rm -f "$out"
}

started=$("$BIN" services start) || { echo "$started"; echo "test: PostgreSQL and Redis could not be made to answer (see above)" >&2; exit 1; }
echo "$started"
stop_services() {
  case "$started" in "services: started"*) "$BIN" services stop || echo "test: could not stop the services this run started" >&2 ;; esac
  started=""
}
cleanup() {
  stop_services
  [ -z "${gotest_log:-}" ] || rm -f "$gotest_log"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The servers in effect (a private cluster may stand in for one that refused us),
# unless the caller named test servers already.
envfile="$DATA_DIR/services.env"
if [ -f "$envfile" ]; then
  while IFS='=' read -r k v; do
    case "$k" in CLIENTELE_TEST_*) [ -n "${!k:-}" ] || export "$k=$v" ;; esac
  done < "$envfile"
fi

# Kratos, built once per machine and version (cached), for the identity tests.
if [ -z "${CLIENTELE_KRATOS_BIN:-}" ]; then
  CLIENTELE_KRATOS_BIN=$(bash scripts/kratos.sh) || { echo "test: could not build Kratos (see above)" >&2; exit 1; }
  export CLIENTELE_KRATOS_BIN
fi

gotest_log=$(mktemp)
step "go test" bash -o pipefail -c 'go test -count=1 -p 2 -timeout 20m ./... 2>&1 | tee "$1"' _ "$gotest_log"
# Every fuzz target with the fuzzer, a few seconds each (`make fuzz` runs longer):
# hostile list queries, bodies for every write route, uploads, validators.
step "fuzz, ${TEST_FUZZTIME:=5s} per target" env FUZZTIME="$TEST_FUZZTIME" bash scripts/fuzz.sh
# Fault drills: each starts a private PostgreSQL, Redis and Kratos on loopback,
# breaks one under writers and checks the bars (docs/reliability.md).
for fault in postgres redis kratos; do
  step "fault drill: $fault" "$BIN" drill "$fault"
done
# Point-in-time recovery with PostgreSQL's own tools, checked against a ledger.
step "recovery drill: pitr" "$BIN" drill pitr
# A worker process killed with SIGKILL mid-import, mid-export and mid-reminders.
step "fault drill: kill-worker" "$BIN" drill kill-worker
# Redis flushed (the data gone, the server up) in the middle of the same work.
step "fault drill: redis-flush" "$BIN" drill redis-flush
# One of two serve replicas killed mid-request; clients retry on the other.
step "fault drill: kill-replica" "$BIN" drill kill-replica
# The blob store's volume full: a small tmpfs of its own, which takes the right to
# mount (root, and in a container CAP_SYS_ADMIN). Probed first, and said out loud
# when it cannot run, never skipped in silence.
can_mount_tmpfs() {
  local d rc
  d=$(mktemp -d) || return 1
  mount -t tmpfs -o size=64k clientele-probe "$d" 2>/dev/null && umount "$d"
  rc=$?
  rmdir "$d"
  return $rc
}
if [ "$(id -u)" != 0 ]; then
  echo "SKIPPED fault drill: disk-full: it mounts an 8 MB tmpfs, which needs root; run 'clientele drill disk-full' as root"
elif ! can_mount_tmpfs; then
  echo "SKIPPED fault drill: disk-full: this machine refuses a tmpfs mount even to root (a container without CAP_SYS_ADMIN); run 'clientele drill disk-full' where mounting is allowed"
else
  step "fault drill: disk-full" "$BIN" drill disk-full
fi
step "OpenAPI documents and generated clients" bash scripts/openapi.sh
step "web unit tests" make --no-print-directory web-test
step "browser end-to-end tests" make --no-print-directory e2e
if [ -f scripts/chart-lint.sh ]; then
  step "chart lint" bash scripts/chart-lint.sh
else
  echo "==> chart lint: skipped: scripts/chart-lint.sh absent"
fi

stop_services

# Close with the verdicts, so the last lines of a log that is cut from the top say
# what failed: the packages go test passed are counted, the ones it failed named with
# their failing tests, and the failed steps come last.
echo
echo "go test, per package:"
if [ -s "$gotest_log" ]; then
  echo "  $(grep -cE '^ok[[:space:]]' "$gotest_log") packages ok"
  grep -E '^FAIL[[:space:]]|^[[:space:]]*--- FAIL|^panic:' "$gotest_log" | head -40 || true
else
  echo "  (no results: go test did not run)"
fi
if [ $status != 0 ]; then
  printf '%s' "$tails"
  echo "test: FAILED steps: $(IFS=";"; echo "${failed[*]}" | sed "s/;/; /g")"
else
  echo "test: every step passed (skipped ones say so above)"
fi
exit $status
