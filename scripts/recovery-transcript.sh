#!/usr/bin/env bash
# The recovery transcript of issue 7's closing note, against a real `gatehouse serve` sending over
# real SMTP: request recovery → read the email from the SMTP sink → reset → log in with the new
# password → the old session's refresh token is rejected (CONTRACT.md routes 3 and 4, §4.3, §9f;
# SECURITY.md RT-13, RT-14, EN-03).
#
# The tests' SMTP sink (`smtp-sink`, a binary of gatehouse-tests) prints each message it receives
# as a JSON line; the server (scripts/lib/transcript.sh) sends to it with SMTP_TLS=false.
#
# Usage: scripts/recovery-transcript.sh   (PORT defaults to a free port; CARGO_TARGET_DIR honoured)
set -euo pipefail
source "$(dirname "$0")/lib/transcript.sh"

frontend="https://app.example.com"
start_sink
start_server FRONTEND_HOST="$frontend" \
    SMTP_HOST=127.0.0.1 SMTP_PORT="$smtp_port" SMTP_TLS=false SMTP_SSL=false \
    EMAILS_FROM_EMAIL=noreply@example.com EMAILS_FROM_NAME="Gatehouse"

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
