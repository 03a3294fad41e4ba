#!/usr/bin/env bash
# Sets everything up and runs the platform: `mothership serve` on the embedded default
# (SQLite in ./data, in-process bots, sandbox Telegram when no token is given).
# Extra arguments go to `mothership serve`. Ctrl-C (SIGINT) or SIGTERM stops it gracefully.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh" release mothership
cd "$root"
exec "$root/build/release/src/cli/mothership" serve "$@"
