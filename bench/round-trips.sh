#!/usr/bin/env bash
# Round trips to PostgreSQL per request (issue 14): bench/round-trips.sh [requests per operation]
#
# Builds the `gatehouse` binary (debug: the count does not depend on the profile; set
# ROUND_TRIPS_PROFILE=release for the release build), creates a fresh database on the local
# PostgreSQL (dropped at exit) and runs bench/round_trips.py, which puts a counting proxy
# between the server and PostgreSQL and prints, for GET /users/me, a login (OAuth2 form) and a
# refresh, the round trips (ReadyForQuery messages, pings included) and the statements
# (BEGIN, COMMIT and set_config included) per request, then each statement's text.
# Environment: CARGO_TARGET_DIR (cargo's default if unset), ROUND_TRIPS_BINARY (skip the build
# and count this binary instead).
set -euo pipefail
cd "$(dirname "$0")/.."

requests="${1:-20}"
profile="${ROUND_TRIPS_PROFILE:-debug}"
binary="${ROUND_TRIPS_BINARY:-}"
if [[ -z "$binary" ]]; then
  if [[ "$profile" == release ]]; then cargo build --release --quiet -p gatehouse; else cargo build --quiet -p gatehouse; fi
  # Absolute: the harness starts the server from another directory.
  binary="$(realpath "${CARGO_TARGET_DIR:-target}/$profile/gatehouse")"
fi

pg_isready -h 127.0.0.1 -p 5432 -q || { echo "PostgreSQL is not up on 127.0.0.1:5432" >&2; exit 1; }
database="gatehouse_round_trips_$$"
source bench/lib.sh
scratch_database "$database"

python3 bench/round_trips.py --binary "$binary" --database "$database" --requests "$requests"
