#!/usr/bin/env bash
# The recovery transcript of issue 7's closing note, against a real `gatehouse serve` sending over
# real SMTP: request recovery → read the email from the SMTP sink → reset → log in with the new
# password → the old session's refresh token is rejected (CONTRACT.md routes 3 and 4, §4.3, §9f;
# SECURITY.md RT-13, RT-14, EN-03).
#
# Builds and starts the tests' SMTP sink (`smtp-sink`, a binary of gatehouse-tests, which prints
# each message it receives as a JSON line) and a throwaway server (development, SQLite in a
# temporary directory, a random SECRET_KEY, SMTP_HOST/SMTP_PORT at the sink with SMTP_TLS=false),
# prints every exchange with tokens shortened, and removes everything on exit. Needs cargo, curl,
# jq, openssl and python3 (to pick free ports).
#
# Usage: scripts/recovery-transcript.sh
#        (PORT and SMTP_PORT default to free ports; CARGO_TARGET_DIR is honoured)
set -euo pipefail

cd "$(dirname "$0")/.."
cargo build --quiet -p gatehouse --bin gatehouse -p gatehouse-tests --bin smtp-sink
bin=${CARGO_TARGET_DIR:-target}/debug
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=${PORT:-$(free_port)}
smtp_port=${SMTP_PORT:-$(free_port)}
base="http://127.0.0.1:$port"
frontend="https://app.example.com"
work=$(mktemp -d)
pids=()

cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

"$bin/smtp-sink" "127.0.0.1:$smtp_port" >"$work/mail.jsonl" 2>"$work/sink.log" &
pids+=($!)

ENVIRONMENT=development \
    DATABASE_URL="sqlite://$work/gatehouse.db?mode=rwc" \
    SECRET_KEY="$(openssl rand -base64 32)" \
    HOST=127.0.0.1 PORT="$port" LOG_FORMAT=json \
    FRONTEND_HOST="$frontend" \
    SMTP_HOST=127.0.0.1 SMTP_PORT="$smtp_port" SMTP_TLS=false SMTP_SSL=false \
    EMAILS_FROM_EMAIL=noreply@example.com EMAILS_FROM_NAME="Gatehouse" \
    "$bin/gatehouse" serve >"$work/server.log" 2>&1 &
pids+=($!)

# Ready within 10 s, or show why not.
for _ in $(seq 100); do
    curl -fs "$base/health/ready" >/dev/null && break
    sleep 0.1
done
# Ready, and ours: a server that could not bind has exited while another may answer there.
if ! kill -0 "${pids[1]}" 2>/dev/null || ! curl -fs "$base/health/ready" >/dev/null; then
    echo "gatehouse did not become ready:" >&2
    cat "$work/server.log" >&2
    exit 1
fi

# Tokens are long; the transcript shows their first and last 6 characters.
shorten='walk(if type == "string" and length > 40 and test("^[A-Za-z0-9._~-]+$") then .[:6] + "…" + .[-6:] else . end)'
short() { echo "${1:0:6}…${1: -6}"; }

# call METHOD PATH [curl args…]: prints the request and the answer; the body lands in $work/body.
call() {
    local method=$1 path=$2
    shift 2
    echo "\$ $method $path"
    local status
    status=$(curl -s -o "$work/body" -D "$work/headers" -w '%{http_code}' -X "$method" "$base$path" "$@")
    echo "< $status"
    echo "< $(jq -c "$shorten" "$work/body")"
    echo
}

field() { jq -r ".$1" "$work/body"; }

call POST /api/v1/users/signup -H 'content-type: application/json' \
    -d '{"email":"dave@example.com","password":"dave-password-1"}'

echo "# dave's session before the reset"
call POST /api/v1/login/access-token -d 'username=dave@example.com&password=dave-password-1'
old_access=$(field access_token)
old_refresh=$(field refresh_token)

echo "# a forged X-Forwarded-Host must not reach the link (RT-14)"
call POST /api/v1/password-recovery/dave@example.com -H 'X-Forwarded-Host: evil.example'

# The mail leaves off the request path; wait up to 10 s for the sink to print it.
for _ in $(seq 100); do
    [[ -s $work/mail.jsonl ]] && break
    sleep 0.1
done
if [[ ! -s $work/mail.jsonl ]]; then
    echo "no mail reached the sink; server log:" >&2
    cat "$work/server.log" >&2
    exit 1
fi
mail=$(head -n 1 "$work/mail.jsonl")
token=$(jq -r '.html' <<<"$mail" | grep -o "href=\"$frontend/reset-password?token=[^\"]*\"" |
    sed -e 's/.*token=//' -e 's/"$//')
echo "# the SMTP sink received (token shortened):"
jq -r '"From: \(.from)\nTo: \(.recipients | join(", "))\nSubject: \(.subject)\n\n\(.text)"' <<<"$mail" |
    sed "s/$token/$(short "$token")/g" | sed 's/^/| /'
echo "| (HTML part: href=\"$frontend/reset-password?token=$(short "$token")\")"
echo

call POST /api/v1/reset-password/ -H 'content-type: application/json' \
    -d "{\"token\":\"$token\",\"new_password\":\"dave-password-2\"}"

echo "# the same token again"
call POST /api/v1/reset-password/ -H 'content-type: application/json' \
    -d "{\"token\":\"$token\",\"new_password\":\"dave-password-3\"}"

echo "# the old password, then the new one"
call POST /api/v1/login/access-token -d 'username=dave@example.com&password=dave-password-1'
call POST /api/v1/login/access-token -d 'username=dave@example.com&password=dave-password-2'

echo "# the old session's refresh token and access token"
call POST /api/v1/auth/refresh -H 'content-type: application/json' \
    -d "{\"refresh_token\":\"$old_refresh\"}"
call GET /api/v1/users/me -H "Authorization: Bearer $old_access"

echo "# the server's mail log lines (recipient and subject; the token appears $(grep -c -- "$token" "$work/server.log" || true) times in the log)"
grep -E '"event":"email_(sent|dropped|delivery_failed)"' "$work/server.log" |
    jq -c '{level, event, to, subject, attempt}'
