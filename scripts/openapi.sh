#!/usr/bin/env bash
# The API documents as third-party tools see them (make test runs this; so does
# `make openapi`). From the binary, with no server: `clientele openapi` prints
# the 3.1 and the 3.0 document. Then
#   - Redocly CLI (recommended-strict), Spectral (spectral:oas, warnings fail)
#     and swagger-parser check both;
#   - openapi-typescript generates TypeScript types from the 3.1 document and
#     tsc compiles them with scripts/openapi/client.ts in strict mode;
#   - oapi-codegen generates the Go client from the 3.0 document into
#     cmd/clientele/internal/apiclient (behind the apiclient build tag), go vet compiles it, and
#     TestGeneratedClient makes one authenticated call per scheme through it
#     against PostgreSQL, Redis and Kratos (as the Go tests use them).
# The npm tools are pinned in scripts/openapi/package.json and its lock, apart from
# the web app's; oapi-codegen is pinned below. Every check runs; the first
# failure decides the exit code.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/clientele}
CACHE=${CLIENTELE_CACHE:-$HOME/.cache/clientele}
OAPI_CODEGEN=github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2
TOOLS=scripts/openapi
[ -x "$BIN" ] || { echo "openapi: $BIN is missing; run \`make build\`" >&2; exit 1; }

status=0
check() {
  local name=$1; shift
  echo "--> $name"
  if "$@"; then echo "--> $name: ok"; else local rc=$?; echo "--> $name: FAILED"; [ $status != 0 ] || status=$rc; fi
}

( cd "$TOOLS" && { [ node_modules/.package-lock.json -nt package-lock.json ] ||
  npm ci --cache "$CACHE/npm" --prefer-offline --no-audit --no-fund; } ) || { echo "openapi: npm ci failed" >&2; exit 1; }
# Neither tool may phone home from a test run.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$BIN" openapi -o "$out/openapi.json" && "$BIN" openapi -version 3.0 -o "$out/openapi-3.0.json" ||
  { echo "openapi: clientele openapi failed" >&2; exit 1; }
docs=("$out/openapi.json" "$out/openapi-3.0.json")
tool() { (cd "$TOOLS" && "$@"); }

check "redocly lint" tool npx --no-install redocly lint --config redocly.yaml "${docs[@]}"
check "spectral lint" tool npx --no-install spectral lint --ruleset .spectral.yaml --fail-severity warn "${docs[@]}"
check "swagger-parser" tool node validate.mjs "${docs[@]}"
mkdir -p "$TOOLS/gen"
check "openapi-typescript" tool npx --no-install openapi-typescript "$out/openapi.json" -o gen/schema.d.ts
check "tsc (TypeScript client)" tool npx --no-install tsc -p .
gen_go() {
  { printf '//go:build apiclient\n\n'; go run "$OAPI_CODEGEN" -config cmd/clientele/internal/apiclient/oapi-codegen.yaml "$out/openapi-3.0.json"; } \
    > "$out/client.gen.go" && mv "$out/client.gen.go" cmd/clientele/internal/apiclient/client.gen.go
}
check "oapi-codegen (Go client)" gen_go
check "go vet (Go client)" go vet -tags apiclient ./cmd/clientele/internal/apiclient/
if [ -z "${CLIENTELE_KRATOS_BIN:-}" ]; then
  CLIENTELE_KRATOS_BIN=$(bash scripts/kratos.sh) && export CLIENTELE_KRATOS_BIN
fi
check "TestGeneratedClient (session token and API key)" go test -tags apiclient -count=1 -run '^TestGeneratedClient$' ./cmd/clientele/
exit $status
