#!/usr/bin/env bash
# Builds build/tokio-echo, the Tokio reference server (bench/tokio-echo, echo and
# order modes), offline:
# crates come from Debian's librust-*-dev packages under /usr/share/cargo/registry
# (bench/tokio-echo/.cargo/config.toml replaces crates-io with that directory),
# so no crate registry is reached. Works with Debian 12's own cargo/rustc 1.63.
#   1. cargo and the crate packages: apt-get when root; else the command to run (exit 2),
#   2. cargo build --offline --release into build/tokio-target, copied to build/tokio-echo,
#      only when a source is newer than build/tokio-echo.
# Environment: IOURING_BENCH_SKIP_APT=1 never calls apt-get; SETUP_QUIET=1 prints only problems;
#              TOKIO_FORCE_BUILD=1 rebuilds even when build/tokio-echo is up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

say() { [ "${SETUP_QUIET:-0}" = 1 ] || echo "build-tokio: $*" >&2; }

src=bench/tokio-echo
out=build/tokio-echo
registry=/usr/share/cargo/registry
# Debian package -> a crate directory it installs.
crate_pkgs=(librust-tokio-dev librust-tokio-util-dev librust-futures-util-dev librust-serde-dev librust-serde-json-dev librust-libc-dev)
crate_globs=("tokio-1.*" "tokio-util-0.7.*" "futures-util-0.3.*" "serde-1.*" "serde_json-1.*" "libc-0.2.*")

have_crate() { compgen -G "$registry/$1/Cargo.toml" >/dev/null; }

missing=()
command -v cargo >/dev/null 2>&1 || missing+=(cargo)
for i in "${!crate_pkgs[@]}"; do
  have_crate "${crate_globs[$i]}" || missing+=("${crate_pkgs[$i]}")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && [ "${IOURING_BENCH_SKIP_APT:-0}" != 1 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "build-tokio: missing ${missing[*]}." >&2
    echo "build-tokio: run:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 2
  fi
fi

# Up to date: the binary exists and no source (nor this script) is newer.
if [ "${TOKIO_FORCE_BUILD:-0}" != 1 ] && [ -x "$out" ] &&
  [ -z "$(find "$src/Cargo.toml" "$src/src" "$src/.cargo" scripts/build-tokio.sh -type f -newer "$out" 2>/dev/null | head -n 1)" ]; then
  exit 0
fi

say "building $out with $(cargo --version) (offline, Debian crates)"
mkdir -p build
quiet=()
[ "${SETUP_QUIET:-0}" = 1 ] && quiet=(--quiet)
start=$(date +%s)
# Cargo.lock is not kept: Debian ships one version of each crate, and a lock
# naming a version that a Debian update replaced would fail offline.
rm -f "$src/Cargo.lock"
(
  cd "$src" # the directory-source config in $src/.cargo is found from here
  cargo build --offline --release "${quiet[@]}" --target-dir "$root/build/tokio-target" >&2
)
cp "build/tokio-target/release/tokio-echo" "$out.tmp"
mv "$out.tmp" "$out"
say "built $out in $(($(date +%s) - start))s"
