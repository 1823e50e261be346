#!/usr/bin/env bash
# Prints the path of an Ory Kratos v1.3.1 server binary, building it once from the
# nested module cmd/kratos when the cache does not hold one yet (about a minute).
# Only the path goes to stdout; build messages go to stderr.
#
#   CLIENTELE_CACHE   cache root (default ~/.cache/clientele); the binary lives in
#                     $CLIENTELE_CACHE/kratos-v1.3.1/kratos
#   KRATOS_REBUILD=1  build again even when a binary is cached
set -euo pipefail

version=v1.3.1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${CLIENTELE_CACHE:-${HOME:?HOME is unset; set CLIENTELE_CACHE}/.cache/clientele}
dir="$cache/kratos-$version"
bin="$dir/kratos"

if [ -x "$bin" ] && [ "${KRATOS_REBUILD:-0}" != 1 ]; then
  echo "$bin"
  exit 0
fi

mkdir -p "$dir"
# Concurrent test packages may all ask at once: one builds, the others wait for it.
exec 9>"$dir/.build.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
fi
if [ -x "$bin" ] && [ "${KRATOS_REBUILD:-0}" != 1 ]; then
  echo "$bin"
  exit 0
fi

command -v go >/dev/null 2>&1 || { echo "kratos.sh: go is not on PATH; it is needed to build Kratos $version" >&2; exit 1; }
[ -f "$root/cmd/kratos/go.mod" ] || { echo "kratos.sh: $root/cmd/kratos/go.mod is missing" >&2; exit 1; }

echo "kratos.sh: building Kratos $version into $bin (about a minute, once)" >&2
tmp=$(mktemp "$dir/.kratos.XXXXXX")
trap 'rm -f "$tmp"' EXIT
start=$SECONDS
if ! (cd "$root/cmd/kratos" && go build -trimpath -o "$tmp" .) >&2; then
  echo "kratos.sh: building Kratos $version failed (see the go build output above)" >&2
  exit 1
fi
chmod 0755 "$tmp"
mv -f "$tmp" "$bin"
trap - EXIT
echo "kratos.sh: built in $((SECONDS - start))s" >&2
echo "$bin"
