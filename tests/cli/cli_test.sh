#!/usr/bin/env bash
# End-to-end tests of the `mothership` command line:  cli_test.sh SCENARIO BACKEND
# BACKEND is sqlite or postgres. Each scenario starts from an empty data directory.
source "$(dirname "$0")/lib.sh"
scenario=${1:?scenario}
use_backend "${2:-sqlite}"

case "$scenario" in
  version)
    out=$("$MS_BIN" version)
    expect_contains "$out" "mothership " "version"
    for cmd in serve migrate "tenant create" "tenant list" "tenant export" "tenant erase" "secrets rotate" backup restore doctor version; do
      # shellcheck disable=SC2086
      help=$("$MS_BIN" $cmd --help)
      expect_contains "$help" "Usage" "$cmd --help"
    done
    code=0; "$MS_BIN" no-such-command >/dev/null 2>&1 || code=$?
    expect_eq "$code" 2 "unknown command exit code"
    ;;

  bad_config)
    for kv in MOTHERSHIP_LOG_LEVEL=loud MOTHERSHIP_DEPLOY_BACKEND=k8s MOTHERSHIP_HTTP_LISTEN=nope \
              MOTHERSHIP_DATABASE_URL=mysql://x MOTHERSHIP_OPERATOR_IDS=1,x; do
      code=0; out=$(env "$kv" "$MS_BIN" serve 2>&1) || code=$?
      expect_eq "$code" 2 "exit code for $kv"
      expect_contains "$out" "${kv%%=*}" "message for $kv names the key"
    done
    code=0; out=$(env MOTHERSHIP_LOG_FORMAT=xml "$MS_BIN" serve 2>&1) || code=$?
    expect_contains "$out" "text, json" "allowed values are named"
    [ ! -e "$MOTHERSHIP_DATA_DIR/master.db" ] || fail "a bad configuration must not create data"
    ;;

  serve)
    start_serve s1
    expect_eq "$(http_status /healthz)" 200 "/healthz"
    expect_contains "$(http_body /healthz)" '"ok"' "/healthz body"
    wait_ready
    metrics=$(http_body /metrics)
    expect_contains "$metrics" "# TYPE http_requests_total counter" "/metrics exposition"
    expect_contains "$metrics" 'route="/healthz"' "/metrics counts requests by route"
    expect_contains "$metrics" "process_resident_memory_bytes" "/metrics process figures"
    expect_eq "$(http_status /no/such/path)" 404 "unknown path"
    expect_contains "$(http_body /no/such/path)" '"error"' "JSON error body"
    # The bots' webhook route: no bot instance 12345 here, and nothing is processed.
    hook=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'X-Telegram-Bot-Api-Secret-Token: x' \
      -d '{"update_id":1}' "http://127.0.0.1:$port/telegram/12345")
    expect_eq "$hook" 404 "webhook for an unknown bot instance"
    key="$MOTHERSHIP_DATA_DIR/secret.key"
    [ -f "$key" ] || fail "the key file was not generated"
    expect_eq "$(stat -c %a "$MOTHERSHIP_DATA_DIR")" 700 "a new data directory is private"
    expect_eq "$(stat -c %a "$key")" 600 "key file mode"
    stop_serve
    # A second start reuses the same key and data.
    sum=$(sha256sum "$key")
    start_serve s2
    expect_eq "$(http_status /healthz)" 200 "/healthz after restart"
    stop_serve
    expect_eq "$(sha256sum "$key")" "$sum" "key file unchanged by a restart"
    ;;

  wrong_key)
    start_serve s1
    stop_serve
    key="$MOTHERSHIP_DATA_DIR/secret.key"
    sum=$(sha256sum "$key")
    other=$(head -c 32 /dev/urandom | base64)
    code=0; out=$(env MOTHERSHIP_SECRET_KEY="$other" MOTHERSHIP_HTTP_LISTEN=127.0.0.1:0 timeout 20 "$MS_BIN" serve 2>&1) || code=$?
    expect_eq "$code" 2 "wrong key exit code"
    expect_contains "$out" "secret key" "wrong key message"
    expect_not_contains "$out" "$other" "the key is never echoed"
    expect_eq "$(sha256sum "$key")" "$sum" "key file untouched by a wrong key"
    start_serve s2
    expect_eq "$(http_status /healthz)" 200 "right key still works"
    stop_serve
    ;;

  migrate_and_tenants)
    "$MS_BIN" migrate >"$work/m1.out"
    "$MS_BIN" migrate >"$work/m2.out"
    expect_contains "$(cat "$work/m2.out")" "up to date" "second migrate is a no-op"
    "$MS_BIN" tenant create 7 >/dev/null
    "$MS_BIN" tenant create 8 >/dev/null
    code=0; "$MS_BIN" tenant create 7 >/dev/null 2>&1 || code=$?
    expect_eq "$code" 1 "creating an existing tenant fails"
    list=$("$MS_BIN" tenant list)
    expect_contains "$list" "7" "list shows tenant 7"
    expect_contains "$list" "8" "list shows tenant 8"
    "$MS_BIN" tenant export 7 -o "$work/t7.json" >/dev/null
    expect_contains "$(cat "$work/t7.json")" '"tables"' "export holds tables"
    expect_contains "$(cat "$work/t7.json")" '"users"' "export holds the users table"
    code=0; "$MS_BIN" tenant erase 7 >/dev/null 2>&1 || code=$?
    expect_eq "$code" 2 "erase without --yes refuses"
    "$MS_BIN" tenant erase 7 --yes >/dev/null
    list=$("$MS_BIN" tenant list)
    [[ "$list" != *" 7"* && "$list" != "7"* ]] || fail "tenant 7 still listed after erase: $list"
    code=0; "$MS_BIN" tenant export 7 -o "$work/gone.json" >/dev/null 2>&1 || code=$?
    expect_eq "$code" 1 "export of an erased tenant fails"
    ;;

  backup_restore)
    "$MS_BIN" tenant create 5 >/dev/null
    "$MS_BIN" backup -o "$work/b1.msbk" >/dev/null
    [ -s "$work/b1.msbk" ] || fail "no archive written"
    if grep -q '"tables"' "$work/b1.msbk"; then fail "archive is not encrypted"; fi
    "$MS_BIN" tenant create 6 >/dev/null
    code=0; "$MS_BIN" restore "$work/b1.msbk" >/dev/null 2>&1 || code=$?
    expect_eq "$code" 1 "restore over existing data without --force refuses"
    "$MS_BIN" restore "$work/b1.msbk" --force >/dev/null
    list=$("$MS_BIN" tenant list)
    expect_contains "$list" "5" "restored tenant 5"
    [[ "$list" != *"6"* ]] || fail "tenant 6 was made after the backup and must be gone: $list"
    # A tampered archive is refused and changes nothing.
    cp "$work/b1.msbk" "$work/bad.msbk"
    printf 'X' | dd of="$work/bad.msbk" bs=1 seek=200 conv=notrunc 2>/dev/null
    code=0; "$MS_BIN" restore "$work/bad.msbk" --force >/dev/null 2>&1 || code=$?
    expect_eq "$code" 1 "tampered archive refused"
    expect_contains "$("$MS_BIN" tenant list)" "5" "data intact after a refused restore"
    # Full disk: the old archive in the same place stays whole.
    if [ "$(id -u)" = 0 ] && mkdir -p "$work/full" && mount -t tmpfs -o size=8k tmpfs "$work/full" 2>/dev/null; then
      head -c 7000 /dev/urandom >"$work/full/filler"
      cp "$work/b1.msbk" "$work/full/keep.msbk" 2>/dev/null || true
      before=$(sha256sum "$work/full/keep.msbk" 2>/dev/null || echo none)
      code=0; out=$("$MS_BIN" backup -o "$work/full/keep.msbk" 2>&1) || code=$?
      after=$(sha256sum "$work/full/keep.msbk" 2>/dev/null || echo none)
      umount "$work/full"
      expect_eq "$code" 1 "backup to a full disk fails"
      expect_eq "$after" "$before" "the old archive is untouched by a failed backup"
    fi
    ;;

  rotate)
    "$MS_BIN" migrate >/dev/null
    "$MS_BIN" tenant create 3 >/dev/null
    key="$MOTHERSHIP_DATA_DIR/secret.key"
    cp "$key" "$work/old.key"
    out=$("$MS_BIN" secrets rotate)
    expect_contains "$out" "re-encrypted" "rotate reports"
    [ "$(sha256sum <"$key")" != "$(sha256sum <"$work/old.key")" ] || fail "key file unchanged by rotate"
    expect_eq "$(stat -c %a "$key")" 600 "rotated key file mode"
    start_serve s1
    wait_ready
    stop_serve
    chmod 600 "$work/old.key"
    code=0; out=$(env MOTHERSHIP_SECRET_KEY_FILE="$work/old.key" timeout 20 "$MS_BIN" migrate 2>&1) || code=$?
    expect_eq "$code" 2 "the old key no longer opens the data"
    ;;

  doctor)
    "$MS_BIN" migrate >/dev/null
    out=$("$MS_BIN" doctor)
    expect_contains "$out" "database" "doctor checks the database"
    expect_contains "$out" "disk" "doctor checks the disk"
    expect_contains "$out" "key" "doctor checks the key file"
    chmod 644 "$MOTHERSHIP_DATA_DIR/secret.key"
    code=0; out=$("$MS_BIN" doctor 2>&1) || code=$?
    expect_eq "$code" 1 "doctor fails on a readable key file"
    expect_contains "$out" "chmod 600" "doctor says how to fix the key file"
    chmod 600 "$MOTHERSHIP_DATA_DIR/secret.key"
    code=0; out=$(env MOTHERSHIP_DATABASE_URL=postgresql://nobody@127.0.0.1:1/none "$MS_BIN" doctor 2>&1) || code=$?
    expect_eq "$code" 1 "doctor fails on an unreachable database"
    ;;

  db_outage)
    # A PostgreSQL of its own, so stopping it disturbs no other test.
    "$MS_SOURCE_DIR/scripts/services.sh" start "$work/own" >/dev/null
    # shellcheck disable=SC1091
    own_url=$(source "$work/own/env"; echo "$MOTHERSHIP_TEST_PG_URL")
    pg_data="$work/own/pg/data"
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
    start_serve s1 MOTHERSHIP_DATABASE_URL="$own_url"
    wait_ready
    as_pg "$pg_bin/pg_ctl" -D "$pg_data" -m immediate -w stop >/dev/null
    status=""
    for _ in $(seq 1 100); do status=$(http_status /readyz); [ "$status" = 503 ] && break; sleep 0.1; done
    expect_eq "$status" 503 "/readyz while the database is down"
    expect_contains "$(http_body /readyz)" "database" "/readyz names the failing check"
    expect_eq "$(http_status /healthz)" 200 "/healthz still answers"
    own_port=$(source "$work/own/env"; echo "$MOTHERSHIP_TEST_PG_PORT")
    as_pg "$pg_bin/pg_ctl" -D "$pg_data" -l "$work/own/pg/server2.log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $own_port -k $work/own/pg" start >/dev/null
    for _ in $(seq 1 150); do status=$(http_status /readyz); [ "$status" = 200 ] && break; sleep 0.1; done
    expect_eq "$status" 200 "/readyz recovers when the database is back"
    stop_serve
    # Started while the database is down: serves /healthz, retries, becomes ready.
    as_pg "$pg_bin/pg_ctl" -D "$pg_data" -m immediate -w stop >/dev/null
    start_serve s2 MOTHERSHIP_DATABASE_URL="$own_url"
    expect_eq "$(http_status /healthz)" 200 "/healthz while the database was never reached"
    expect_eq "$(http_status /readyz)" 503 "/readyz before the database was ever reached"
    expect_contains "$(http_body /readyz)" "connecting" "/readyz says it is still connecting"
    as_pg "$pg_bin/pg_ctl" -D "$pg_data" -l "$work/own/pg/server3.log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $own_port -k $work/own/pg" start >/dev/null
    wait_ready
    stop_serve
    "$MS_SOURCE_DIR/scripts/services.sh" stop "$work/own" >/dev/null
    ;;

  redis)
    if [ -z "${MOTHERSHIP_TEST_REDIS_URL:-}" ]; then
      [ -n "${MOTHERSHIP_TEST_REQUIRE_REDIS:-}" ] && fail "MOTHERSHIP_TEST_REDIS_URL is not set"
      echo "SKIP: no Redis (set MOTHERSHIP_TEST_REDIS_URL)"; exit 0
    fi
    start_serve s1 MOTHERSHIP_REDIS_URL="$MOTHERSHIP_TEST_REDIS_URL"
    wait_ready
    expect_contains "$(http_body /readyz)" '"redis":"ok"' "/readyz checks Redis"
    stop_serve
    # A Redis that does not answer makes the process not ready, and says so.
    start_serve s2 MOTHERSHIP_REDIS_URL=redis://127.0.0.1:1
    for _ in $(seq 1 100); do [ "$(http_status /readyz)" = 503 ] && break; sleep 0.05; done
    expect_eq "$(http_status /readyz)" 503 "/readyz with Redis down"
    expect_contains "$(http_body /readyz)" "redis" "/readyz names Redis"
    stop_serve
    code=0; out=$(env MOTHERSHIP_REDIS_URL=redis://127.0.0.1:1 "$MS_BIN" doctor 2>&1) || code=$?
    expect_eq "$code" 1 "doctor fails with Redis down"
    expect_contains "$out" "redis" "doctor names Redis"
    ;;

  corrupt_tenant)
    "$MS_BIN" tenant create 1 >/dev/null
    "$MS_BIN" tenant create 2 >/dev/null
    head -c 65536 /dev/urandom >"$MOTHERSHIP_DATA_DIR/tenants/1.db"
    rm -f "$MOTHERSHIP_DATA_DIR/tenants/1.db-wal" "$MOTHERSHIP_DATA_DIR/tenants/1.db-shm"
    start_serve s1
    wait_ready
    stop_serve
    "$MS_BIN" tenant export 2 -o "$work/t2.json" >/dev/null
    expect_contains "$(cat "$work/t2.json")" '"tables"' "the healthy tenant still exports"
    code=0; out=$("$MS_BIN" tenant export 1 -o "$work/t1.json" 2>&1) || code=$?
    expect_eq "$code" 1 "the corrupted tenant fails"
    expect_contains "$out" "tenant 1" "the error names the tenant"
    code=0; out=$("$MS_BIN" doctor 2>&1) || code=$?
    expect_eq "$code" 1 "doctor reports the corrupted tenant"
    expect_contains "$out" "FAIL  tenant 1" "doctor names the tenant"
    ;;

  cross_backend)
    # An archive made on SQLite restores into PostgreSQL with the same key, and back.
    pg_url=$MOTHERSHIP_DATABASE_URL
    unset MOTHERSHIP_DATABASE_URL
    "$MS_BIN" tenant create 11 >/dev/null
    "$MS_BIN" tenant create 12 >/dev/null
    "$MS_BIN" tenant export 11 -o "$work/sqlite-11.json" >/dev/null
    "$MS_BIN" backup -o "$work/from-sqlite.msbk" >/dev/null
    MOTHERSHIP_DATABASE_URL=$pg_url "$MS_BIN" restore "$work/from-sqlite.msbk" >/dev/null
    list=$(MOTHERSHIP_DATABASE_URL=$pg_url "$MS_BIN" tenant list)
    expect_contains "$list" "11" "tenant 11 restored into PostgreSQL"
    expect_contains "$list" "12" "tenant 12 restored into PostgreSQL"
    MOTHERSHIP_DATABASE_URL=$pg_url "$MS_BIN" tenant export 11 -o "$work/pg-11.json" >/dev/null
    expect_eq "$(sha256sum <"$work/pg-11.json")" "$(sha256sum <"$work/sqlite-11.json")" "the same rows on both backends"
    MOTHERSHIP_DATABASE_URL=$pg_url "$MS_BIN" backup -o "$work/from-pg.msbk" >/dev/null
    "$MS_BIN" restore "$work/from-pg.msbk" --force >/dev/null
    expect_contains "$("$MS_BIN" tenant list)" "11" "and back into SQLite"
    ;;

  packages)
    "$MS_BIN" packages list >"$work/packages.json"
    expect_contains "$(cat "$work/packages.json")" '"starter"' "the default packages are seeded"
    expect_contains "$(cat "$work/packages.json")" '"enterprise"' "all three of them"
    # The operator raises Starter's user limit; the edit is what the platform uses from then on.
    python3 - "$work/packages.json" <<'PY'
import json, sys
path = sys.argv[1]
packages = json.load(open(path))
for p in packages:
    if p["code"] == "starter":
        p["limits"]["users_with_service"] = 150
json.dump(packages, open(path, "w"), ensure_ascii=False)
PY
    "$MS_BIN" packages import "$work/packages.json" >/dev/null
    expect_contains "$("$MS_BIN" packages list | tr -d ' \n')" '"users_with_service":150' "the edit is stored"
    echo '[{"code":"starter","limits":{"panels":-1}}]' >"$work/bad.json"
    code=0; out=$("$MS_BIN" packages import "$work/bad.json" 2>&1) || code=$?
    expect_eq "$code" 2 "an invalid package file is refused"
    expect_contains "$out" "nothing changed" "and says nothing changed"
    expect_contains "$("$MS_BIN" packages list | tr -d ' \n')" '"users_with_service":150' "the earlier edit stays"
    ;;

  sandbox_chat)
    # A person talks to a bot in the terminal; this script plays the bot over the Bot API.
    start_serve s1
    sbx="http://127.0.0.1:$port/sandbox"
    token=$(curl -s -X POST "$sbx/api/bots" -d '{"username":"shop_bot","name":"Shop"}' | json_get token)
    [ -n "$token" ] || fail "no bot token from the sandbox"
    expect_contains "$(curl -s "$sbx/bot$token/getMe")" '"username":"shop_bot"' "getMe through the sandbox"
    mkfifo "$work/chat.in"
    "$MS_BIN" sandbox chat --url "$sbx" --bot shop_bot --name Sara <"$work/chat.in" >"$work/chat.out" 2>&1 &
    chat_pid=$!
    pids+=("$chat_pid")
    exec 3>"$work/chat.in"
    echo "/start ref42" >&3
    updates=$(curl -s "$sbx/bot$token/getUpdates?timeout=10")
    expect_contains "$updates" '"text":"/start ref42"' "the bot receives the deep-link /start"
    chat_id=$(echo "$updates" | json_get result.0.message.chat.id)
    last=$(echo "$updates" | json_get result.0.update_id)
    sent=$(curl -s -X POST "$sbx/bot$token/sendMessage" -H 'Content-Type: application/json' -d \
      "{\"chat_id\":$chat_id,\"text\":\"سلام! Choose:\",\"reply_markup\":{\"inline_keyboard\":[[{\"text\":\"Buy\",\"callback_data\":\"buy:1\"},{\"text\":\"Wallet\",\"callback_data\":\"wallet\"}]]}}")
    message_id=$(echo "$sent" | json_get result.message_id)
    wait_for_file_text "$work/chat.out" "[2] Wallet"
    expect_contains "$(cat "$work/chat.out")" "[bot] سلام! Choose:" "the person sees the bot's message"
    echo "2" >&3
    updates=$(curl -s "$sbx/bot$token/getUpdates?offset=$((last + 1))&timeout=10")
    expect_contains "$updates" '"data":"wallet"' "pressing button 2 sends its callback data"
    query=$(echo "$updates" | json_get result.0.callback_query.id)
    curl -s -X POST "$sbx/bot$token/answerCallbackQuery" -d "callback_query_id=$query" >/dev/null
    curl -s -X POST "$sbx/bot$token/editMessageText" -d "chat_id=$chat_id&message_id=$message_id&text=Wallet: 0 Toman" >/dev/null
    wait_for_file_text "$work/chat.out" "~ [bot] Wallet: 0 Toman"
    exec 3>&-
    wait "$chat_pid" || fail "sandbox chat did not exit cleanly at end of input"
    stop_serve
    ;;

  deploy)
    # `shop create` queues a deployment; the running serve deploys it (getMe, tenant,
    # profile, start, health) and the shop answers; a template roll restarts it healthy.
    start_serve s1
    wait_ready
    sbx="http://127.0.0.1:$port/sandbox"
    token=$(curl -s -X POST "$sbx/api/bots" -d '{"username":"deploy_shop_bot","name":"Shop"}' | json_get token)
    [ -n "$token" ] || fail "no bot token from the sandbox"
    owner=$(curl -s -X POST "$sbx/api/users" -d '{"first_name":"Owner","language_code":"en"}' | json_get id)
    out=$("$MS_BIN" shop create --token "$token" --owner "$owner" --name "My VPN shop")
    expect_contains "$out" "deployment is queued" "shop create queues the deployment"
    code=0; "$MS_BIN" shop create --token "$token" --owner "$owner" >/dev/null 2>&1 || code=$?
    expect_eq "$code" 2 "the same token twice"
    curl -s -X POST "$sbx/api/users/$owner/chats/deploy_shop_bot/command" -d '{"command":"start"}' >/dev/null
    chat=""
    for _ in $(seq 1 300); do
      chat=$(curl -s "$sbx/api/users/$owner/chats/deploy_shop_bot")
      [[ "$chat" == *'"from_bot":true'* ]] && break
      sleep 0.1
    done
    expect_contains "$chat" '"from_bot":true' "the deployed shop answers /start"
    expect_contains "$(curl -s "$sbx/bot$token/getMyName")" '"name":"My VPN shop"' "the configured step set the bot's name"
    expect_contains "$(curl -s "$sbx/bot$token/getMyDescription?language_code=en")" "A VPN service shop" \
      "the English description"
    expect_contains "$(http_body /metrics)" 'mothership_deploy_seconds_count{backend="inprocess"} 1' "deploy time exported"
    out=$("$MS_BIN" templates roll --version 2 --wait 60)
    expect_contains "$out" "restarted 1 bot(s) on version 2" "templates roll"
    stop_serve
    ;;

  sandbox_standalone)
    rm -f "$work/sbx.port"
    "$MS_BIN" sandbox --port-file "$work/sbx.port" >"$work/sbx.log" 2>&1 &
    serve_pid=$!
    pids+=("$serve_pid")
    for _ in $(seq 1 200); do [ -s "$work/sbx.port" ] && break; sleep 0.05; done
    port=$(cat "$work/sbx.port")
    token=$(curl -s -X POST "http://127.0.0.1:$port/sandbox/api/bots" -d '{"username":"probe_bot","name":"P"}' | json_get token)
    expect_contains "$(curl -s "http://127.0.0.1:$port/sandbox/bot$token/getMe")" '"is_bot":true' "getMe"
    expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/sandbox/bot123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/getMe")" 401 "an unknown token"
    expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/sandbox/bot1:bad/getMe")" 404 "a malformed token, as api.telegram.org answers"
    expect_eq "$(http_status /healthz)" 200 "/healthz"
    stop_serve
    ;;

  panel_probe)
    # `mothership panel probe` against the strict Marzban test panel (MS_MARZBAN_BIN).
    probe() { "$MS_BIN" panel probe --type marzban --username admin --timeout-ms 3000 "$@"; }
    start_marzban m1 --password 'S3cret pass'
    code=0; out=$(probe --url "http://127.0.0.1:$mport/dashboard/" --password 'S3cret pass') || code=$?
    expect_eq "$code" 0 "a healthy panel passes (report: $out)"
    for step in login system inbounds create get modify reset revoke delete; do
      expect_contains "$out" "\"step\": \"$step\"" "step $step reported"
    done
    expect_contains "$out" '"version": "0.7.0"' "version read from /api/system"
    expect_contains "$out" '"ms":' "each step is timed"
    expect_contains "$(curl -s "http://127.0.0.1:$mport/_test/state")" '"users":[]' "the probe account is gone"

    code=0; out=$(probe --url "http://127.0.0.1:$mport" --password wrong 2>&1) || code=$?
    expect_eq "$code" 1 "wrong password exit code"
    expect_contains "$out" '"kind": "unauthorized"' "wrong password is named"
    expect_not_contains "$out" "S3cret" "the password is never printed"

    # A panel failing mid-way: every modify answers 500; the probe still removes its account.
    curl -s -X POST "http://127.0.0.1:$mport/_test/faults" \
      -d '{"method":"PUT","path":"/api/user/*","kind":"status","status":500,"times":-1}' >/dev/null
    code=0; out=$(probe --url "http://127.0.0.1:$mport" --password 'S3cret pass') || code=$?
    expect_eq "$code" 1 "failing panel exit code"
    expect_contains "$out" '"kind": "server_error"' "the failing step says what failed"
    expect_contains "$out" '"step": "cleanup"' "a cleanup step ran"
    expect_contains "$(curl -s "http://127.0.0.1:$mport/_test/state")" '"users":[]' "no probe account left behind"
    curl -s -X DELETE "http://127.0.0.1:$mport/_test/faults" >/dev/null

    # HTTPS with a self-signed certificate and a secret path: verified fails, pinned passes.
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
      -keyout "$work/k.pem" -out "$work/c.pem" >/dev/null 2>&1
    fp=$(openssl x509 -in "$work/c.pem" -noout -fingerprint -sha256 | cut -d= -f2)
    start_marzban m2 --version 0.8.4 --prefix /s3cretpath --tls-cert "$work/c.pem" --tls-key "$work/k.pem"
    code=0; out=$(probe --url "https://127.0.0.1:$mport/s3cretpath" --password admin) || code=$?
    expect_eq "$code" 1 "an untrusted certificate fails"
    expect_contains "$out" '"kind": "tls"' "the certificate problem is named"
    code=0; out=$(probe --url "https://127.0.0.1:$mport/s3cretpath" --password admin --pin "$fp") || code=$?
    expect_eq "$code" 0 "a pinned self-signed certificate passes (report: $out)"
    expect_contains "$out" '"version": "0.8.4"' "v0.8 read"
    expect_not_contains "$out" "s3cretpath" "the secret path is not printed"
    code=0; probe --url "https://127.0.0.1:$mport/s3cretpath" --password admin --pin nothex >/dev/null 2>&1 || code=$?
    expect_eq "$code" 2 "a malformed pin is a usage error"

    # Nobody listening.
    kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
    code=0; out=$(probe --url "https://127.0.0.1:$mport" --password admin --insecure) || code=$?
    expect_eq "$code" 1 "a dead panel exit code"
    expect_contains "$out" '"kind": "connection"' "a dead panel is named"
    ;;

  master_by_hand)
    # docs/master-bot.md "By hand in the sandbox", exactly as written there: serve in sandbox
    # mode, `mothership sandbox chat` as the customer in the master bot (buy Starter with
    # Telegram Stars, paid in the emulator; create a shop bot on a Marzban panel), then as the
    # owner in the new shop bot (a plan, card to card) and as an end user who buys the plan.
    start_marzban m1 --password admin
    start_serve s1
    wait_ready
    sbx="http://127.0.0.1:$port/sandbox"

    # The customer in the master bot.
    chat_start erin mothership_bot --name Erin --lang en
    erin=$(sed -n 's/^You are person \([0-9]*\) .*/\1/p' "$work/erin.out" | head -1)
    [ -n "$erin" ] || fail "sandbox chat did not say who the person is"
    chat_say erin /start "Choose your language"
    chat_press erin English "Mothership builds"
    chat_press erin Packages "Professional"
    chat_press erin Starter "Buy monthly"
    chat_press erin "Buy monthly" "Order #"
    chat_press erin "Telegram Stars" "[invoice"
    invoice=$(curl -s "$sbx/api/users/$erin/chats/mothership_bot" | python3 -c 'import json, sys
ms = [m["message"] for m in json.load(sys.stdin)["messages"] if "invoice" in m["message"]]
print(ms[-1]["message_id"] if ms else "")')
    [ -n "$invoice" ] || fail "no invoice in the chat"
    paid=$(curl -s -X POST "$sbx/api/users/$erin/chats/mothership_bot/pay" -d "{\"message_id\":$invoice}")
    expect_contains "$paid" '"status":"paid"' "the Stars invoice is paid in the sandbox"
    chat_wait erin "package is active until"

    # The shop bot: a new bot in the sandbox, its token, only me, no channel, the panel.
    token=$(curl -s -X POST "$sbx/api/bots" -d '{"username":"hand_shop_bot","name":"Hand Shop"}' | json_get token)
    [ -n "$token" ] || fail "no bot token from the sandbox"
    chat_press erin "Create a bot" "Send your bot's token"
    chat_say erin "$token" "Found your bot @hand_shop_bot"
    chat_press erin "Only me" "Send the channel"
    chat_press erin "No channel" "Marzban panel's address"
    chat_say erin "http://127.0.0.1:$mport" "admin username"
    chat_say erin admin "admin password"
    chat_say erin admin "The panel works"
    chat_wait erin "@hand_shop_bot is live" 60
    expect_contains "$(cat "$work/erin.out")" "https://t.me/hand_shop_bot" "the live message has the link"
    expect_contains "$(cat "$work/erin.out")" "~ [bot] " "the progress message was edited in place"
    expect_contains "$(curl -s "$sbx/api/users/$erin/chats/mothership_bot")" "Deploying @hand_shop_bot" \
      "the steps were shown before it went live"

    # The owner in the shop bot: a plan on the panel the wizard added, card to card.
    chat_start owner hand_shop_bot --user "$erin"
    chat_say owner /start "Welcome to the shop"
    chat_say owner /admin "Shop admin"
    chat_press owner "Plans and servers" "Marzban"
    chat_press owner "Marzban" "Version:"
    chat_press owner "Add a plan" "Send the plan's name"
    chat_say owner "Monthly 30GB" "length in days"
    chat_say owner '\30' "Traffic in GB"
    chat_say owner '\30' "price in Toman"
    chat_say owner "90,000" "short description"
    chat_say owner "-" "What is this plan?"
    chat_press owner "Service" 'Plan "Monthly 30GB" added'
    chat_say owner /admin "Shop admin"
    chat_press owner "Payment methods" "Card to card: off"
    chat_press owner "Card number" "16-digit card number"
    chat_say owner "6037 9911 2222 3333" "holder's name"
    chat_say owner "Erin Doe" "Card to card is on"

    # An end user buys the plan; the receipt photo goes in through the person API.
    chat_start dan hand_shop_bot --name Dan --lang en
    dan=$(sed -n 's/^You are person \([0-9]*\) .*/\1/p' "$work/dan.out" | head -1)
    chat_say dan /start "Welcome to the shop"
    chat_press dan "Buy" "Marzban"
    chat_press dan "Marzban" "Monthly 30GB"
    chat_press dan "Monthly 30GB" "Your order"
    chat_press dan "Card to card" "6037991122223333"
    png=$(python3 -c 'import base64, struct, zlib
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
raw = b"".join(b"\x00" + b"\xff\x00\x00" * 8 for _ in range(8))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
print(base64.b64encode(png).decode())')
    sent=$(curl -s -X POST "$sbx/api/users/$dan/chats/hand_shop_bot/photo" -d "{\"photo_base64\":\"$png\",\"caption\":\"receipt\"}")
    expect_contains "$sent" '"photo"' "the receipt photo is sent"
    chat_wait dan "Your receipt was received"
    chat_press owner "Approve" ""
    chat_wait dan "is ready"
    chat_wait dan "[photo]"
    state=$(curl -s "http://127.0.0.1:$mport/_test/state")
    expect_eq "$(echo "$state" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["users"]))')" 1 \
      "one account on the panel"
    link=$(curl -s "$sbx/api/users/$dan/chats/hand_shop_bot" | python3 -c 'import json, sys, re
t = " ".join(m["message"].get("text", "") for m in json.load(sys.stdin)["messages"])
m = re.search(r"http://127\.0\.0\.1:[0-9]+/sub/[^ \n]+", t)
print(m.group(0) if m else "")')
    [ -n "$link" ] || fail "the end user got no subscription link"
    chat_stop erin; chat_stop owner; chat_stop dan
    stop_serve
    ;;

  *) fail "unknown scenario $scenario" ;;
esac
echo "PASS: $scenario ${2:-sqlite}"
