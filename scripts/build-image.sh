#!/usr/bin/env bash
# Builds the Gatehouse container image with podman and checks it (issue 17). Not part of .ci/run
# (minutes of release build); runnable by anyone with root on a Debian machine:
#
#   scripts/build-image.sh                     # release build, stage, podman build, checks
#   scripts/build-image.sh --check-only IMAGE  # the checks alone, e.g. on an image built elsewhere
#
# Steps: podman (installed from Debian's packages when missing) → `cargo build --release`
# (CARGO_TARGET_DIR, default ~/.cache/gatehouse-release-target; symbols stripped) → the root
# filesystem staged in .image/ (scripts/image-rootfs.sh) → `podman build` of the Containerfile →
# checks. Containers cannot run on this machine, so the checks export the image's root filesystem
# and run its entrypoint under chroot (`unshare --root`, in new mount and pid namespaces, as the
# image's user, in its working directory, with its environment):
#
#   1. the image config: a non-root user, the entrypoint and command, the shell-less health
#      check, the exposed port, the OCI labels; no shell inside; the size (target < 50 MB);
#   2. `gatehouse --version`;
#   3. `gatehouse check-config` with a production configuration; with the compose network's
#      `db?sslmode=disable` (exit 0 and the warning) and without the sslmode (exit 78);
#   4. `migrate up`, then `serve` on a free loopback port against the local PostgreSQL
#      (127.0.0.1:5432, trust auth, user postgres) reached as `db`, a name only a DNS server
#      answers (a stub on 127.53.0.1 plays compose's resolver): /health/ready 200, a login, the
#      user's profile, `gatehouse healthcheck` 0, SIGTERM → exit 0;
#   5. TLS with `sslmode=verify-full` to a throwaway PostgreSQL (its own cluster, port and
#      certificate from a test CA made here): refused with the image's CA bundle as built, served
#      (ready, login) once the test CA is in that bundle — the bundle is what the binary trusts.
#
# Secrets (keys, passwords, tokens) are generated per run and never printed.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

image=gatehouse:latest
build=1
case "${1:-}" in
"") ;;
--check-only)
    [[ -n ${2:-} ]] || { echo "usage: $0 [--check-only IMAGE]" >&2; exit 2; }
    image=$2
    build=0
    ;;
*)
    echo "usage: $0 [--check-only IMAGE]" >&2
    exit 2
    ;;
esac

# The image's size target without the SPA (bytes).
size_limit=50000000
dns_address=127.53.0.1

step() { printf '\n=== %s ===\n' "$*"; }
ok() { printf 'ok: %s\n' "$*"; }
fail() {
    printf 'FAILED: %s\n' "$*" >&2
    exit 1
}

# --- Tools -------------------------------------------------------------------------------------
[[ $(id -u) == 0 ]] || fail "run as root: podman build, chroot and the throwaway PostgreSQL need it"
missing=()
command -v podman >/dev/null || missing+=(podman)
command -v jq >/dev/null || missing+=(jq)
command -v curl >/dev/null || missing+=(curl)
command -v openssl >/dev/null || missing+=(openssl)
command -v python3 >/dev/null || missing+=(python3)
[[ -s /etc/ssl/certs/ca-certificates.crt ]] || missing+=(ca-certificates)
if ((${#missing[@]})); then
    step "installing ${missing[*]} from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
        { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; }
fi
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[[ -x $pg_bin/initdb ]] || fail "PostgreSQL's server binaries are missing (apt-get install postgresql)"
pg_isready -h 127.0.0.1 -p 5432 -q || fail "no PostgreSQL on 127.0.0.1:5432 (see .ci/run to start it)"

# --- Clean-up of everything this run starts or creates -----------------------------------------
work=$(mktemp -d /tmp/gatehouse-image.XXXXXX)
# The throwaway cluster's owner (postgres) must reach its directory inside.
chmod 0711 "$work"
pids=()
container=""
database=""
tls_cluster=""
# A background job's children first: a served job is a subshell → unshare → gatehouse, and
# killing the subshell alone would leave the server running.
kill_tree() {
    local child
    for child in $(pgrep -P "$1"); do
        kill_tree "$child"
    done
    kill "$1" 2>/dev/null
}
cleanup() {
    local status=$?
    set +e
    for pid in "${pids[@]}"; do
        kill_tree "$pid"
        wait "$pid" 2>/dev/null
    done
    [[ -n $container ]] && podman rm -f "$container" >/dev/null 2>&1
    [[ -n $tls_cluster ]] && runuser -u postgres -- "$pg_bin/pg_ctl" -D "$tls_cluster" -m fast -w stop >/dev/null 2>&1
    [[ -n $database ]] && psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" >/dev/null 2>&1
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- Build -------------------------------------------------------------------------------------
if ((build)); then
    step "release build"
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/gatehouse-release-target}"
    CARGO_PROFILE_RELEASE_STRIP=symbols cargo build --release --locked -p gatehouse
    binary=$CARGO_TARGET_DIR/release/gatehouse

    step "root filesystem staged in .image/"
    rm -rf .image
    scripts/image-rootfs.sh "$binary" .image

    step "podman build"
    version=$("$binary" --version | awk '{ print $2 }')
    revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
    [[ -z $(git status --porcelain 2>/dev/null) ]] || revision="$revision-dirty"
    source_url=$(git remote get-url origin 2>/dev/null || echo unknown)
    # Docker's format: the OCI image format has no HEALTHCHECK. No layer cache: podman 4.3
    # reuses a cached LABEL step whose build-arg values changed (a stale revision label), and
    # the copies take seconds.
    podman build --no-cache --format docker -f Containerfile \
        --build-arg VERSION="$version" --build-arg REVISION="$revision" \
        --build-arg SOURCE="$source_url" -t "$image" .
fi

# --- 1. Image config ---------------------------------------------------------------------------
step "image config"
podman image inspect "$image" >"$work/inspect.json" || fail "no image $image"
config() { jq -c "$1" "$work/inspect.json"; }
user=$(config '.[0].Config.User' | tr -d '"')
uid=${user%%:*}
gid=${user#*:}
[[ $uid =~ ^[0-9]+$ && $gid =~ ^[0-9]+$ ]] || fail "the image's user is not numeric uid:gid: $user"
((uid != 0)) || fail "the image runs as root"
ok "user $user (non-root)"
[[ $(config '.[0].Config.Entrypoint') == '["gatehouse"]' ]] || fail "entrypoint $(config '.[0].Config.Entrypoint')"
[[ $(config '.[0].Config.Cmd') == '["serve"]' ]] || fail "command $(config '.[0].Config.Cmd')"
ok "entrypoint [\"gatehouse\"], command [\"serve\"]"
healthcheck=$(config '(.[0].Config.Healthcheck // .[0].Healthcheck).Test')
[[ $healthcheck == '["CMD","gatehouse","healthcheck"'* ]] || fail "health check $healthcheck"
ok "health check $healthcheck (exec form, no shell)"
[[ $(config '.[0].Config.ExposedPorts | keys') == '["8000/tcp"]' ]] || fail "exposed $(config '.[0].Config.ExposedPorts')"
workdir=$(config '.[0].Config.WorkingDir' | tr -d '"')
[[ $workdir == /app ]] || fail "working directory $workdir"
mapfile -t image_env < <(jq -r '.[0].Config.Env[]' "$work/inspect.json")
for label in version revision source; do
    value=$(config ".[0].Config.Labels[\"org.opencontainers.image.$label\"]")
    [[ $value != null ]] || fail "label org.opencontainers.image.$label missing"
    ok "label org.opencontainers.image.$label=$value"
done
ok "exposes 8000/tcp, working directory $workdir, environment: ${image_env[*]}"
size=$(config '.[0].Size')
size_mb=$(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1000000 }')

# --- Root filesystem ---------------------------------------------------------------------------
step "root filesystem exported"
root=$work/rootfs
mkdir -p "$root"
# (podman's complaints about systemd health-check timers are noise here: nothing is started.)
container=$(podman create "$image" 2>/dev/null)
podman export "$container" | tar -x -C "$root"
podman rm "$container" >/dev/null 2>&1
container=""
(cd "$root" && find . -type f -o -type l | sort | sed 's/^\.//' | tr '\n' ' ')
echo
for shell in bin/sh bin/bash usr/bin/sh usr/bin/curl; do
    [[ ! -e $root/$shell ]] || fail "/$shell is in the image"
done
[[ $(stat -c %u "$root$workdir") == "$uid" ]] || fail "$workdir is not owned by the image's user"
ok "no shell, no curl; $workdir owned by $uid"
# What a container engine adds at run time: /etc/hosts, /etc/resolv.conf (compose's embedded DNS
# here played by the stub), /proc.
printf '127.0.0.1 localhost\n::1 localhost\n' >"$root/etc/hosts"
printf 'nameserver %s\noptions ndots:0 timeout:1 attempts:2\n' "$dns_address" >"$root/etc/resolv.conf"
mkdir -p "$root/proc"

# Runs the image's entrypoint with `args` under chroot, as the image would run: its user, working
# directory and environment (plus the VAR=value words before `--`), new mount and pid namespaces.
run_image() {
    local vars=()
    while [[ $1 != -- ]]; do
        vars+=("$1")
        shift
    done
    shift
    env -i "${image_env[@]}" "${vars[@]}" \
        /usr/bin/unshare --mount --pid --fork --kill-child --mount-proc=/proc \
        --root="$root" --wd="$workdir" --setgid "$gid" --setuid "$uid" -- gatehouse "$@"
}

# --- 2. --version --------------------------------------------------------------------------------
step "gatehouse --version"
run_image -- --version | tee "$work/version.txt"
grep -q '^gatehouse [0-9]' "$work/version.txt" || fail "--version"
ok "--version"

# --- 3. check-config ---------------------------------------------------------------------------
step "gatehouse check-config (production)"
secret_key=$(run_image -- generate-key)
((${#secret_key} >= 32)) || fail "generate-key"
db_password=$(openssl rand -hex 16)
superuser_password=$(openssl rand -base64 18)
production=(ENVIRONMENT=production "SECRET_KEY=$secret_key" FRONTEND_HOST=https://dashboard.example.com)
run_image "${production[@]}" \
    "DATABASE_URL=postgresql://gatehouse:$db_password@db.example.com:5432/app?sslmode=verify-full" \
    -- check-config >"$work/check.txt" 2>&1 || { cat "$work/check.txt"; fail "check-config (production)"; }
grep -v "$db_password" "$work/check.txt" | head -n 6
grep -q "configuration OK" "$work/check.txt" || fail "check-config said no OK"
! grep -qF -e "$db_password" -e "$secret_key" "$work/check.txt" || fail "check-config printed a secret"
ok "check-config: production with verify-full, exit 0, no secret printed"

step "gatehouse check-config (compose network: db?sslmode=disable, issue 12 item 3)"
run_image "${production[@]}" "DATABASE_URL=postgresql://u:$db_password@db:5432/app?sslmode=disable" \
    -- check-config >"$work/check-db.txt" 2>&1 || { cat "$work/check-db.txt"; fail "check-config (db, sslmode=disable)"; }
grep '"WARN"' "$work/check-db.txt" | jq -r '"WARN \(.variable): \(.message)"'
[[ $(grep -c 'WITHOUT TLS' "$work/check-db.txt") == 1 ]] || fail "not exactly one warning"
ok "check-config: db?sslmode=disable exit 0 with one warning"
code=0
run_image "${production[@]}" "DATABASE_URL=postgresql://u:$db_password@db:5432/app" \
    -- check-config >"$work/check-strict.txt" 2>&1 || code=$?
cat "$work/check-strict.txt"
((code == 78)) || fail "db without sslmode: exit $code, expected 78"
ok "check-config: db without sslmode exit 78"

# --- DNS stub: compose's resolver answers service names -----------------------------------------
step "DNS stub on $dns_address:53 (db, pg.gatehouse.test → 127.0.0.1)"
cat >"$work/dns.py" <<'PY'
# Answers A queries for the names given with 127.0.0.1, AAAA with no address, others NXDOMAIN.
import socket, struct, sys
address, ready, names = sys.argv[1], sys.argv[2], {n.lower() for n in sys.argv[3:]}
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((address, 53))
open(ready, "w").close()
while True:
    query, peer = sock.recvfrom(512)
    (ident,) = struct.unpack("!H", query[:2])
    labels, i = [], 12
    while query[i]:
        labels.append(query[i + 1 : i + 1 + query[i]].decode().lower())
        i += 1 + query[i]
    qtype = struct.unpack("!H", query[i + 1 : i + 3])[0]
    question = query[12 : i + 5]
    known = ".".join(labels) in names
    answers = b""
    if known and qtype == 1:
        answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 5, 4) + socket.inet_aton("127.0.0.1")
    flags = 0x8180 if known else 0x8183
    header = struct.pack("!HHHHHH", ident, flags, 1, 1 if answers else 0, 0, 0)
    sock.sendto(header + question + answers, peer)
PY
python3 "$work/dns.py" "$dns_address" "$work/dns.ready" db pg.gatehouse.test &
pids+=($!)
for _ in $(seq 100); do
    [[ -e $work/dns.ready ]] && break
    sleep 0.1
done
[[ -e $work/dns.ready ]] || fail "the DNS stub did not start"
ok "DNS stub up"

# Serves from the image (VAR=value words) on a free loopback port until /health/ready says 200
# (60 s at most); sets served_pid (unshare) and served_port.
serve_image() {
    local name=$1
    shift
    served_port=$(free_port)
    run_image HOST=127.0.0.1 "PORT=$served_port" "$@" -- serve >"$work/$name.log" 2>&1 &
    served_pid=$!
    pids+=("$served_pid")
    local deadline=$((SECONDS + 60)) status=000
    while ((SECONDS < deadline)); do
        status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$served_port/health/ready" || true)
        [[ $status == 200 ]] && break
        kill -0 "$served_pid" 2>/dev/null || break
        sleep 0.2
    done
    if [[ $status != 200 ]]; then
        cat "$work/$name.log" >&2
        fail "$name: /health/ready answered $status"
    fi
    ok "$name: serve on 127.0.0.1:$served_port, /health/ready 200"
}

# Logs in as the first superuser and reads the profile; prints no token.
login_image() {
    local name=$1 status
    printf '%s' "$superuser_password" >"$work/password"
    status=$(curl -s -o "$work/token.json" -w '%{http_code}' \
        "http://127.0.0.1:$served_port/api/v1/login/access-token" \
        --data-urlencode "username=$superuser" --data-urlencode "password@$work/password")
    [[ $status == 200 ]] || fail "$name: login answered $status"
    local token
    token=$(jq -r .access_token "$work/token.json")
    ok "$name: login 200, token_type $(jq -r .token_type "$work/token.json"), access token of ${#token} characters"
    status=$(curl -s -o "$work/me.json" -w '%{http_code}' -H "Authorization: Bearer $token" \
        "http://127.0.0.1:$served_port/api/v1/users/me")
    [[ $status == 200 && $(jq -r .email "$work/me.json") == "$superuser" ]] || fail "$name: /users/me answered $status"
    ok "$name: GET /api/v1/users/me 200 as $superuser (superuser: $(jq -r .is_superuser "$work/me.json"))"
}

# SIGTERM to the served process (PID 1 of its namespace), as an engine stops a container.
stop_image() {
    local name=$1 child=$served_pid next code=0
    # The background job → unshare → gatehouse: the last one down.
    while next=$(pgrep -P "$child" | head -n 1) && [[ -n $next ]]; do
        child=$next
    done
    ps -o pid=,user=,group=,supgid=,args= -p "$child" | sed 's/^/running as: /'
    [[ $(ps -o uid= -p "$child" | tr -d ' ') == "$uid" ]] || fail "$name: not running as $uid"
    kill -TERM "$child"
    wait "$served_pid" || code=$?
    local pid rest=()
    for pid in "${pids[@]}"; do
        [[ $pid == "$served_pid" ]] || rest+=("$pid")
    done
    pids=("${rest[@]}")
    ((code == 0)) || { cat "$work/$name.log" >&2; fail "$name: exit $code after SIGTERM"; }
    ok "$name: SIGTERM → exit 0"
}

# --- 4. serve against the local PostgreSQL as `db` ----------------------------------------------
step "migrate up + serve: the local PostgreSQL as compose's db (DNS), sslmode=disable"
database=gatehouse_image_$$
psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE \"$database\""
superuser=image-check@example.com
compose_db=(
    "${production[@]}" "DATABASE_URL=postgresql://postgres@db:5432/$database?sslmode=disable"
    "FIRST_SUPERUSER=$superuser" "FIRST_SUPERUSER_PASSWORD=$superuser_password"
)
run_image "${compose_db[@]}" -- migrate up >"$work/migrate.log" 2>&1 || { cat "$work/migrate.log"; fail "migrate up"; }
ok "migrate up against db:5432 (resolved by DNS)"
serve_image compose "${compose_db[@]}"
grep 'WITHOUT TLS' "$work/compose.log" | jq -r '"start-up WARN \(.variable): \(.message[0:90])…"'
login_image compose
run_image "PORT=$served_port" -- healthcheck || fail "gatehouse healthcheck in the image"
ok "gatehouse healthcheck in the image: exit 0"
stop_image compose

# --- 5. verify-full against a test CA ----------------------------------------------------------
step "TLS: a throwaway PostgreSQL with a certificate from a test CA"
tls=$work/tls
mkdir -p "$tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=Gatehouse image check test CA" \
    -keyout "$tls/ca.key" -out "$tls/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=pg.gatehouse.test" \
    -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:pg.gatehouse.test\nextendedKeyUsage=serverAuth\n' >"$tls/ext.cnf"
openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial \
    -days 1 -extfile "$tls/ext.cnf" -out "$tls/server.crt" 2>/dev/null
tls_port=$(free_port)
cluster=$work/pg-tls
install -d -o postgres -m 0700 "$cluster"
install -o postgres -m 0600 "$tls/server.key" "$tls/server.crt" "$work/"
runuser -u postgres -- "$pg_bin/initdb" -D "$cluster/data" -U postgres --auth=trust >/dev/null
cat >>"$cluster/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $tls_port
unix_socket_directories = '$cluster'
ssl = on
ssl_cert_file = '$work/server.crt'
ssl_key_file = '$work/server.key'
CONF
# TCP only over TLS: a plain connection is refused.
printf 'local all all trust\nhostssl all all 127.0.0.1/32 trust\n' >"$cluster/data/pg_hba.conf"
tls_cluster=$cluster/data
runuser -u postgres -- "$pg_bin/pg_ctl" -D "$tls_cluster" -l "$cluster/log" -w start >/dev/null
ok "PostgreSQL with TLS on 127.0.0.1:$tls_port, certificate for pg.gatehouse.test from the test CA"

tls_db=(
    "${production[@]}" "DATABASE_URL=postgresql://postgres@pg.gatehouse.test:$tls_port/postgres?sslmode=verify-full"
    "FIRST_SUPERUSER=$superuser" "FIRST_SUPERUSER_PASSWORD=$superuser_password"
)
code=0
run_image "${tls_db[@]}" -- migrate up >"$work/untrusted.log" 2>&1 || code=$?
((code != 0)) || fail "verify-full succeeded without the test CA in the bundle"
grep -qi 'certificate\|UnknownIssuer' "$work/untrusted.log" || { cat "$work/untrusted.log"; fail "refused for another reason"; }
ok "the image's bundle as built: migrate up refused (exit $code): $(grep -oi 'invalid peer certificate[^"]*' "$work/untrusted.log" | head -n 1)"
# As an operator adds a private CA: a bundle with it (mounted over the image's, or a derived image).
cat "$tls/ca.crt" >>"$root/etc/ssl/certs/ca-certificates.crt"
run_image "${tls_db[@]}" -- migrate up >"$work/migrate-tls.log" 2>&1 || { cat "$work/migrate-tls.log"; fail "migrate up over TLS"; }
ok "test CA in the image's bundle: migrate up over TLS with verify-full"
serve_image tls "${tls_db[@]}"
login_image tls
ssl=$(psql -h "$cluster" -p "$tls_port" -U postgres -d postgres -Atc \
    "SELECT count(*) FILTER (WHERE s.ssl) || ' of ' || count(*) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.client_addr IS NOT NULL")
ok "the server's TCP connections using TLS: $ssl"
stop_image tls

# --- Size --------------------------------------------------------------------------------------
step "size"
podman image ls "$image"
((size < size_limit)) || fail "the image is $size_mb MB, over the 50 MB target"
ok "image $image: $size bytes ($size_mb MB, target < 50 MB)"
echo
echo "image checks passed"
