#!/usr/bin/env bash
# The session transcript of issue 5's closing note, against a real `gatehouse serve`:
# login → refresh → refresh → the first refresh token replayed after the grace window → 401,
# and the access token of that session now → 403 (SECURITY.md RT-03, RT-04, TOK-13).
# REFRESH_GRACE_SECONDS=1 keeps the wait short; the server is scripts/lib/transcript.sh's.
#
# Usage: scripts/session-transcript.sh   (PORT defaults to a free port; CARGO_TARGET_DIR honoured)
set -euo pipefail
source "$(dirname "$0")/lib/transcript.sh"

start_server REFRESH_GRACE_SECONDS=1
export SHOW_HEADERS="www-authenticate"

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
