#!/usr/bin/env bash
# The session transcript of issue 5's closing note, against a real `gatehouse serve`:
# login → refresh → refresh → the first refresh token replayed after the grace window → 401,
# and the access token of that session now → 403 (SECURITY.md RT-03, RT-04, TOK-13).
#
# Starts a throwaway server (development, SQLite in a temporary directory, a random SECRET_KEY,
# REFRESH_GRACE_SECONDS=1 so the wait is short) on 127.0.0.1:$PORT, prints every exchange with
# tokens shortened, and removes everything on exit. Needs curl, jq and openssl.
#
# Usage: scripts/session-transcript.sh [path/to/gatehouse]
#        (default target/debug/gatehouse: `cargo build -p gatehouse` first; PORT defaults to 18080)
set -euo pipefail

bin=${1:-target/debug/gatehouse}
port=${PORT:-18080}
base="http://127.0.0.1:$port"
work=$(mktemp -d)
pid=

cleanup() {
    if [[ -n $pid ]]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

ENVIRONMENT=development \
    DATABASE_URL="sqlite://$work/gatehouse.db?mode=rwc" \
    SECRET_KEY="$(openssl rand -base64 32)" \
    REFRESH_GRACE_SECONDS=1 \
    HOST=127.0.0.1 PORT="$port" \
    "$bin" serve >"$work/server.log" 2>&1 &
pid=$!

# Ready within 10 s, or show why not.
for _ in $(seq 100); do
    curl -fs "$base/health/ready" >/dev/null && break
    sleep 0.1
done
if ! curl -fs "$base/health/ready" >/dev/null; then
    echo "gatehouse did not become ready:" >&2
    cat "$work/server.log" >&2
    exit 1
fi

# Tokens are long; the transcript shows their first and last 6 characters.
shorten='walk(if type == "string" and length > 40 then .[:6] + "…" + .[-6:] else . end)'

# call METHOD PATH [curl args…]: prints the request and the answer; the body lands in $work/body.
call() {
    local method=$1 path=$2
    shift 2
    echo "\$ $method $path"
    local status
    status=$(curl -s -o "$work/body" -D "$work/headers" -w '%{http_code}' -X "$method" "$base$path" "$@")
    echo "< $status $(grep -i '^www-authenticate:' "$work/headers" | tr -d '\r' || true)"
    echo "< $(jq -c "$shorten" "$work/body")"
    echo
}

field() { jq -r ".$1" "$work/body"; }

call POST /api/v1/users/signup -H 'content-type: application/json' \
    -d '{"email":"dave@example.com","password":"dave-password-1"}'

call POST /api/v1/login/access-token -d 'username=dave@example.com&password=dave-password-1'
first_refresh=$(field refresh_token)

call POST /api/v1/auth/refresh -H 'content-type: application/json' \
    -d "{\"refresh_token\":\"$first_refresh\"}"
second_refresh=$(field refresh_token)

call POST /api/v1/auth/refresh -H 'content-type: application/json' \
    -d "{\"refresh_token\":\"$second_refresh\"}"
access=$(field access_token)

echo "# waiting past the 1 s grace window"
sleep 2
echo

echo "# the first refresh token again: reuse, the whole session is revoked"
call POST /api/v1/auth/refresh -H 'content-type: application/json' \
    -d "{\"refresh_token\":\"$first_refresh\"}"

echo "# the newest access token of that session"
call GET /api/v1/users/me -H "authorization: Bearer $access"

echo "# the server's security event (no token in it)"
grep 'refresh_reuse_detected' "$work/server.log"
