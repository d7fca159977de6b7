#!/usr/bin/env bash
# The golden sequence of CONTRACT.md §12, steps 1–15, with curl against a real `gatehouse serve`
# (development, SQLite, the development superuser admin@example.com / changethis, real SMTP to the
# tests' sink, REFRESH_GRACE_SECONDS=1 so step 9's wait is short). Prints every exchange with
# tokens shortened; the black-box suite asserts the same steps (tests/it/blackbox/golden.rs,
# sessions.rs, logout.rs, recovery.rs, throttling.rs).
#
# Usage: scripts/golden-transcript.sh   (PORT defaults to a free port; CARGO_TARGET_DIR honoured)
set -euo pipefail
source "$(dirname "$0")/lib/transcript.sh"

start_sink
start_server REFRESH_GRACE_SECONDS=1 FRONTEND_HOST=https://app.example.com \
    SMTP_HOST=127.0.0.1 SMTP_PORT="$smtp_port" SMTP_TLS=false SMTP_SSL=false \
    EMAILS_FROM_EMAIL=noreply@example.com

json=(-H 'content-type: application/json')
login() { call POST /api/v1/login/access-token -d "username=$1&password=$2"; }
step() { echo "## $*"; echo; }

step "1. Superuser form login"
login admin@example.com changethis
admin=$(field access_token)

step "2. Carol signs up"
call POST /api/v1/users/signup "${json[@]}" -d '{"email":"carol@example.com","password":"carol-password-1"}'
carol_id=$(field id)

step "3. Carol logs in; the user list is not hers; her items are empty"
login carol@example.com carol-password-1
carol=$(field access_token)
call GET /api/v1/users/ -H "authorization: Bearer $carol"
call GET /api/v1/items/ -H "authorization: Bearer $carol"

step "4. Carol creates an item; another user may not read it; a random id is not found"
call POST /api/v1/items/ "${json[@]}" -H "authorization: Bearer $carol" -d '{"title":"Carol'\''s item"}'
item=$(field id)
call POST /api/v1/users/signup "${json[@]}" -d '{"email":"erin@example.com","password":"erin-password-1"}'
login erin@example.com erin-password-1
erin=$(field access_token)
call GET "/api/v1/items/$item" -H "authorization: Bearer $erin"
call GET "/api/v1/items/$(python3 -c 'import uuid; print(uuid.uuid4())')" -H "authorization: Bearer $carol"

step "5. Carol changes her password: wrong current, same as current, valid; her token keeps working"
call PATCH /api/v1/users/me/password "${json[@]}" -H "authorization: Bearer $carol" \
    -d '{"current_password":"not-her-password","new_password":"carol-password-2"}'
call PATCH /api/v1/users/me/password "${json[@]}" -H "authorization: Bearer $carol" \
    -d '{"current_password":"carol-password-1","new_password":"carol-password-1"}'
call PATCH /api/v1/users/me/password "${json[@]}" -H "authorization: Bearer $carol" \
    -d '{"current_password":"carol-password-1","new_password":"carol-password-2"}'
call GET /api/v1/users/me -H "authorization: Bearer $carol"

step "6. The superuser deactivates Carol: her token and her login answer Inactive user"
call PATCH "/api/v1/users/$carol_id" "${json[@]}" -H "authorization: Bearer $admin" -d '{"is_active":false}'
call GET /api/v1/users/me -H "authorization: Bearer $carol"
login carol@example.com carol-password-2

step "7. No token, then a garbage token"
SHOW_HEADERS="www-authenticate" call GET /api/v1/users/me
SHOW_HEADERS="www-authenticate" call GET /api/v1/users/me -H "authorization: Bearer garbage"

step "8. The other trailing-slash form redirects"
SHOW_HEADERS="location" call GET /api/v1/users -H "authorization: Bearer $admin"

step "9. Dave: refresh, then the first refresh token again after the grace window"
call POST /api/v1/users/signup "${json[@]}" -d '{"email":"Dave@Example.com","password":"dave-password-1"}'
login dave@example.com dave-password-1
first_refresh=$(field refresh_token)
call POST /api/v1/auth/refresh "${json[@]}" -d "{\"refresh_token\":\"$first_refresh\"}"
new_access=$(field access_token)
echo "# waiting past the 1 s grace window"; sleep 2; echo
call POST /api/v1/auth/refresh "${json[@]}" -d "{\"refresh_token\":\"$first_refresh\"}"
SHOW_HEADERS="www-authenticate" call GET /api/v1/users/me -H "authorization: Bearer $new_access"

step "10. Dave logs in again and logs out; that access token is dead"
login dave@example.com dave-password-1
dave=$(field access_token)
call POST /api/v1/auth/logout -H "authorization: Bearer $dave"
SHOW_HEADERS="www-authenticate" call GET /api/v1/users/me -H "authorization: Bearer $dave"

step "11. Dave logs in (T) and recovers his password by email; the token works once"
login dave@example.com dave-password-1
token_t=$(field access_token)
call POST /api/v1/password-recovery/dave@example.com
for _ in $(seq 100); do [[ -s $work/mail.jsonl ]] && break; sleep 0.1; done
reset=$(jq -r 'select(.subject | test("Password recovery")) | .text' "$work/mail.jsonl" \
    | grep -o 'token=[A-Za-z0-9_-]*' | head -1 | cut -d= -f2)
echo "# the email's subject: $(jq -r .subject "$work/mail.jsonl" | head -1); its token: $(short "$reset")"
echo
call POST /api/v1/reset-password/ "${json[@]}" -d "{\"token\":\"$reset\",\"new_password\":\"dave-password-2\"}"
call POST /api/v1/reset-password/ "${json[@]}" -d "{\"token\":\"$reset\",\"new_password\":\"dave-password-3\"}"
call GET /api/v1/users/me -H "authorization: Bearer $token_t"
call GET /api/v1/users/me -H "authorization: Bearer $reset"

step "12. A case variant of Dave's address logs in; a signup with another variant is refused"
login DAVE@example.COM dave-password-2
call POST /api/v1/users/signup "${json[@]}" -d '{"email":"dAvE@EXAMPLE.com","password":"whatever-password"}'

step "13. Repeated wrong passwords for an unknown address end in 429"
for i in 1 2 3 4 5; do login nobody@example.com "wrong-password-$i" >/dev/null; done
echo "# five wrong passwords sent for nobody@example.com (400 each)"; echo
SHOW_HEADERS="retry-after" login nobody@example.com wrong-password-6

step "14. Paging bounds and an explicit null"
call GET "/api/v1/users/?skip=-1" -H "authorization: Bearer $admin"
call GET "/api/v1/users/?limit=1001" -H "authorization: Bearer $admin"
login dave@example.com dave-password-2
call PATCH /api/v1/users/me "${json[@]}" -H "authorization: Bearer $(field access_token)" -d '{"email":null}'

step "15. The headers of §9i, and the probes"
SHOW_HEADERS="x-content-type-options referrer-policy x-frame-options x-request-id cache-control" \
    call GET /api/v1/users/me -H "authorization: Bearer $admin"
call GET /health/live
call GET /health/ready
