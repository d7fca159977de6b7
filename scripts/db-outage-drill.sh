#!/usr/bin/env bash
# The database-outage drill of issue 4 (SECURITY.md DB-03 and §4.1) against a real
# `gatehouse serve --migrate` on a throw-away PostgreSQL cluster:
#
#   1. load: signups and reads (GET /users/me) from a few curl loops;
#   2. the cluster stops mid-load (`pg_ctl stop -m immediate`: no checkpoint, as in a crash);
#   3. probes show 503 {"detail":"Service Unavailable"} + Retry-After within the acquire
#      timeout for reads, login (right and wrong password), refresh and signup, readiness 503
#      and liveness 200;
#   4. the cluster starts again (crash recovery from its WAL); readiness comes back by itself
#      and the refresh token issued before the outage still works;
#   5. every answer the load got is checked: only 200 or that exact 503, none slower than the
#      acquire timeout + 1 s, and every signup answered 200 is in the database.
#
# Exits non-zero when a check fails. Needs PostgreSQL 15's server binaries (initdb, pg_ctl),
# psql, curl, jq and openssl; run as root the cluster runs as the `postgres` OS user. Leaves
# nothing behind: the cluster and the server are stopped and the temporary directory removed.
#
# Usage: scripts/db-outage-drill.sh [path/to/gatehouse]
#        (default target/debug/gatehouse: `cargo build -p gatehouse` first)
# Tunables: OUTAGE_SECONDS (8), DATABASE_ACQUIRE_TIMEOUT_SECONDS (3, the production default),
#           PORT (18081), PG_BIN (/usr/lib/postgresql/15/bin).
set -euo pipefail

bin=${1:-${CARGO_TARGET_DIR:-target}/debug/gatehouse}
pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
port=${PORT:-18081}
outage=${OUTAGE_SECONDS:-8}
acquire=${DATABASE_ACQUIRE_TIMEOUT_SECONDS:-3}
base="http://127.0.0.1:$port"
password=drill-password-1
signup_clients=2 # argon2 allows two hashes at once by default; more would queue on hashing
read_clients=2

[[ -x $bin ]] || { echo "no gatehouse binary at $bin: cargo build -p gatehouse" >&2; exit 2; }
[[ -x $pg_bin/initdb ]] || { echo "no PostgreSQL server binaries in $pg_bin (PG_BIN)" >&2; exit 2; }

work=$(mktemp -d)
chmod 755 "$work"
server_pid=
load_pids=()
failures=0

# Runs a PostgreSQL server binary as the cluster's owner.
as_owner() {
    if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cleanup() {
    stop_load
    if [[ -n $server_pid ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    as_owner "$pg_bin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

stop_load() {
    touch "$work/stop"
    if ((${#load_pids[@]} > 0)); then wait "${load_pids[@]}" 2>/dev/null || true; fi
    load_pids=()
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

free_port() {
    local candidate
    for candidate in $(seq 25432 25532); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
            echo "$candidate"
            return
        fi
    done
    echo "no free port in 25432-25532" >&2
    return 1
}

# ---------------------------------------------------------------- the throw-away cluster
pg_port=$(free_port)
mkdir "$work/run"
[[ $(id -u) == 0 ]] && chown postgres "$work" "$work/run"
as_owner "$pg_bin/initdb" -D "$work/pg" -U postgres -A trust --no-sync --no-instructions >/dev/null
pg_start() {
    as_owner "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/postgres.log" -w -s \
        -o "-c port=$pg_port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$work/run" start
}
pg_start
psql_drill() { psql -X -q -At -h 127.0.0.1 -p "$pg_port" -U postgres "$@"; }
psql_drill -d postgres -c "CREATE DATABASE gatehouse"
echo "PostgreSQL $(psql_drill -d gatehouse -c 'SHOW server_version') on 127.0.0.1:$pg_port"

# ------------------------------------------------------------------------- the server
ENVIRONMENT=production \
    SECRET_KEY="$(openssl rand -base64 32)" \
    DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/gatehouse" \
    DATABASE_ACQUIRE_TIMEOUT_SECONDS="$acquire" \
    SIGNUP_MAX_PER_IP=100000 LOGIN_MAX_ATTEMPTS_PER_IP=100000 \
    HOST=127.0.0.1 PORT="$port" \
    "$bin" serve --migrate >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
    curl -fs "$base/health/ready" >/dev/null && break
    sleep 0.1
done
curl -fs "$base/health/ready" >/dev/null || { echo "gatehouse did not become ready:" >&2; cat "$work/server.log" >&2; exit 1; }
echo "gatehouse serve --migrate on $base, acquire timeout ${acquire} s"

# call METHOD PATH [curl args…] → "<status> <seconds> <retry-after or -> <body>"
call() {
    local method=$1 path=$2 tag=${CALL_TAG:-probe}
    shift 2
    local out
    out=$(curl -s -X "$method" "$base$path" --max-time 60 -o "$work/$tag.body" -D "$work/$tag.head" \
        -w '%{http_code} %{time_total}' "$@")
    local retry
    retry=$(tr -d '\r' <"$work/$tag.head" | awk -F': *' 'tolower($1) == "retry-after" { print $2 }')
    echo "$out ${retry:--} $(tr -d '\n' <"$work/$tag.body")"
}
json=(-H 'content-type: application/json')
signup_body() { printf '{"email":"%s","password":"%s"}' "$1" "$password"; }

call POST /api/v1/users/signup "${json[@]}" -d "$(signup_body reader@example.com)" >/dev/null
tokens=$(curl -s "$base/api/v1/login/access-token" -d "username=reader@example.com&password=$password")
access=$(jq -r .access_token <<<"$tokens")
refresh=$(jq -r .refresh_token <<<"$tokens")

# --------------------------------------------------------------------------- the load
# Each line: <end time> <kind> <email or -> <status> <seconds> <retry-after> <body>
signup_client() {
    local n=0 line
    while [[ ! -e $work/stop ]]; do
        local email="drill-$1-$n@example.com"
        n=$((n + 1))
        line=$(CALL_TAG="s$1" call POST /api/v1/users/signup "${json[@]}" -d "$(signup_body "$email")")
        echo "$(now) signup $email $line"
    done >"$work/load-s$1.log"
}
read_client() {
    local line
    while [[ ! -e $work/stop ]]; do
        line=$(CALL_TAG="r$1" call GET /api/v1/users/me -H "authorization: Bearer $access")
        echo "$(now) read - $line"
    done >"$work/load-r$1.log"
}
for i in $(seq "$signup_clients"); do
    signup_client "$i" &
    load_pids+=($!)
done
for i in $(seq "$read_clients"); do
    read_client "$i" &
    load_pids+=($!)
done

load_lines() { cat "$work"/load-*.log 2>/dev/null | wc -l; }
until (($(load_lines) >= 20)); do sleep 0.2; done
echo "load: $signup_clients signup and $read_clients read clients running ($(load_lines) answers so far)"

# ------------------------------------------------------------------------- the outage
echo
t_cut=$(now)
as_owner "$pg_bin/pg_ctl" -D "$work/pg" -m immediate -s stop
echo "== PostgreSQL stopped (immediate) =="
probe() {
    local what=$1 want=$2
    shift 2
    local line status secs retry body
    line=$(call "$@")
    read -r status secs retry body <<<"$line"
    # Bodies with tokens are long; the transcript shows their start.
    printf '%-32s %s in %5.2f s, Retry-After %s, %s\n' "$what" "$status" "$secs" "$retry" \
        "$( ((${#body} > 72)) && echo "${body:0:72}…" || echo "$body")"
    if [[ $want == 503 ]]; then
        [[ $status == 503 && $body == '{"detail":"Service Unavailable"}' && $retry =~ ^[1-5]$ ]] ||
            fail "$what: expected the contract's 503"
        awk -v s="$secs" -v a="$acquire" 'BEGIN { exit !(s <= a + 1) }' ||
            fail "$what: $secs s is beyond the acquire timeout + 1 s"
    else
        [[ $status == "$want" ]] || fail "$what: expected $want"
    fi
}
probe "GET /users/me" 503 GET /api/v1/users/me -H "authorization: Bearer $access"
probe "login, right password" 503 POST /api/v1/login/access-token -d "username=reader@example.com&password=$password"
probe "login, wrong password" 503 POST /api/v1/login/access-token -d "username=reader@example.com&password=wrong-password"
probe "POST /auth/refresh" 503 POST /api/v1/auth/refresh "${json[@]}" -d "{\"refresh_token\":\"$refresh\"}"
probe "POST /users/signup" 503 POST /api/v1/users/signup "${json[@]}" -d "$(signup_body probe@example.com)"
probe "GET /health/ready" 503 GET /health/ready
probe "GET /health/live" 200 GET /health/live

while awk -v a="$t_cut" -v b="$(now)" -v o="$outage" 'BEGIN { exit !(b - a < o) }'; do sleep 0.2; done
pg_start
t_back=$(now)
echo "== PostgreSQL started again after $(elapsed "$t_cut" "$t_back") s down =="
until curl -fs "$base/health/ready" >/dev/null; do
    awk -v a="$t_back" -v b="$(now)" 'BEGIN { exit !(b - a < 15) }' || { fail "not ready 15 s after the restart"; break; }
    sleep 0.1
done
t_ready=$(now)
echo "readiness 200 again $(elapsed "$t_back" "$t_ready") s after the restart"
probe "POST /auth/refresh (old token)" 200 POST /api/v1/auth/refresh "${json[@]}" -d "{\"refresh_token\":\"$refresh\"}"
probe "GET /users/me" 200 GET /api/v1/users/me -H "authorization: Bearer $access"

t_more=$(now)
while awk -v a="$t_more" -v b="$(now)" 'BEGIN { exit !(b - a < 3) }'; do sleep 0.2; done
stop_load

# ------------------------------------------------------------------------- the verdict
echo
echo "== load: answers by phase (by when each request started; the outage starts as the stop is issued) =="
cat "$work"/load-*.log >"$work/load.log"
awk -v cut="$t_cut" -v back="$t_back" -v acquire="$acquire" '
    {
        start = $1 - $5
        phase = start < cut ? "1 before" : (start < back ? "2 outage" : "3 after")
        key = phase " " $2 " " $4
        n[key]++
        if ($5 > max[key]) max[key] = $5
    }
    END {
        printf "%-10s %-7s %-6s %6s %8s\n", "phase", "kind", "status", "count", "max s"
        for (k in n) { split(k, p, " "); printf "%-10s %-7s %-6s %6d %8.2f\n", p[1] " " p[2], p[3], p[4], n[k], max[k] | "sort" }
    }' "$work/load.log"
bad=$(awk -v acquire="$acquire" '
    { body = $7; for (i = 8; i <= NF; i++) body = body " " $i }
    $4 == 200 && $5 <= acquire + 1 { next }
    $4 == 503 && $6 ~ /^[1-5]$/ && body == "{\"detail\":\"Service Unavailable\"}" && $5 <= acquire + 1 { next }
    { print }' "$work/load.log")
if [[ -n $bad ]]; then
    fail "answers that were neither a prompt 200 nor the contract's prompt 503:"
    echo "$bad" | head -n 20
else
    echo "every answer was 200 or 503 {\"detail\":\"Service Unavailable\"} with Retry-After, none slower than ${acquire} s + 1 s"
fi

awk '$2 == "signup" && $4 == 200 { print $3 }' "$work/load.log" | sort >"$work/acknowledged"
psql_drill -d gatehouse -c 'SELECT email FROM "user"' | sort >"$work/stored"
lost=$(comm -23 "$work/acknowledged" "$work/stored" | wc -l)
echo "signups answered 200: $(wc -l <"$work/acknowledged"); of them missing from the database: $lost"
((lost == 0)) || fail "acknowledged signups lost: $(comm -23 "$work/acknowledged" "$work/stored" | head -n 5 | tr '\n' ' ')"
(($(awk '$4 == 503' "$work/load.log" | wc -l) > 0)) || fail "the load saw no 503 during the outage"

echo
if ((failures == 0)); then
    echo "DRILL PASSED"
else
    echo "DRILL FAILED: $failures check(s)"
    exit 1
fi
