#!/usr/bin/env bash
# Installs the Citus extension into the machine's PostgreSQL 15, building it once
# from the vendored source tarball and caching the installed files by version, the
# way scripts/kratos.sh caches Kratos. A second run only copies the cached files
# (or does nothing when they are in place). Messages go to stderr.
#
#   CLIENTELE_CACHE      cache root (default ~/.cache/clientele); the files live in
#                        $CLIENTELE_CACHE/citus-12.1.12/root
#   CLIENTELE_CITUS_SRC  the source tarball (default ../shared/vendor/citus-12.1.12.tar.gz,
#                        beside the checkout)
#   CITUS_REBUILD=1      build again even when the cache holds a build
set -euo pipefail

version=12.1.12
pgmajor=15
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${CLIENTELE_CACHE:-${HOME:?HOME is unset; set CLIENTELE_CACHE}/.cache/clientele}
dir="$cache/citus-$version"
stage="$dir/root"
src=${CLIENTELE_CITUS_SRC:-$root/../shared/vendor/citus-$version.tar.gz}
pgconfig=/usr/lib/postgresql/$pgmajor/bin/pg_config
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo

installed() {
  [ -f "$($pgconfig --pkglibdir)/citus.so" ] &&
    grep -q "default_version = '${version%.*}-" "$($pgconfig --sharedir)/extension/citus.control" 2>/dev/null
}

mkdir -p "$dir"
exec 9>"$dir/.build.lock"
command -v flock >/dev/null 2>&1 && flock 9

if [ ! -f "$stage/.complete" ] || [ "${CITUS_REBUILD:-0}" = 1 ]; then
  [ -f "$src" ] || { echo "citus.sh: the Citus source $src is missing (set CLIENTELE_CITUS_SRC)" >&2; exit 1; }
  # Build dependencies, from the tarball's notes: server headers and the libraries
  # Citus links. Installed only when missing.
  need=""
  [ -x "$pgconfig" ] && [ -f "/usr/include/postgresql/$pgmajor/server/postgres.h" ] || need="$need postgresql-server-dev-$pgmajor"
  for h in curl/curl.h lz4.h zstd.h krb5.h openssl/ssl.h; do
    [ -f "/usr/include/$h" ] || [ -n "$(find /usr/include -path "*/$h" -print -quit 2>/dev/null)" ] || case $h in
      curl/curl.h) need="$need libcurl4-openssl-dev" ;; lz4.h) need="$need liblz4-dev" ;;
      zstd.h) need="$need libzstd-dev" ;; krb5.h) need="$need libkrb5-dev" ;; openssl/ssl.h) need="$need libssl-dev" ;;
    esac
  done
  command -v flex >/dev/null 2>&1 || need="$need flex"
  command -v bison >/dev/null 2>&1 || need="$need bison"
  if [ -n "$need" ]; then
    echo "citus.sh: installing build dependencies:$need" >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >&2 ||
      { $sudo apt-get update -qq >&2 && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >&2; }
  fi
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  echo "citus.sh: building Citus $version (a few minutes on 2 cores, once)" >&2
  start=$SECONDS
  tar -xzf "$src" -C "$work"
  (
    cd "$work/citus-$version"
    nice -n 10 ./configure PG_CONFIG="$pgconfig" >"$work/configure.log" 2>&1 || { tail -30 "$work/configure.log" >&2; exit 1; }
    nice -n 10 make -j"$(nproc)" >"$work/make.log" 2>&1 || { tail -30 "$work/make.log" >&2; exit 1; }
    rm -rf "$stage.tmp"
    make install DESTDIR="$stage.tmp" >"$work/install.log" 2>&1 || { tail -30 "$work/install.log" >&2; exit 1; }
  )
  touch "$stage.tmp/.complete"
  rm -rf "$stage"
  mv "$stage.tmp" "$stage"
  echo "citus.sh: built in $((SECONDS - start))s" >&2
fi

if ! installed || [ "${CITUS_REBUILD:-0}" = 1 ]; then
  echo "citus.sh: installing Citus $version into PostgreSQL $pgmajor" >&2
  (cd "$stage" && find usr -type f -o -type l) | while read -r f; do
    $sudo install -D -m "$( [ -x "$stage/$f" ] && echo 0755 || echo 0644 )" "$stage/$f" "/$f"
  done
fi
installed || { echo "citus.sh: Citus $version is not installed after all" >&2; exit 1; }
echo "citus.sh: Citus $version is installed for PostgreSQL $pgmajor" >&2
