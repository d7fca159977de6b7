#!/usr/bin/env bash
# Gatehouse's soak test (issue 14), outside CI: bench/soak.sh [seconds] [maximum requests/s]
#
# Builds the release binary (as bench/run.sh does), creates a fresh database on the local
# PostgreSQL (dropped at exit), measures the maximum of the mix briefly unless given, then
# runs bench/soak.py: the mix at SOAK_LOAD (0.7) of that maximum for the duration (default
# 600 s), with PostgreSQL RESTARTED ONCE in the middle (`pg_ctlcluster restart`, which
# interrupts every other client of the cluster for a moment). Report: bench/out/soak-<UTC
# time>/soak.json and stdout.
#
# Environment: SOAK_DURATION (seconds, default 600), SOAK_MAX_RPS (skip the measurement),
# SOAK_MEASURE (seconds of measurement, default 20), SOAK_LOAD (default 0.7), SOAK_BINARY
# (skip the build and use this binary), CARGO_TARGET_DIR (default
# ~/.cache/gatehouse-bench-target, as bench/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

duration="${1:-${SOAK_DURATION:-600}}"
max_rps="${2:-${SOAK_MAX_RPS:-0}}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/gatehouse-bench-target}"
out="bench/out/soak-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"

for tool in pg_ctlcluster pg_isready psql python3 curl; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done
binary="${SOAK_BINARY:-}"
if [[ -z "$binary" ]]; then
  cargo build --release --quiet -p gatehouse
  binary="$CARGO_TARGET_DIR/release/gatehouse"
fi

if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort | tail -1)" main start
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
database="gatehouse_soak_$$"
source bench/lib.sh
scratch_database "$database"

echo "soak: $duration s at ${SOAK_LOAD:-0.7} of the maximum; uptime: $(uptime)"
python3 bench/soak.py \
  --binary "$binary" \
  --database "$database" \
  --duration "$duration" \
  --max-rps "$max_rps" \
  --measure "${SOAK_MEASURE:-20}" \
  --load "${SOAK_LOAD:-0.7}" \
  --out "$out"
