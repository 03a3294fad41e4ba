#!/usr/bin/env bash
# Runs one named benchmark against the release build and prints its figures; the last
# line is one JSON object. Servers it needs (PostgreSQL) are started on loopback and
# stopped after.
#   bench/run.sh storage [--orders N] [--tenants N]
#   bench/run.sh panels [--concurrency 1,8] [--calls N] [--orders N]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
name=${1:?usage: bench/run.sh NAME [args]   (names: storage, panels)}
shift
case "$name" in
  storage)
    "$root/scripts/setup.sh" release storage_bench >/dev/null
    state=$(mktemp -d /tmp/mothership-bench-XXXXXX)
    trap '"$root/scripts/services.sh" stop "$state" >/dev/null 2>&1 || true' EXIT
    "$root/scripts/services.sh" start "$state" >/dev/null
    # shellcheck disable=SC1091
    source "$state/env"
    dir=$(mktemp -d /tmp/mothership-bench-sqlite-XXXXXX)
    "$root/build/release/bench/storage_bench" --backend sqlite --dir "$dir" "$@" >"$state/sqlite.out"
    cat "$state/sqlite.out"
    sqlite=$(tail -n 1 "$state/sqlite.out")
    rm -rf "$dir"
    "$root/build/release/bench/storage_bench" --backend postgres --pg-url "$MOTHERSHIP_TEST_PG_URL" "$@" >"$state/pg.out"
    cat "$state/pg.out"
    pg=$(tail -n 1 "$state/pg.out")
    echo "{\"bench\":\"storage\",\"sqlite\":$sqlite,\"postgres\":$pg}"
    ;;
  panels)
    "$root/scripts/setup.sh" release panels_bench >/dev/null
    "$root/build/release/bench/panels_bench" "$@"
    ;;
  *) echo "unknown benchmark '$name' (known: storage, panels)" >&2; exit 2 ;;
esac
