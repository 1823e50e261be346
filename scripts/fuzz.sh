#!/usr/bin/env bash
# Runs every Go fuzz target of the repository with the fuzzer, each for
# FUZZTIME (default 60s; `make test` passes a few seconds, `make fuzz` the
# default or what you give it). Targets are found by their `func FuzzX` in
# *_test.go files, so a new one joins without an edit here. Go runs one fuzz
# target of a package at a time. A failing input is written by Go under the
# package's testdata/fuzz/<target>/ and replays in every later `go test`:
# commit it with the fix.
set -uo pipefail
cd "$(dirname "$0")/.."
# The test servers in effect, as scripts/test.sh reads them.
envfile="${CLIENTELE_DATA_DIR:-.clientele}/services.env"
if [ -f "$envfile" ]; then
  while IFS='=' read -r k v; do
    case "$k" in CLIENTELE_TEST_*) [ -n "${!k:-}" ] || export "$k=$v" ;; esac
  done < "$envfile"
fi
FUZZTIME=${FUZZTIME:-60s}
PARALLEL=${FUZZ_PARALLEL:-1}
status=0
ran=0
while IFS= read -r line; do
  file=${line%%:*}
  name=$(sed -E 's/^func (Fuzz[A-Za-z0-9_]*)\(.*/\1/' <<<"${line#*:}")
  dir=./$(dirname "$file")
  t0=$SECONDS
  corpus="$dir/testdata/fuzz/$name"
  before=$(ls "$corpus" 2>/dev/null | sort)
  out=$(go test -count=1 -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -parallel "$PARALLEL" "$dir" 2>&1)
  rc=$?
  # Go before 1.27 can fail a target with "context deadline exceeded" at the
  # end of -fuzztime, having found nothing: a race in its own coordinator
  # (go.dev/issue/75804). Such a failure, with no failing input written, is run
  # once more and said out loud; a second failure counts.
  if [ $rc != 0 ] && grep -q 'context deadline exceeded' <<<"$out" && [ "$(ls "$corpus" 2>/dev/null | sort)" = "$before" ]; then
    echo "fuzz: $dir $name: failed with the fuzzer's own deadline race (go.dev/issue/75804) and no failing input; running it again"
    out=$(go test -count=1 -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -parallel "$PARALLEL" "$dir" 2>&1)
    rc=$?
  fi
  execs=$(grep -oE 'execs: [0-9]+' <<<"$out" | tail -1)
  ran=$((ran + 1))
  if [ $rc = 0 ]; then
    # With a short FUZZTIME a target with many seeds may spend it all on its
    # baseline (every seed run once, as go test runs them): say so.
    echo "fuzz: $dir $name: ok, ${execs:-only its seeds ran (the baseline took the time)} in $FUZZTIME ($((SECONDS - t0))s with the build)"
  else
    echo "fuzz: $dir $name: FAILED"
    echo "$out" | grep -v '^fuzz: elapsed' | tail -40
    status=1
  fi
done < <(grep -rn --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' cmd modules platform tenants | sed -E 's/^([^:]*):[0-9]+:/\1:/' | sort)
if [ $ran = 0 ]; then
  echo "fuzz: no fuzz targets found; the check would prove nothing" >&2
  exit 1
fi
echo "fuzz: $ran targets, $( [ $status = 0 ] && echo 'no failures' || echo 'FAILURES above')"
exit $status
