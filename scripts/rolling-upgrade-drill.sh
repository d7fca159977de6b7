#!/usr/bin/env bash
# The rolling-upgrade drill of issue 16 (docs/upgrades.md): two replicas behind one address,
# upgraded one at a time through a migration and rolled back, under a mixed load that must
# see no failed request.
#
#   scripts/rolling-upgrade-drill.sh [OLD_REVISION]
#
# OLD_REVISION (a commit, branch or tag) defaults to the parent of the last commit that
# changed migration/, so the upgrade applies at least one migration. The drill:
#   1. builds `gatehouse` in release mode at OLD_REVISION (from a temporary `git worktree`,
#      removed afterwards; the binary is kept per commit in the old target directory) and
#      from this checkout (HEAD, plus uncommitted changes if any), each with its own
#      CARGO_TARGET_DIR (DRILL_OLD_TARGET, DRILL_NEW_TARGET);
#   2. creates a fresh PostgreSQL database on 127.0.0.1:5432 (PGUSER postgres, trust), migrates
#      it with the OLD binary, starts two OLD replicas on random ports behind a local HAProxy
#      (round robin, health checks on /health/ready, runtime API on a unix socket);
#   3. runs scripts/lib/rolling_load.py through HAProxy for the whole drill (signup, login,
#      refresh, logout, GET /users/me, item create/read/update/delete; each worker keeps one
#      session across every phase, so refresh tokens issued by one version are redeemed by
#      the other);
#   4. phases: steady-old; migrate (`gatehouse migrate up` with the NEW binary while the old
#      replicas serve); replace-s1 (HAProxy puts s1 in maintenance, its sessions drain to 0,
#      SIGTERM, the NEW binary starts on a fresh port, s1 is pointed at it and made ready);
#      mixed (one old and one new replica); replace-s2; steady-new; then the rollback the same
#      way (binaries only, the schema stays): rollback-s1, mixed-rollback, rollback-s2,
#      steady-rolled-back;
#   5. reports requests, failures (a connection error, any 5xx, any unexpected status) and
#      latency per phase, checks every acknowledged write (signups, items in their last
#      acknowledged state, deletions) in the database, and exits 1 on any failure.
#
# Not part of CI. Needs git, cargo, psql, curl, python3 and HAProxy (Debian's `haproxy`,
# installed with apt-get when missing). Tunables: STEADY_SECONDS (12), MIXED_SECONDS (10),
# WORKERS (6), DRILL_OLD_TARGET, DRILL_NEW_TARGET, KEEP_LOGS=1 (keep the work directory);
# DRILL_OLD_BIN / DRILL_NEW_BIN use a binary already built instead (to work on the drill).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

steady=${STEADY_SECONDS:-12}
mixed=${MIXED_SECONDS:-10}
workers=${WORKERS:-6}
old_target=${DRILL_OLD_TARGET:-$HOME/.cache/gatehouse-drill-old}
new_target=${DRILL_NEW_TARGET:-$HOME/.cache/gatehouse-drill-new}

if [[ $# -ge 1 ]]; then
    old_rev=$1
else
    old_rev="$(git log -1 --format=%H -- migration)^"
fi
old_commit=$(git rev-parse --verify --quiet "$old_rev^{commit}") ||
    { echo "no such revision: $old_rev" >&2; exit 2; }
new_commit=$(git rev-parse HEAD)

work=$(mktemp -d)
chmod 755 "$work"
database="gatehouse_rolling_drill_$$"
worktree=""
haproxy_pid=""
load_pid=""
declare -A replica_pid=() replica_port=()

psql_admin() { psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -qAtX "$@"; }

stop_pid() { # stop_pid PID: SIGTERM, then wait for it
    local pid=$1
    [[ -n $pid ]] || return 0
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local status=$?
    [[ -n $load_pid ]] && { touch "$work/state/stop"; wait "$load_pid" 2>/dev/null || true; }
    for slot in "${!replica_pid[@]}"; do stop_pid "${replica_pid[$slot]}"; done
    stop_pid "$haproxy_pid"
    if [[ -n $worktree ]]; then
        git -C "$repo" worktree remove --force "$worktree" 2>/dev/null || true
    fi
    psql_admin -d postgres -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
    if [[ ${KEEP_LOGS:-} == 1 || $status -ne 0 ]]; then
        echo "logs kept in $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

now() { date +%s.%N; }
say() { printf '%s  %s\n' "$(date -u +%H:%M:%S)" "$*"; }

# ------------------------------------------------------------------------------ tools
if ! command -v haproxy >/dev/null && [[ ! -x /usr/sbin/haproxy ]]; then
    say "installing HAProxy (Debian's haproxy)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq haproxy >/dev/null 2>&1 ||
        { apt-get update -qq && apt-get install -y -qq haproxy >/dev/null; }
fi
haproxy_bin=$(command -v haproxy || echo /usr/sbin/haproxy)
for tool in git cargo psql curl python3; do
    command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 2; }
done
pg_isready -h 127.0.0.1 -p 5432 -q || { echo "no PostgreSQL on 127.0.0.1:5432" >&2; exit 2; }

# ------------------------------------------------------------------------------ build
if [[ -n ${DRILL_OLD_BIN:-} ]]; then
    old_bin=$DRILL_OLD_BIN
    say "old: $DRILL_OLD_BIN (DRILL_OLD_BIN, standing for $(git log -1 --format='%h' "$old_commit"))"
else
    old_bin="$old_target/gatehouse-$old_commit"
    if [[ -x $old_bin ]]; then
        say "old: $(git log -1 --format='%h %s' "$old_commit") (binary kept from an earlier run)"
    else
        say "old: $(git log -1 --format='%h %s' "$old_commit"): building in release mode"
        worktree="$work/old-src"
        git worktree add --detach --quiet "$worktree" "$old_commit"
        (cd "$worktree" && CARGO_TARGET_DIR="$old_target" cargo build --release --quiet -p gatehouse)
        cp "$old_target/release/gatehouse" "$old_bin"
        git worktree remove --force "$worktree"
        worktree=""
    fi
fi
if [[ -n ${DRILL_NEW_BIN:-} ]]; then
    new_bin=$DRILL_NEW_BIN
    say "new: $DRILL_NEW_BIN (DRILL_NEW_BIN)"
else
    dirty=""
    [[ -z $(git status --porcelain --untracked-files=no) ]] || dirty=" + uncommitted changes"
    say "new: $(git log -1 --format='%h %s' HEAD)$dirty: building in release mode"
    CARGO_TARGET_DIR="$new_target" cargo build --release --quiet -p gatehouse
    new_bin="$work/gatehouse-new"
    cp "$new_target/release/gatehouse" "$new_bin"
fi
old_label="old ${old_commit:0:7}"
new_label="new ${new_commit:0:7}"

# --------------------------------------------------------------------------- database
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
psql_admin -d postgres -c "CREATE DATABASE $database"
export ENVIRONMENT=production HOST=127.0.0.1 LOG_FORMAT=json RUST_LOG=info
export DATABASE_URL="postgresql://postgres@127.0.0.1:5432/$database"
SECRET_KEY="drill-$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
export SECRET_KEY
export FIRST_SUPERUSER=admin@example.com FIRST_SUPERUSER_PASSWORD="drill-admin-$$-password"
# One client address (HAProxy) for the whole load: the per-IP limits are lifted.
export SIGNUP_MAX_PER_IP=100000 LOGIN_MAX_ATTEMPTS_PER_IP=100000
say "database $database: gatehouse migrate up with the OLD binary"
"$old_bin" migrate up >"$work/migrate-old.log" 2>&1
pending_for_new=$("$new_bin" migrate status 2>/dev/null | grep -ci pending || true)
say "migrations the new binary will apply: $pending_for_new"

# --------------------------------------------------------------------------- replicas
start_replica() { # start_replica SLOT BINARY LABEL
    local slot=$1 bin=$2 label=$3 port
    port=$(free_port)
    PORT="$port" "$bin" serve >>"$work/replica-$slot-$port.log" 2>&1 &
    replica_pid[$slot]=$!
    replica_port[$slot]=$port
    for _ in $(seq 150); do
        curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && break
        sleep 0.1
    done
    if ! curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1; then
        echo "replica $slot ($label) did not become ready:" >&2
        tail -n 20 "$work/replica-$slot-$port.log" >&2
        exit 1
    fi
}

# HAProxy's runtime API, over its unix socket.
hapx() {
    python3 - "$work/haproxy.sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
out = b""
while chunk := s.recv(65536):
    out += chunk
sys.stdout.write(out.decode())
PY
}
# hastat SERVER FIELD: one field of `show stat` for a server of the backend.
hastat() {
    hapx "show stat" | python3 -c '
import csv, sys
rows = list(csv.reader(l.lstrip("# ") for l in sys.stdin if l.strip()))
head = rows[0]
for r in rows[1:]:
    if r[0] == "gatehouse" and r[1] == sys.argv[1]:
        print(r[head.index(sys.argv[2])])' "$1" "$2"
}
wait_for() { # wait_for SECONDS WHAT COMMAND...: until COMMAND succeeds
    local limit=$1 what=$2
    shift 2
    local start
    start=$(now)
    until "$@"; do
        if awk -v a="$start" -v b="$(now)" -v l="$limit" 'BEGIN { exit !(b - a > l) }'; then
            echo "timed out after ${limit}s waiting for: $what" >&2
            exit 1
        fi
        sleep 0.1
    done
}
write_slots() {
    printf '{"s1": "%s", "s2": "%s"}' "${slot_label[s1]}" "${slot_label[s2]}" >"$work/state/slots.tmp"
    mv "$work/state/slots.tmp" "$work/state/slots.json"
}
set_phase() {
    echo "$1" >"$work/state/phase.tmp"
    mv "$work/state/phase.tmp" "$work/state/phase"
    say "phase $1"
}

mkdir "$work/state" "$work/load"
declare -A slot_label=()
start_replica s1 "$old_bin" "$old_label"
slot_label[s1]=$old_label
start_replica s2 "$old_bin" "$old_label"
slot_label[s2]=$old_label
write_slots
set_phase steady-old

lb_port=$(free_port)
cat >"$work/haproxy.cfg" <<CFG
global
    stats socket $work/haproxy.sock mode 600 level admin
    maxconn 1000
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 30s
    timeout http-keep-alive 60s
    # No retry and no redispatch: a request sent to a replica that is going away fails
    # visibly instead of being replayed elsewhere.
    retries 0
    # Keep-alive towards the clients; a new connection to a replica for each request, so no
    # idle pooled connection to a stopping replica can be picked.
    option http-server-close
frontend api
    bind 127.0.0.1:$lb_port
    default_backend gatehouse
backend gatehouse
    balance roundrobin
    option httpchk GET /health/ready
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2
    http-response set-header X-Served-By %s
    server s1 127.0.0.1:${replica_port[s1]} check
    server s2 127.0.0.1:${replica_port[s2]} check
CFG
"$haproxy_bin" -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
haproxy_pid=$!
server_up() { [[ $(hastat "$1" status 2>/dev/null) == UP ]]; }
wait_for 10 "HAProxy sees s1 up" server_up s1
wait_for 10 "HAProxy sees s2 up" server_up s2
say "HAProxy on 127.0.0.1:$lb_port: s1 :${replica_port[s1]} and s2 :${replica_port[s2]} ($old_label)"

# ------------------------------------------------------------------------------- load
python3 scripts/lib/rolling_load.py run --base "http://127.0.0.1:$lb_port" \
    --state "$work/state" --out "$work/load" --workers "$workers" >"$work/load.log" 2>&1 &
load_pid=$!
sleep "$steady"

# replace SLOT BINARY LABEL: take SLOT out of HAProxy, drain, stop it, start BINARY in its
# place, put it back.
replace() {
    local slot=$1 bin=$2 label=$3
    hapx "set server gatehouse/$slot state maint" >/dev/null
    zero_sessions() { [[ $(hastat "$slot" scur) == 0 ]]; }
    wait_for 30 "$slot's sessions to drain" zero_sessions
    local pid=${replica_pid[$slot]} code=0
    kill -TERM "$pid"
    wait "$pid" || code=$?
    [[ $code == 0 ]] || { echo "replica $slot exited $code after SIGTERM" >&2; exit 1; }
    start_replica "$slot" "$bin" "$label"
    slot_label[$slot]=$label
    write_slots
    hapx "set server gatehouse/$slot addr 127.0.0.1 port ${replica_port[$slot]}" >/dev/null
    hapx "set server gatehouse/$slot state ready" >/dev/null
    wait_for 10 "HAProxy sees $slot up" server_up "$slot"
    say "$slot: $label on :${replica_port[$slot]}, back in HAProxy"
}

set_phase migrate
t0=$(now)
"$new_bin" migrate up >"$work/migrate-new.log" 2>&1
say "gatehouse migrate up (new binary) done in $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }') s; $("$new_bin" migrate status 2>/dev/null | grep -ci pending || true) pending"
sleep 3

set_phase replace-s1
replace s1 "$new_bin" "$new_label"
set_phase mixed
sleep "$mixed"
set_phase replace-s2
replace s2 "$new_bin" "$new_label"
set_phase steady-new
sleep "$steady"

set_phase rollback-s1
replace s1 "$old_bin" "$old_label"
set_phase mixed-rollback
sleep "$mixed"
set_phase rollback-s2
replace s2 "$old_bin" "$old_label"
set_phase steady-rolled-back
sleep "$steady"

touch "$work/state/stop"
wait "$load_pid" || { echo "the load generator failed:" >&2; cat "$work/load.log" >&2; exit 1; }
load_pid=""

# ----------------------------------------------------------------------------- report
echo
echo "== rolling upgrade $old_label -> $new_label -> rollback, $workers workers through HAProxy =="
verdict=0
python3 scripts/lib/rolling_load.py report --out "$work/load" \
    --psql "psql -h 127.0.0.1 -U postgres -d $database -qAtX" || verdict=1
errors=0
for log in "$work"/replica-*.log; do
    n=$(grep -c '"level":"ERROR"' "$log" || true)
    errors=$((errors + n))
done
echo "ERROR lines in the replicas' logs: $errors"
((errors == 0)) || verdict=1
echo "HAProxy, per server: $(for s in s1 s2; do printf '%s connection errors %s, response errors %s, 5xx %s; ' \
    "$s" "$(hastat $s econ)" "$(hastat $s eresp)" "$(hastat $s hrsp_5xx)"; done)"
echo
if ((verdict == 0)); then
    echo "DRILL PASSED"
else
    echo "DRILL FAILED"
    exit 1
fi
