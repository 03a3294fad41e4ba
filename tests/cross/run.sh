#!/usr/bin/env bash
# Runs the cross-check test binary ($1) against the npm telegram-test-api emulator:
# installs it if missing, starts it on loopback, passes its URL, stops it after.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
binary=${1:?test binary}
command -v npm >/dev/null || { echo "npm is needed for the cross-check (Debian: nodejs npm)" >&2; exit 1; }
if [ ! -d "$here/node_modules/telegram-test-api" ]; then
  npm install --no-audit --no-fund --silent --prefix "$here" >/dev/null
fi
state=$(mktemp -d)
trap 'kill "$node_pid" 2>/dev/null || true; rm -rf "$state"' EXIT
mkfifo "$state/stdin"
node --unhandled-rejections=warn "$here/telegram_test_api.js" <"$state/stdin" >"$state/out" 2>"$state/err" &
node_pid=$!
exec 3>"$state/stdin"  # closing it (at exit) stops the emulator
for _ in $(seq 1 200); do
  grep -q '^port ' "$state/out" 2>/dev/null && break
  kill -0 "$node_pid" 2>/dev/null || { cat "$state/err" >&2; exit 1; }
  sleep 0.05
done
port=$(sed -n 's/^port //p' "$state/out")
[ -n "$port" ] || { echo "telegram-test-api did not start" >&2; cat "$state/err" >&2; exit 1; }
MS_TTA_URL="http://127.0.0.1:$port" "$binary"
