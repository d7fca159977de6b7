#!/usr/bin/env bash
# The switch from the FastAPI template's backend to Gatehouse, forward, back and forward
# again, on one PostgreSQL database (issue 12; docs/from-the-template.md runs these steps).
#
#   scripts/template-takeover-drill.sh
#
# Builds a template-shaped database in a fresh PostgreSQL database on 127.0.0.1:5432 (the
# template's schema at its Alembic head fe56fa70289e, CONTRACT.md §8.1, and rows written as
# the template writes them: pwdlib argon2 and older passlib bcrypt hashes, no Gatehouse
# column), then:
#   1. forward: `gatehouse migrate up`, `gatehouse serve`; every template user logs in; a
#      Gatehouse signup, item and password change;
#   2. back: Gatehouse stops; the template (its data access and its pwdlib verification,
#      played here by psql and Python's pwdlib, the library the template uses) logs every
#      user in, signs one up, changes an address and a password, deletes an item;
#   3. forward again: `gatehouse migrate up` (nothing pending), `gatehouse serve`; every
#      account logs in with its current password, the changed address works, the session the
#      template's password change ended is refused, every row is there.
# Prints one line per check and exits non-zero when any fails. Drops its database at the end.
# Needs: cargo, psql, curl, python3 (pwdlib comes from PyPI into a temporary venv).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/gatehouse-target}"
work="$(mktemp -d)"
database="gatehouse_drill_$$"
server_pid=""
failures=0

psql_admin() { psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -qAtX "$@"; }
sql() { psql_admin -d "$database" -c "$1"; }

cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  psql_admin -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n=== %s ===\n' "$*"; }
check() { # check "what" command...
  local what="$1"; shift
  if "$@" >/dev/null 2>&1; then echo "ok    $what"; else echo "FAIL  $what"; failures=$((failures + 1)); fi
}

step "tools"
cargo build -q -p gatehouse
gatehouse="$CARGO_TARGET_DIR/debug/gatehouse"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q 'pwdlib[argon2,bcrypt]==0.2.*'
# The template's password handling (backend/app/core/security.py): argon2 first, bcrypt read.
template_py() { "$work/venv/bin/python" - "$@"; }
hash_with() { # hash_with argon2|bcrypt PASSWORD
  template_py "$1" "$2" <<'PY'
import sys
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.bcrypt import BcryptHasher
hasher = {"argon2": Argon2Hasher(), "bcrypt": BcryptHasher()}[sys.argv[1]]
print(PasswordHash((hasher,)).hash(sys.argv[2]))
PY
}
# The template's login: the row whose email equals the name exactly, then pwdlib's verify.
template_login() { # template_login EMAIL PASSWORD
  local stored
  stored="$(sql "SELECT hashed_password FROM \"user\" WHERE email = '$1' AND is_active")"
  [ -n "$stored" ] || return 1
  template_py "$2" "$stored" <<'PY'
import sys
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.bcrypt import BcryptHasher
ok, _ = PasswordHash((Argon2Hasher(), BcryptHasher())).verify_and_update(sys.argv[1], sys.argv[2])
sys.exit(0 if ok else 1)
PY
}
template_signup() { # template_signup EMAIL PASSWORD
  sql "INSERT INTO \"user\" (email, is_active, is_superuser, full_name, hashed_password, id, created_at)
       VALUES ('$1', true, false, NULL, '$(hash_with argon2 "$2")', gen_random_uuid(), now())"
}

step "a template-shaped database ($database)"
psql_admin -c "CREATE DATABASE $database"
sql 'CREATE EXTENSION IF NOT EXISTS "uuid-ossp"'
sql 'CREATE TABLE "user" (email varchar(255) NOT NULL, is_active boolean NOT NULL,
       is_superuser boolean NOT NULL, full_name varchar(255), hashed_password varchar NOT NULL,
       id uuid NOT NULL, created_at timestamptz, CONSTRAINT user_pkey PRIMARY KEY (id))'
sql 'CREATE UNIQUE INDEX ix_user_email ON "user" (email)'
sql 'CREATE TABLE item (description varchar(255), title varchar(255) NOT NULL, id uuid NOT NULL,
       owner_id uuid NOT NULL, created_at timestamptz, CONSTRAINT item_pkey PRIMARY KEY (id),
       CONSTRAINT item_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES "user" (id) ON DELETE CASCADE)'
sql 'CREATE TABLE alembic_version (version_num varchar(32) NOT NULL,
       CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))'
sql "INSERT INTO alembic_version VALUES ('fe56fa70289e')"
sql "INSERT INTO \"user\" VALUES ('admin@example.com', true, true, NULL,
       '$(hash_with argon2 'admin password 1')', gen_random_uuid(), now())"
sql "INSERT INTO \"user\" VALUES ('Alice@Example.com', true, false, 'Alice',
       '$(hash_with argon2 'alice password 1')', gen_random_uuid(), now())"
# passlib's bcrypt, from template releases up to 0.9, with no creation time (CONTRACT.md §8.3).
sql "INSERT INTO \"user\" VALUES ('bob@example.com', true, false, NULL,
       '$(hash_with bcrypt 'bob password 1')', gen_random_uuid(), NULL)"
sql "INSERT INTO item SELECT 'kept', 'Alice''s notebook', gen_random_uuid(), id, now()
       FROM \"user\" WHERE email = 'Alice@Example.com'"
sql "INSERT INTO item SELECT NULL, 'Bob''s list', gen_random_uuid(), id, NULL
       FROM \"user\" WHERE email = 'bob@example.com'"
users_before="$(sql 'SELECT count(*) FROM "user"')"

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
export ENVIRONMENT=production HOST=127.0.0.1 PORT="$port" LOG_FORMAT=json
export SECRET_KEY="drill-$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
export DATABASE_URL="postgresql://postgres@127.0.0.1:5432/$database"
export FIRST_SUPERUSER=admin@example.com FIRST_SUPERUSER_PASSWORD='admin password 1'
export FRONTEND_HOST=https://dashboard.example.com

serve() {
  "$gatehouse" serve >>"$work/gatehouse.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    curl -fs "$base/health/ready" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "gatehouse did not become ready:" >&2; tail -n 20 "$work/gatehouse.log" >&2; return 1
}
stop() { kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""; }
login() { # login EMAIL PASSWORD -> prints the token response
  curl -fs "$base/api/v1/login/access-token" --data-urlencode "username=$1" --data-urlencode "password=$2"
}
field() { python3 -c "import json, sys; print(json.load(sys.stdin)['$1'])"; }
bearer_get() { curl -fs -H "Authorization: Bearer $1" "$base$2"; }

step "1. forward: gatehouse migrate up, gatehouse serve"
"$gatehouse" migrate up
check "the template's rows are taken over as the baseline" test "$(sql 'SELECT count(*) FROM "user"')" = "$users_before"
serve
check "admin logs in (pwdlib argon2)" login admin@example.com 'admin password 1'
check "alice logs in in another case (pwdlib argon2)" login alice@example.com 'alice password 1'
check "bob logs in (passlib bcrypt)" login bob@example.com 'bob password 1'
check "bob's bcrypt hash was replaced by argon2id" test "$(sql "SELECT left(hashed_password, 10) FROM \"user\" WHERE email = 'bob@example.com'")" = '$argon2id$'
curl -fs "$base/api/v1/users/signup" -H 'content-type: application/json' \
  -d '{"email": "gina@example.com", "password": "gina password 1"}' >/dev/null
check "gina signs up on Gatehouse" login gina@example.com 'gina password 1'
gina="$(login gina@example.com 'gina password 1' | field access_token)"
curl -fs "$base/api/v1/items/" -H "Authorization: Bearer $gina" -H 'content-type: application/json' \
  -d '{"title": "Gina'"'"'s plan"}' >/dev/null
check "gina's item is stored" test "$(sql "SELECT count(*) FROM item WHERE title = 'Gina''s plan'")" = 1
bob_session="$(login bob@example.com 'bob password 1' | field access_token)"
check "alice sees her template item" bearer_get "$(login alice@example.com 'alice password 1' | field access_token)" /api/v1/items/
stop

step "2. back: the template serves the same database"
check "admin logs in on the template" template_login admin@example.com 'admin password 1'
check "alice logs in on the template (stored spelling)" template_login Alice@Example.com 'alice password 1'
check "bob logs in on the template (Gatehouse's argon2id)" template_login bob@example.com 'bob password 1'
check "gina, created by Gatehouse, logs in on the template" template_login gina@example.com 'gina password 1'
template_signup hank@example.com 'hank password 1'
check "hank signs up on the template" template_login hank@example.com 'hank password 1'
check "the database refuses the template a case variant of gina" \
  bash -c "! psql -h 127.0.0.1 -U postgres -d $database -qAtX -c \"INSERT INTO \\\"user\\\" (email, is_active, is_superuser, hashed_password, id) VALUES ('GINA@example.com', true, false, 'x', gen_random_uuid())\""
sql "UPDATE \"user\" SET email = 'alice.smith@example.com' WHERE email = 'Alice@Example.com'"
sql "UPDATE \"user\" SET hashed_password = '$(hash_with argon2 'bob password 2')' WHERE email = 'bob@example.com'"
sql "DELETE FROM item WHERE title = 'Bob''s list'"
check "Gatehouse's tables are left as they were" test "$(sql "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'gatehouse_%'")" -ge 4

step "3. forward again"
"$gatehouse" migrate up
check "nothing is pending" test "$("$gatehouse" migrate status | grep -c '^pending')" = 0
serve
check "admin logs in" login admin@example.com 'admin password 1'
check "alice logs in under the address the template changed" login Alice.Smith@example.com 'alice password 1'
check "alice's old address is gone" bash -c "! curl -fs $base/api/v1/login/access-token -d username=alice@example.com -d 'password=alice password 1'"
check "bob logs in with the password the template set" login bob@example.com 'bob password 2'
check "bob's old password is refused" bash -c "! curl -fs $base/api/v1/login/access-token -d username=bob@example.com -d 'password=bob password 1'"
check "bob's session from before the template's change is over" bash -c "! curl -fs -H 'Authorization: Bearer $bob_session' $base/api/v1/users/me"
check "gina logs in" login gina@example.com 'gina password 1'
check "hank, created by the template, logs in (in another case)" login HANK@example.com 'hank password 1'
check "a case variant of hank cannot sign up on Gatehouse" bash -c "! curl -fs $base/api/v1/users/signup -H 'content-type: application/json' -d '{\"email\": \"Hank@Example.com\", \"password\": \"another one 1\"}'"
check "every account is there" test "$(sql 'SELECT count(*) FROM "user"')" = "$((users_before + 2))"
check "every item but the one the template deleted is there" test "$(sql 'SELECT count(*) FROM item')" = 2
check "alembic_version is untouched" test "$(sql 'SELECT version_num FROM alembic_version')" = fe56fa70289e
stop

echo
if [ "$failures" -gt 0 ]; then
  cp "$work/gatehouse.log" /tmp/template-takeover-drill.log
  echo "$failures check(s) failed; Gatehouse's log: /tmp/template-takeover-drill.log" >&2
  exit 1
fi
echo "drill passed"
