#!/usr/bin/env bash
# Lints the Helm chart charts/clientele with default values and with every toggle on,
# renders both, and checks what `helm lint` cannot: every rendered document has a kind,
# serve and worker never receive the owner database URL (only the migrate hook does),
# no secret lands in a ConfigMap, and bad values are refused.
#
# helm: `helm` on PATH when it is v3.22.0, else a binary cached in
# ${CLIENTELE_CACHE:-$HOME/.cache/clientele}/helm-v3.22.0, built from source once with
# `go install` (no prebuilt download is possible here; the Go module proxy is).
# Ends with one line: `chart-lint: N passed, M failed`; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

HELM_VERSION=v3.22.0
KUBE_VERSION=${CHART_LINT_KUBE_VERSION:-1.30.0}
chart=charts/clientele
all_on="$chart/ci/all-on-values.yaml"

find_helm() {
  if command -v helm >/dev/null 2>&1 &&
    [ "$(helm version --template '{{.Version}}' 2>/dev/null || true)" = "$HELM_VERSION" ]; then
    command -v helm
    return
  fi
  local dir="${CLIENTELE_CACHE:-$HOME/.cache/clientele}/helm-$HELM_VERSION"
  if [ ! -x "$dir/helm" ]; then
    if ! command -v go >/dev/null 2>&1; then
      echo "chart-lint: helm $HELM_VERSION is not on PATH and Go is missing to build it" >&2
      return 1
    fi
    echo "chart-lint: building helm $HELM_VERSION into $dir (once; about 1.5 minutes)" >&2
    mkdir -p "$dir"
    GOBIN="$dir" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
  fi
  echo "$dir/helm"
}
helm=$(find_helm) || { echo "chart-lint: 0 passed, 1 failed"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Made-up secrets for the chart-created Secret; the ConfigMap check looks for them.
master_key=Y2hhcnQtbGludC1tYXN0ZXIta2V5LW5vdC1yZWFsLTAwMDA=
owner_url=postgres://owner:owner-pw@db:5432/clientele
secrets=(--set secrets.databaseURL=$owner_url
  --set secrets.appDatabaseURL=postgres://clientele_app:app-pw@db:5432/clientele
  --set secrets.redisURL=redis://redis:6379/0
  --set secrets.masterKey=$master_key)

passed=0 failed=0
check() {
  local name=$1 log="$work/log"
  shift
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    echo "chart-lint: ok      $name"
  else
    failed=$((failed + 1))
    echo "chart-lint: FAILED  $name"
    sed 's/^/    /' "$log" | tail -n 40
  fi
}

lint() { "$helm" lint --strict --kube-version "$KUBE_VERSION" "$chart" "$@"; }
render() { "$helm" template ci "$chart" --namespace crm --kube-version "$KUBE_VERSION" "$@"; }

# Checks one rendered stream, document by document. Prints every problem found.
check_manifests() {
  awk -v master_key="$master_key" -v owner_url="$owner_url" -v expect_migrate="$1" '
    function flush() {
      if (body > 0) {
        where = (src != "" ? src : "document " docs)
        if (kind == "") { print where ": no kind"; bad = 1 }
        if (api == "") { print where ": no apiVersion"; bad = 1 }
        is_migrate = (kind == "Job" && name ~ /-migrate$/)
        if (owner && !is_migrate) { print where ": " kind " " name " receives CLIENTELE_DATABASE_URL (owner role)"; bad = 1 }
        if (ownerval && !(kind == "Secret" && name ~ /-migrate$/)) { print where ": " kind " " name " holds the owner database URL; only the migrate hook Secret may"; bad = 1 }
        if (kind == "Deployment" && envfrom) { print where ": " name " imports a whole Secret with envFrom"; bad = 1 }
        if (kind == "ConfigMap" && leak) { print where ": ConfigMap " name " holds a secret value"; bad = 1 }
        if (kind == "Deployment" || kind == "Job") {
          if (!rorfs) { print where ": " name " lacks readOnlyRootFilesystem: true"; bad = 1 }
          if (!nonroot) { print where ": " name " lacks runAsNonRoot: true"; bad = 1 }
          if (!dropall) { print where ": " name " does not drop ALL capabilities"; bad = 1 }
        }
        if (kind == "Deployment" && app) apps++
        if (is_migrate) {
          migrates++
          if (!owner) { print where ": the migrate Job lacks CLIENTELE_DATABASE_URL"; bad = 1 }
          if (!hook) { print where ": the migrate Job is not a pre-install,pre-upgrade hook"; bad = 1 }
          if (!hookdel) { print where ": the migrate Job lacks hook-delete-policy before-hook-creation,hook-succeeded"; bad = 1 }
        }
      }
      body = 0; kind = ""; api = ""; name = ""; src = ""; inmeta = 0
      owner = ownerval = envfrom = leak = rorfs = nonroot = dropall = app = hook = hookdel = 0
    }
    /^---[ \t]*$/ { flush(); docs++; next }
    /^# Source: / { src = $3; next }
    /^[ \t]*(#.*)?$/ { next }
    { body++ }
    /^kind: / { kind = $2 }
    /^apiVersion: / { api = $2 }
    /^metadata:/ { inmeta = 1; next }
    /^[^ ]/ { inmeta = 0 }
    inmeta && /^  name: / && name == "" { name = $2 }
    /name: "?CLIENTELE_DATABASE_URL"?[ \t]*$/ || /key: "?databaseURL"?[ \t]*$/ { owner = 1 }
    /name: "?CLIENTELE_APP_DATABASE_URL"?[ \t]*$/ { app = 1 }
    index($0, owner_url) { ownerval = 1 }
    /^[ \t-]*envFrom:/ { envfrom = 1 }
    /(value|replicas|port|containerPort): "?[0-9.]+e[+-]?[0-9]+"?[ \t]*$/ { print (src != "" ? src : "document " docs) ": a number rendered in float notation: " $0; bad = 1 }
    /postgres(ql)?:\/\/|rediss?:\/\// || index($0, master_key) { leak = 1 }
    /readOnlyRootFilesystem: true/ { rorfs = 1 }
    /runAsNonRoot: true/ { nonroot = 1 }
    /drop:/ && /ALL/ { dropall = 1 }
    /^ *- ALL *$/ { dropall = 1 }
    /helm.sh\/hook: "?pre-install,pre-upgrade"?$/ { hook = 1 }
    /helm.sh\/hook-delete-policy: "?before-hook-creation,hook-succeeded"?$/ { hookdel = 1 }
    END {
      flush()
      if (apps != 2) { print "expected serve and worker Deployments with CLIENTELE_APP_DATABASE_URL, found " apps + 0; bad = 1 }
      if (migrates != expect_migrate) { print "expected " expect_migrate " migrate Job(s), found " migrates + 0; bad = 1 }
      exit bad
    }'
}

render_ok() {
  local out="$work/render.yaml"
  render "$@" >"$out"
  check_manifests 1 <"$out"
}

# Expect a command to fail and to say something specific.
refused() {
  local pattern=$1 out
  shift
  if out=$("$@" 2>&1); then
    echo "accepted, but should have been refused"
    return 1
  fi
  grep -qE -- "$pattern" <<<"$out" || { echo "refused, but without /$pattern/:"; echo "$out"; return 1; }
}

prestop_exec_before_1_30() {
  "$helm" template ci "$chart" --kube-version 1.29.0 "${secrets[@]}" | grep -qE 'command: \["sleep", "5"\]'
}

has_kind() { grep -q "^kind: $1\$" "$work/render.yaml"; }
all_on_kinds() {
  render -f "$all_on" >"$work/render.yaml"
  local k
  for k in Deployment Service ServiceAccount HorizontalPodAutoscaler PodDisruptionBudget Job \
    ServiceMonitor PrometheusRule ConfigMap NetworkPolicy PersistentVolumeClaim; do
    has_kind "$k" || { echo "no $k rendered with every toggle on"; return 1; }
  done
  [ "$(grep -c '^kind: HorizontalPodAutoscaler$' "$work/render.yaml")" = 2 ] || { echo "want 2 HPAs"; return 1; }
  grep -q 'grafana_dashboard: "1"' "$work/render.yaml" || { echo "dashboard ConfigMap lacks grafana_dashboard: \"1\""; return 1; }
}

check "lint --strict, default values" lint
check "lint --strict, every toggle on" lint -f "$all_on"
check "render, default values (+ required secrets)" render_ok "${secrets[@]}"
check "render, every toggle on" render_ok -f "$all_on" "${secrets[@]}"
check "every toggle renders its resource" all_on_kinds
check "missing secrets are refused" refused "secrets\.[a-zA-Z]+URL .*is required" render
check "schema refuses a bad value" refused "logLevel" lint "${secrets[@]}" --set config.logLevel=loud
check "schema refuses an unknown key" refused "replica" lint "${secrets[@]}" --set serve.replica=3
check "owner URL in extraEnv is refused (schema)" refused "CLIENTELE_DATABASE_URL|extraEnv" \
  render "${secrets[@]}" --set-json 'serve.extraEnv=[{"name":"CLIENTELE_DATABASE_URL","value":"postgres://x@y/z"}]'
check "owner URL in extraEnv is refused (template)" refused "must not set CLIENTELE_DATABASE_URL" \
  render "${secrets[@]}" --skip-schema-validation --set-json 'extraEnv=[{"name":"CLIENTELE_DATABASE_URL","value":"postgres://x@y/z"}]'
check "preStop falls back to exec sleep before Kubernetes 1.30" prestop_exec_before_1_30

echo "chart-lint: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
