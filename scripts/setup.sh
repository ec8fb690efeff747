#!/usr/bin/env bash
# Sets up what a fresh Debian machine lacks, and does nothing when all is there:
#   1. a C compiler and liburing's headers (apt-get when root; else the command to run),
#   2. npm dependencies (Bun itself comes from the npm package "bun"),
#   3. the shims: each c/NAME.c compiled to build/NAME.so (with the parts SHIM_PARTS lists) when
#      it is stale, linked with the flags LINK_FLAGS lists for that file.
# `setup.sh --check` only says whether a shim is stale (exit 1) or not (exit 0): ffi/build.ts asks it.
# Environment: IOURING_BENCH_SKIP_APT=1 never calls apt-get; SETUP_QUIET=1 prints only problems.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { [ "${SETUP_QUIET:-0}" = 1 ] || echo "setup: $*" >&2; }

# ---- the shims: the one place that says how c/ becomes build/ ----
# Each c/NAME.c is a shim, build/NAME.so, except the parts below, which are
# compiled into the shims that list them. A shim is stale when its .so is
# missing or older than this script, its sources or a c/*.h they include
# (directly or through another header). ffi/build.ts asks `setup.sh --check`.

# Link flags per shim (a shim not listed links nothing extra).
declare -A LINK_FLAGS=(
  [c/uring.c]="-luring"
  [c/loop_uring.c]="-luring"
)
# Sources compiled into other shims rather than being one.
declare -A SHIM_PARTS=(
  [c/loop_uring.c]="c/loop_common.c"
  [c/loop_epoll.c]="c/loop_common.c"
)
is_part() { case " ${SHIM_PARTS[*]} " in *" $1 "*) return 0 ;; esac; return 1; }

# Local headers each file includes (one grep over c/: --check runs before every entry point).
declare -A INCLUDES=()
while IFS=: read -r file line; do
  [[ $line =~ ^#include\ \"([^\"]+)\" ]] && INCLUDES[$file]+=" c/${BASH_REMATCH[1]}"
done < <(grep -H '^#include "' c/*.c c/*.h)

# Local headers a file includes, and theirs.
headers_of() {
  local h
  for h in ${INCLUDES[$1]:-}; do
    echo "$h"
    headers_of "$h"
  done
}

stale_shims() {
  local src out d
  for src in c/*.c; do
    is_part "$src" && continue
    out="build/$(basename "$src" .c).so"
    if [ ! -f "$out" ]; then echo "$src"; continue; fi
    for d in scripts/setup.sh "$src" ${SHIM_PARTS[$src]:-} $(for f in "$src" ${SHIM_PARTS[$src]:-}; do headers_of "$f"; done); do
      if [ "$d" -nt "$out" ]; then echo "$src"; break; fi
    done
  done
}

if [ "${1:-}" = --check ]; then
  # Exit 0 when every shim is up to date, 1 (naming the stale ones) when not; builds nothing.
  stale=$(stale_shims)
  [ -z "$stale" ] && exit 0
  echo "stale: $stale" >&2
  exit 1
fi

missing_pkgs=()
command -v gcc >/dev/null 2>&1 || missing_pkgs+=(gcc libc6-dev)
[ -f /usr/include/liburing.h ] || missing_pkgs+=(liburing-dev)
command -v taskset >/dev/null 2>&1 || missing_pkgs+=(util-linux)
# Optional tools: used when present, never required.
optional_pkgs=()
command -v perf >/dev/null 2>&1 || optional_pkgs+=(linux-perf)
command -v strace >/dev/null 2>&1 || optional_pkgs+=(strace)

if [ ${#missing_pkgs[@]} -gt 0 ] || { [ ${#optional_pkgs[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && [ ! -f build/.optional-tried ]; }; then
  if [ "$(id -u)" = 0 ] && [ "${IOURING_BENCH_SKIP_APT:-0}" != 1 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing_pkgs[*]} ${optional_pkgs[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    if [ ${#missing_pkgs[@]} -gt 0 ]; then
      apt-get install -y -qq "${missing_pkgs[@]}" >/dev/null
    fi
    if [ ${#optional_pkgs[@]} -gt 0 ]; then
      apt-get install -y -qq "${optional_pkgs[@]}" >/dev/null 2>&1 || say "optional ${optional_pkgs[*]} not installed; syscall counts will say n/a"
    fi
    mkdir -p build && touch build/.optional-tried
  elif [ ${#missing_pkgs[@]} -gt 0 ]; then
    echo "setup: missing ${missing_pkgs[*]}." >&2
    echo "setup: run:  sudo apt-get update && sudo apt-get install -y ${missing_pkgs[*]}" >&2
    exit 2
  fi
fi

# npm dependencies: install when node_modules is absent or older than the lock file.
if [ ! -x node_modules/.bin/bun ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies"
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error >&2; else npm install --no-audit --no-fund --loglevel=error >&2; fi
fi

mkdir -p build
for src in $(stale_shims); do
  name=$(basename "$src" .c)
  out="build/$name.so"
  say "compiling $src${SHIM_PARTS[$src]:+ with ${SHIM_PARTS[$src]}}"
  # shellcheck disable=SC2086 # the sources and flags are word lists
  gcc -O2 -g -Wall -Wextra -fPIC -shared "$src" ${SHIM_PARTS[$src]:-} -o "$out.tmp" ${LINK_FLAGS[$src]:-}
  mv "$out.tmp" "$out"
done

# The Tokio reference server (optional): built when root can install what it
# needs, tried once; without it the tokio backend is reported and skipped.
if [ ! -x build/tokio-echo ] && [ ! -f build/.tokio-tried ] && [ "$(id -u)" = 0 ] && [ "${IOURING_BENCH_SKIP_APT:-0}" != 1 ]; then
  say "building the tokio reference server (optional; about a minute the first time)"
  touch build/.tokio-tried
  bash scripts/build-tokio.sh >&2 || say "tokio reference server not built; its backend will be reported unavailable"
fi
