#!/usr/bin/env bash
# Runs one named benchmark against the release build and prints its figures; the last
# line is one JSON object. Servers it needs (PostgreSQL) are started on loopback and
# stopped after.
#   bench/run.sh storage [--orders N] [--tenants N]
#   bench/run.sh telegram_bots [--bots N] [--people N] [--rate N] [--seconds N]
#   bench/run.sh telegram_broadcast [--users N]
#   bench/run.sh panels [--concurrency 1,8] [--calls N] [--orders N]
#   bench/run.sh shop [--small N] [--big N] [--backends sqlite,postgres] [--rate N] [--seconds N] [--rounds N]
#                     [--people N] [--saturate]
#   bench/run.sh deploy [--n N] [--deployers inprocess,process] [--backends sqlite,postgres]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
name=${1:?usage: bench/run.sh NAME [args]   (names: storage, telegram_bots, telegram_broadcast, panels, shop, deploy)}
shift
# per_backend NAME BACKENDS ARGS...: builds bench/NAME_bench (release), starts PostgreSQL when
# it is one of BACKENDS (comma-separated), runs the bench once per backend with ARGS and
# prints its output; the last line joins each run's last line (one JSON object each).
per_backend() {
  local bench=$1 backends=$2
  shift 2
  "$root/scripts/setup.sh" release "${bench}_bench" >/dev/null
  state=$(mktemp -d /tmp/mothership-bench-XXXXXX)
  trap '"$root/scripts/services.sh" stop "$state" >/dev/null 2>&1 || true' EXIT
  if [[ ",$backends," == *",postgres,"* ]]; then
    "$root/scripts/services.sh" start "$state" >/dev/null
    # shellcheck disable=SC1091
    source "$state/env"
  fi
  local results=() backend args
  for backend in ${backends//,/ }; do
    args=(--backend "$backend" "$@")
    [ "$backend" = postgres ] && args+=(--pg-url "$MOTHERSHIP_TEST_PG_URL")
    "$root/build/release/bench/${bench}_bench" "${args[@]}" | tee "$state/out"
    results+=("$(tail -n 1 "$state/out")")
  done
  (IFS=,; echo "{\"bench\":\"$bench\",\"runs\":[${results[*]}]}")
}

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
  telegram_bots)
    "$root/scripts/setup.sh" release telegram_bench >/dev/null
    "$root/build/release/bench/telegram_bench" bots "$@"
    ;;
  telegram_broadcast)
    "$root/scripts/setup.sh" release telegram_bench >/dev/null
    "$root/build/release/bench/telegram_bench" broadcast "$@"
    ;;
  panels)
    "$root/scripts/setup.sh" release panels_bench >/dev/null
    "$root/build/release/bench/panels_bench" "$@"
    ;;
  shop)
    # The shop bot on a small and a big tenant (users; orders are 10 per user) in one process,
    # taking turns, per backend.
    small=1000 big=100000 backends=sqlite,postgres rest=()
    while (($#)); do
      case "$1" in
        --small) small=$2; shift 2 ;;
        --big) big=$2; shift 2 ;;
        --backends) backends=$2; shift 2 ;;
        *) rest+=("$1"); shift ;;
      esac
    done
    per_backend shop "$backends" --sizes "$small,$big" "${rest[@]}"
    ;;
  deploy)
    # Payment verified -> the new shop bot's first answer to /start, per deployer (the
    # process one runs `mothership runner` children of the release build), per backend.
    backends=sqlite,postgres rest=()
    while (($#)); do
      case "$1" in
        --backends) backends=$2; shift 2 ;;
        *) rest+=("$1"); shift ;;
      esac
    done
    per_backend deploy "$backends" "${rest[@]}"
    ;;
  *) echo "unknown benchmark '$name' (known: storage, telegram_bots, telegram_broadcast, panels, shop, deploy)" >&2; exit 2 ;;
esac
