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

# start_marzban NAME [args...]: the strict Marzban test panel (MS_MARZBAN_BIN) on an ephemeral
# port; sets $mport.
start_marzban() {
  local name=$1; shift
  : "${MS_MARZBAN_BIN:?MS_MARZBAN_BIN must point at marzban_test_server}"
  rm -f "$work/$name.port"
  "$MS_MARZBAN_BIN" --port 0 --port-file "$work/$name.port" "$@" >"$work/$name.log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 1 200); do [ -s "$work/$name.port" ] && break; sleep 0.05; done
  [ -s "$work/$name.port" ] || { cat "$work/$name.log" >&2; fail "marzban_test_server did not start"; }
  mport=$(cat "$work/$name.port")
}

# `mothership sandbox chat` sessions driven by a script, as a person would type ($sbx is the
# sandbox base URL). chat_start NAME BOT [chat args...]: its output goes to $work/NAME.out.
declare -A chat_fd chat_pid
chat_start() {
  local name=$1 bot=$2; shift 2
  mkfifo "$work/$name.in"
  # The other chats' input ends stay with this script only (their EOF is how they end).
  local closes="" other
  for other in "${!chat_fd[@]}"; do closes+=" ${chat_fd[$other]}>&-"; done
  eval '"$MS_BIN" sandbox chat --url "$sbx" --bot "$bot" "$@" <"$work/$name.in" >"$work/$name.out" 2>&1'"$closes &"
  chat_pid[$name]=$!
  pids+=("$!")
  local fd
  exec {fd}>"$work/$name.in"
  chat_fd[$name]=$fd
  for _ in $(seq 1 200); do grep -q "Chatting with" "$work/$name.out" 2>/dev/null && return 0; sleep 0.05; done
  cat "$work/$name.out" >&2
  fail "sandbox chat $name did not start"
}
# chat_stop NAME: end of input; the chat exits cleanly.
chat_stop() {
  local fd=${chat_fd[$1]}
  exec {fd}>&-
  wait "${chat_pid[$1]}" || fail "sandbox chat $1 did not exit cleanly"
}
# chat_wait NAME TEXT [SECONDS]: waits for TEXT in what the chat printed after the last input.
chat_wait() {
  local name=$1 text=$2 seconds=${3:-30}
  local from=${chat_mark[$name]:-0}
  for _ in $(seq 1 $((seconds * 10))); do
    tail -c +"$((from + 1))" "$work/$name.out" | grep -qF -- "$text" && return 0
    sleep 0.1
  done
  tail -n 40 "$work/$name.out" >&2
  fail "chat $name: '$text' did not appear within $seconds s"
}
declare -A chat_mark
# chat_say NAME LINE EXPECT: types LINE and waits for EXPECT after it (empty: no wait).
chat_say() {
  chat_mark[$1]=$(stat -c %s "$work/$1.out")
  echo "$2" >&"${chat_fd[$1]}"
  [ -z "$3" ] || chat_wait "$1" "$3"
}
# chat_press NAME LABEL EXPECT: types the number of the newest button whose text has LABEL.
chat_press() {
  local name=$1 label=$2 n=""
  for _ in $(seq 1 300); do
    n=$(python3 -c 'import re, sys
lines = [l for l in open(sys.argv[1], encoding="utf-8", errors="replace") if l.startswith("  buttons:")]
found = [int(i) for i, t in re.findall(r"\[(\d+)\] (.*?)(?=  \[\d+\] |$)", lines[-1].rstrip("\n")) if sys.argv[2] in t] if lines else []
print(found[-1] if found else "")' "$work/$name.out" "$label")
    [ -n "$n" ] && break
    sleep 0.1
  done
  [ -n "$n" ] || { tail -n 40 "$work/$name.out" >&2; fail "chat $name: no button '$label'"; }
  chat_say "$name" "$n" "$3"
}
