#!/usr/bin/env bash
# Sets everything up and runs the whole test suite: builds the debug preset (ASan+UBSan),
# starts a real PostgreSQL and Redis on loopback, runs every CTest test, stops the servers.
# Extra arguments go to ctest (e.g. -L storage, -R Config).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh" debug
cd "$root"
# The npm emulator our Telegram client is cross-checked against (tests/cross).
if [ ! -d tests/cross/node_modules/telegram-test-api ]; then
  npm install --no-audit --no-fund --silent --prefix tests/cross >/dev/null
fi

state=$(mktemp -d /tmp/mothership-test-XXXXXX)
cleanup() { "$root/scripts/services.sh" stop "$state" || true; }
trap cleanup EXIT INT TERM
"$root/scripts/services.sh" start "$state"
# shellcheck disable=SC1091
source "$state/env"
export MOTHERSHIP_TEST_REQUIRE_PG=1 MOTHERSHIP_TEST_REQUIRE_REDIS=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

ctest --preset debug -j "$(nproc)" --timeout 600 "$@"
