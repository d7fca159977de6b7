#!/usr/bin/env bash
# Principal-cache propagation between replicas (issue 14 item 3): bench/propagation.sh [writes]
#
# Builds the release binary, creates a fresh database on the local PostgreSQL (dropped at
# exit; PostgreSQL is never started or stopped here), and runs bench/propagation.py: two
# replicas on that database, N (default 200) logouts and deactivations on replica A, each timed
# from A's 200 until replica B refuses the ended principal; prints p50/p90/p99/max (target:
# p99 < 100 ms). Not part of CI; run it on an idle machine.
# Environment: CARGO_TARGET_DIR (default ~/.cache/gatehouse-bench-target, as bench/run.sh),
# PROPAGATION_BINARY (skip the build and run this binary instead).
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${1:-200}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/gatehouse-bench-target}"
binary="${PROPAGATION_BINARY:-}"
if [[ -z "$binary" ]]; then
  cargo build --release --quiet -p gatehouse
  binary="$CARGO_TARGET_DIR/release/gatehouse"
fi

pg_isready -h 127.0.0.1 -p 5432 -q || { echo "PostgreSQL is not up on 127.0.0.1:5432" >&2; exit 1; }
database="gatehouse_propagation_$$"
source bench/lib.sh
scratch_database "$database"

python3 bench/propagation.py --binary "$binary" --database "$database" --runs "$runs"
