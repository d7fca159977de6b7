# Shared by the transcript scripts: build the binaries, start a throwaway `gatehouse serve`
# (development, SQLite in a temporary directory, a random SECRET_KEY) and optionally the tests'
# SMTP sink, print each HTTP exchange with tokens shortened, clean everything up on exit.
# Source it from a script that has `set -euo pipefail`; needs cargo, curl, jq, openssl, python3.

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
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

cargo build --quiet -p gatehouse --bin gatehouse -p gatehouse-tests --bin smtp-sink
bin=${CARGO_TARGET_DIR:-target}/debug
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=${PORT:-$(free_port)}
base="http://127.0.0.1:$port"

# start_sink: the tests' SMTP sink on a free port; each message lands as a JSON line in
# $work/mail.jsonl. Sets smtp_port.
start_sink() {
    smtp_port=$(free_port)
    "$bin/smtp-sink" "127.0.0.1:$smtp_port" >"$work/mail.jsonl" 2>"$work/sink.log" &
    pids+=($!)
}

# start_server [VAR=value…]: gatehouse serve with these variables on top of the defaults;
# waits until it is ready (10 s), or prints its log and fails.
start_server() {
    env ENVIRONMENT=development \
        DATABASE_URL="sqlite://$work/gatehouse.db?mode=rwc" \
        SECRET_KEY="$(openssl rand -base64 32)" \
        HOST=127.0.0.1 PORT="$port" LOG_FORMAT=json \
        "$@" \
        "$bin/gatehouse" serve >"$work/server.log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    for _ in $(seq 100); do
        curl -fs "$base/health/ready" >/dev/null && break
        sleep 0.1
    done
    # Ready, and ours: a server that could not bind has exited while another may answer there.
    if ! kill -0 "$pid" 2>/dev/null || ! curl -fs "$base/health/ready" >/dev/null; then
        echo "gatehouse did not become ready:" >&2
        cat "$work/server.log" >&2
        exit 1
    fi
}

# Tokens are long; the transcript shows their first and last 6 characters.
shorten='walk(if type == "string" and length > 40 and test("^[A-Za-z0-9._~-]+$") then .[:6] + "…" + .[-6:] else . end)'
short() { echo "${1:0:6}…${1: -6}"; }

# call METHOD PATH [curl args…]: prints the request and the answer (status, the headers named
# in $SHOW_HEADERS, the JSON body); the body lands in $work/body, the headers in $work/headers.
call() {
    local method=$1 path=$2
    shift 2
    echo "\$ $method $path"
    local status
    status=$(curl -s -o "$work/body" -D "$work/headers" -w '%{http_code}' -X "$method" "$base$path" "$@")
    local shown=""
    local name line
    for name in ${SHOW_HEADERS:-}; do
        line=$(grep -i "^$name:" "$work/headers" | tr -d '\r' || true)
        [[ -n $line ]] && shown+=" $line"
    done
    echo "< $status$shown"
    if jq -e . "$work/body" >/dev/null 2>&1; then
        echo "< $(jq -c "$shorten" "$work/body")"
    else
        echo "< $(head -c 200 "$work/body")"
    fi
    echo
}

# field NAME: a top-level field of the last answer's body.
field() { jq -r ".$1" "$work/body"; }
