#!/usr/bin/env bash
# Sets everything up and runs the whole test suite: builds the debug preset (ASan+UBSan),
# starts a real PostgreSQL and Redis on loopback, runs the CTest tests (all but label `full`
# unless MS_TEST_FULL=1), stops the servers.
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

# Tests labelled `full` repeat a path other tests cover (see tests/CMakeLists.txt); they run
# with MS_TEST_FULL=1.
exclude=(-LE full)
[ "${MS_TEST_FULL:-0}" = 1 ] && exclude=()
ctest --preset debug -j "$(nproc)" --timeout 600 "${exclude[@]}" "$@"
