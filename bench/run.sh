#!/usr/bin/env bash
# Gatehouse's load benchmark (issue 8), one command: bench/run.sh [seconds per phase]
#
# Installs wrk if missing, builds the release binary and the argon2 criterion benchmark,
# starts the local PostgreSQL if it is down (never stops it), creates a fresh database, runs
# bench/harness.py against it, then drops the database. Figures go to bench/results.json,
# raw logs to bench/out/<UTC time>/. A benchmark never fails on a number: a non-zero exit
# means the harness could not run.
#
# Environment: BENCH_DURATION (seconds per phase, default 20), BENCH_TIMING_PAIRS (requests per
# class in the login and recovery timing comparisons, default 50), BENCH_SET (server settings
# to change for a comparison run, e.g. "DATABASE_MAX_CONNECTIONS=64 HASHING_CONCURRENCY=1"),
# BENCH_RESULTS (default bench/results.json), CARGO_TARGET_DIR (default
# ~/.cache/gatehouse-bench-target, apart from the debug builds of everyday work).
set -euo pipefail
cd "$(dirname "$0")/.."

duration="${1:-${BENCH_DURATION:-20}}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/gatehouse-bench-target}"
export CARGO_TERM_COLOR=never
out="bench/out/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"

step() { printf '\n=== %s ===\n' "$*"; }

step "tools"
# wrk (Debian's package): the HTTP load generator; its Lua hooks carry the bearer tokens and
# refresh chains (bench/gatehouse.lua). pgbench comes with PostgreSQL's client tools.
if ! command -v wrk >/dev/null; then
  apt-get install -y wrk >/dev/null || { apt-get update -qq && apt-get install -y wrk >/dev/null; }
fi
for tool in wrk pgbench psql python3; do command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }; done

step "release build ($CARGO_TARGET_DIR)"
cargo build --release --quiet -p gatehouse
# Compiled now so that the harness's in-run measurement of one verification does not wait for it.
cargo bench --quiet --no-run -p gatehouse-crypto --bench argon2

step "PostgreSQL"
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432
database="gatehouse_bench_$$"
source bench/lib.sh
scratch_database "$database"

settings=()
for setting in ${BENCH_SET:-}; do settings+=(--set "$setting"); done

step "benchmark: $duration s per phase, uptime: $(uptime)"
python3 bench/harness.py \
  --binary "$CARGO_TARGET_DIR/release/gatehouse" \
  --database "$database" \
  --duration "$duration" \
  --timing-pairs "${BENCH_TIMING_PAIRS:-50}" \
  --results "${BENCH_RESULTS:-bench/results.json}" \
  --out "$out" \
  "${settings[@]}"
