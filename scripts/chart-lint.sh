#!/usr/bin/env bash
# Lints the Helm chart with defaults and with every toggle on, renders both, and
# checks what a lint cannot: that serve and worker never get the owner database URL.
set -euo pipefail
cd "$(dirname "$0")/.."
HELM_VERSION=v3.22.0
cache="${CLIENTELE_CACHE:-$HOME/.cache/clientele}/helm-$HELM_VERSION"
helm=""
if command -v helm >/dev/null && helm version --short 2>/dev/null | grep -q "^$HELM_VERSION"; then
  helm=$(command -v helm)
elif [ -x "$cache/helm" ]; then
  helm="$cache/helm"
else
  echo "chart-lint: building helm $HELM_VERSION from source into $cache (once; about 1.5 minutes)"
  mkdir -p "$cache"
  GOBIN="$cache" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  helm="$cache/helm"
fi

chart=charts/clientele
secrets=(--set secrets.databaseURL=postgres://owner@db/clientele --set secrets.appDatabaseURL=postgres://app@db/clientele
         --set secrets.redisURL=redis://redis:6379/0 --set secrets.masterKey=dGVzdA==)
passed=0 failed=0
check() {
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "chart-lint: ok: $name"; else failed=$((failed + 1)); echo "chart-lint: FAILED: $name"; fi
}
render_ok() {
  local out; out=$(mktemp)
  "$helm" template ci "$chart" --kube-version 1.30.0 "$@" > "$out" || return 1
  # Every document has a kind; no serve/worker container gets the owner URL.
  awk 'BEGIN{RS="\n---"} NF && !/kind:/ {bad=1} END{exit bad}' "$out" || { echo "a rendered document has no kind"; return 1; }
  awk 'BEGIN{RS="\n---"} /kind: Deployment/ && /CLIENTELE_DATABASE_URL/ {bad=1} END{exit bad}' "$out" || { echo "a Deployment receives CLIENTELE_DATABASE_URL (owner role)"; return 1; }
  grep -q 'CLIENTELE_DATABASE_URL' "$out" || { echo "the migrate job lacks the owner URL"; return 1; }
  rm -f "$out"
}
missing_secret_refused() {
  local out; out=$("$helm" template ci "$chart" --kube-version 1.30.0 2>&1) || true
  grep -q "secrets.databaseURL (owner role) is required" <<<"$out"
}
check "lint, defaults" "$helm" lint --strict "$chart" "${secrets[@]}"
check "lint, every toggle on" "$helm" lint --strict "$chart" -f "$chart/ci/all-on-values.yaml"
check "render, defaults" render_ok "${secrets[@]}"
check "render, every toggle on" render_ok -f "$chart/ci/all-on-values.yaml"
check "missing secrets are refused" missing_secret_refused
schema_refuses() {
  local out; out=$("$helm" lint --strict "$chart" "${secrets[@]}" --set config.logLevel=loud 2>&1) && return 1
  grep -q "logLevel" <<<"$out"
}
check "bad values are refused by the schema" schema_refuses
echo "chart-lint: $passed passed, $failed failed"
[ "$failed" = 0 ]
