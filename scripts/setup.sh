#!/usr/bin/env bash
# Sets up what a fresh Debian machine lacks, and does nothing when all is there:
#   1. a C compiler and liburing's headers (apt-get when root; else the command to run),
#   2. npm dependencies (Bun itself comes from the npm package "bun"),
#   3. the shims: each c/NAME.c compiled to build/NAME.so when it or a c/*.h it includes is newer,
#      linked with the flags LINK_FLAGS lists for that file.
# Environment: IOURING_BENCH_SKIP_APT=1 never calls apt-get; SETUP_QUIET=1 prints only problems.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { [ "${SETUP_QUIET:-0}" = 1 ] || echo "setup: $*" >&2; }

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

# Link flags per shim, listed by file (a shim not listed here links nothing extra).
declare -A LINK_FLAGS=(
  [c/uring.c]="-luring"
  [c/loop_uring.c]="-luring"
  [c/loop_epoll.c]=""
  [c/net.c]=""
  [c/epoll.c]=""
  [c/micro.c]=""
  [c/hiccup.c]=""
  [c/loadgen.c]=""
)

mkdir -p build
for src in c/*.c; do
  name=$(basename "$src" .c)
  out="build/$name.so"
  # What the shim is built from: its source and the local headers it includes.
  deps=("$src" scripts/setup.sh)
  for h in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$src"); do deps+=("c/$h"); done
  rebuild=0
  [ -f "$out" ] || rebuild=1
  for d in "${deps[@]}"; do [ "$d" -nt "$out" ] && rebuild=1; done
  if [ "$rebuild" = 1 ]; then
    say "compiling $src"
    # shellcheck disable=SC2086 # the flags are a word list
    gcc -O2 -g -Wall -Wextra -fPIC -shared "$src" -o "$out.tmp" ${LINK_FLAGS[$src]:-}
    mv "$out.tmp" "$out"
  fi
done

# The Tokio reference server (optional): built when root can install what it
# needs, tried once; without it the tokio backend is reported and skipped.
if [ ! -x build/tokio-echo ] && [ ! -f build/.tokio-tried ] && [ "$(id -u)" = 0 ] && [ "${IOURING_BENCH_SKIP_APT:-0}" != 1 ]; then
  say "building the tokio reference server (optional; about a minute the first time)"
  touch build/.tokio-tried
  bash scripts/build-tokio.sh >&2 || say "tokio reference server not built; its backend will be reported unavailable"
fi
