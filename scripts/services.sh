#!/usr/bin/env bash
# Starts and stops the real servers the tests need, on loopback only.
#   scripts/services.sh start DIR   -> starts PostgreSQL and Redis under DIR, writes DIR/env
#   scripts/services.sh stop DIR    -> stops them and removes DIR
# DIR/env holds MOTHERSHIP_TEST_PG_URL and MOTHERSHIP_TEST_REDIS_URL for the tests.
set -euo pipefail

cmd=${1:?start|stop}
dir=${2:?state directory}
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)

free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$(( (RANDOM % 20000) + 30000 ))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then echo "$port"; return 0; fi
  done
  echo "no free port found" >&2; return 1
}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    pg_port=$(free_port)
    redis_port=$(free_port)
    mkdir -p "$dir/pg"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir" "$dir/pg"
    as_postgres "$pg_bin/initdb" -D "$dir/pg/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/pg/initdb.log" 2>&1
    as_postgres "$pg_bin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $dir/pg -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
      --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir"
    for _ in $(seq 1 100); do
      redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
      sleep 0.1
    done
    {
      echo "export MOTHERSHIP_TEST_PG_URL=postgresql://postgres@127.0.0.1:$pg_port/postgres"
      echo "export MOTHERSHIP_TEST_REDIS_URL=redis://127.0.0.1:$redis_port"
      echo "export MOTHERSHIP_TEST_PG_PORT=$pg_port"
    } >"$dir/env"
    echo "PostgreSQL on 127.0.0.1:$pg_port, Redis on 127.0.0.1:$redis_port"
    ;;
  stop)
    [ -d "$dir" ] || exit 0
    if [ -f "$dir/pg/data/postmaster.pid" ]; then
      as_postgres "$pg_bin/pg_ctl" -D "$dir/pg/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    if [ -f "$dir/redis.pid" ]; then
      kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
    fi
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
