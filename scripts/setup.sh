#!/usr/bin/env bash
# Installs what is missing (Debian packages; apt-get update once), then configures and
# builds one CMake preset. Safe to run again: it installs and rebuilds only what changed.
#   scripts/setup.sh release|debug [targets...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
preset=${1:-release}
shift || true

packages=(
  build-essential cmake ninja-build pkg-config ccache git curl ca-certificates
  libboost1.74-dev libboost-system1.74-dev libcurl4-openssl-dev libssl-dev
  libsoci-dev libsoci-sqlite3-4.0 libsoci-postgresql4.0 libsqlite3-dev libpq-dev sqlite3
  libhiredis-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libsodium-dev liboath-dev
  libqrencode-dev libpng-dev libzbar-dev prometheus-cpp-dev libcpp-jwt-dev libcli11-dev libyaml-cpp-dev
  libexpected-dev libgtest-dev libgmock-dev libbenchmark-dev
  postgresql redis-server
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "setup: run as root or install sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The Debian postgresql package may auto-start a cluster on 5432; tests start their own.
export CCACHE_DIR=${CCACHE_DIR:-$root/.cache/ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
# Paths relative to the checkout, so clones and worktrees share cache hits.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root}
# Debug builds would otherwise hash the build directory into every entry.
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
cd "$root"
if [ ! -f "build/$preset/build.ninja" ]; then
  cmake --preset "$preset" >/dev/null
fi
jobs=$(nproc)
if ((${#@})); then
  cmake --build --preset "$preset" -j "$jobs" --target "$@"
else
  cmake --build --preset "$preset" -j "$jobs"
fi
