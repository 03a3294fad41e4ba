# Helpers for the command-line end-to-end tests. Each test runs the real `mothership`
# binary in a fresh data directory and fails loudly with what it saw.
set -euo pipefail

MS_BIN=${MS_BIN:?MS_BIN must point at the mothership binary}
work=$(mktemp -d /tmp/ms-cli-test-XXXXXX)
chmod 755 "$work"  # the test PostgreSQL runs as user postgres and must reach its folder
pids=()
pg_db=""

cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if [ -n "$pg_db" ]; then psql -q "$MOTHERSHIP_TEST_PG_URL" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
expect_eq() { [ "$1" == "$2" ] || fail "$3: expected '$2', got '$1'"; }
expect_contains() { [[ "$1" == *"$2"* ]] || fail "$3: expected to contain '$2', got: $1"; }
expect_not_contains() { [[ "$1" != *"$2"* ]] || fail "$3: must not contain '$2', got: $1"; }

# use_backend sqlite|postgres: sets the environment of a fresh installation in $work/data.
use_backend() {
  export MOTHERSHIP_DATA_DIR="$work/data"
  unset MOTHERSHIP_DATABASE_URL MOTHERSHIP_SECRET_KEY MOTHERSHIP_SECRET_KEY_FILE MOTHERSHIP_CONFIG
  export MOTHERSHIP_LOG_LEVEL=warn
  if [ "$1" = postgres ]; then
    if [ -z "${MOTHERSHIP_TEST_PG_URL:-}" ]; then
      [ -n "${MOTHERSHIP_TEST_REQUIRE_PG:-}" ] && fail "MOTHERSHIP_TEST_PG_URL is not set"
      echo "SKIP: no PostgreSQL (set MOTHERSHIP_TEST_PG_URL)"; exit 0
    fi
    pg_db="ms_cli_$$_$RANDOM"
    psql -q "$MOTHERSHIP_TEST_PG_URL" -c "CREATE DATABASE $pg_db" >/dev/null
    export MOTHERSHIP_DATABASE_URL="${MOTHERSHIP_TEST_PG_URL%/*}/$pg_db"
  fi
}

# start_serve NAME [env...]: runs `mothership serve` on an ephemeral port; sets $port.
start_serve() {
  local name=$1; shift
  rm -f "$work/$name.port"
  env "$@" MOTHERSHIP_HTTP_LISTEN=127.0.0.1:0 "$MS_BIN" serve --port-file "$work/$name.port" >"$work/$name.log" 2>&1 &
  serve_pid=$!
  pids+=("$serve_pid")
  for _ in $(seq 1 300); do
    [ -s "$work/$name.port" ] && break
    kill -0 "$serve_pid" 2>/dev/null || { cat "$work/$name.log" >&2; fail "serve exited early"; }
    sleep 0.05
  done
  [ -s "$work/$name.port" ] || { cat "$work/$name.log" >&2; fail "serve did not start listening"; }
  port=$(cat "$work/$name.port")
}

# stop_serve: SIGTERM, then expects a clean exit within 10 s.
stop_serve() {
  kill -TERM "$serve_pid"
  local code=0
  for _ in $(seq 1 200); do
    kill -0 "$serve_pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -0 "$serve_pid" 2>/dev/null && fail "serve did not stop within 10 s of SIGTERM"
  wait "$serve_pid" || code=$?
  expect_eq "$code" 0 "serve exit code after SIGTERM"
}

http_status() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$1"; }
http_body() { curl -s "http://127.0.0.1:$port$1"; }

# wait_ready: polls /readyz until 200 (the database connects after the server listens).
wait_ready() {
  local status=""
  for _ in $(seq 1 300); do
    status=$(http_status /readyz)
    [ "$status" = 200 ] && return 0
    sleep 0.05
  done
  http_body /readyz >&2
  fail "/readyz did not become 200 within 15 s (last $status)"
}

# json_get PATH: reads JSON on stdin and prints the value at a dotted path (list indexes
# are numbers), or nothing.
json_get() {
  python3 -c 'import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[int(k)] if isinstance(v, list) else v.get(k) if isinstance(v, dict) else None
    if v is None: break
print("" if v is None else v)' "$1" 2>/dev/null
}

# wait_for_file_text FILE TEXT: waits up to 10 s for TEXT to appear in FILE.
wait_for_file_text() {
  for _ in $(seq 1 200); do
    grep -qF -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  cat "$1" >&2
  fail "'$2' did not appear in $1 within 10 s"
}
