"""How long a principal-ending write on one replica takes to reach another (issue 14 item 3).

Starts two `gatehouse serve` replicas (A and B) on one PostgreSQL database, both with the
principal cache (docs/principal-cache.md), and repeats: log a user in on A, warm B's cache with
that session (`GET /users/me` until B's metrics count a hit), end the principal on A (a logout,
or an admin deactivation, alternately), and from the moment A's 200 arrives poll
`GET /users/me` on B over a kept-alive connection until B refuses. Prints p50/p90/p99/max of
that delay per write and overall; the issue's target is p99 under 100 ms. Also checks that A
itself refuses the very next request.

Not a CI step: run it on an idle machine (bench/propagation.sh).
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import free_port, measured_env  # noqa: E402


class Client:
    """One kept-alive HTTP/1.1 connection to a replica."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method: str, path: str, body: bytes | None = None, headers=None):
        try:
            self.conn.request(method, path, body=body, headers=headers or {})
            response = self.conn.getresponse()
            return response.status, response.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            raise


def ok(result: tuple[int, bytes], what: str) -> dict:
    status, body = result
    if status != 200:
        raise SystemExit(f"{what}: HTTP {status} {body[:300]!r}")
    return json.loads(body)


def scrape(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/metrics")
        return conn.getresponse().read().decode()
    finally:
        conn.close()


def metric(port: int, series: str) -> float:
    """One series (name and labels, as rendered) of a replica's metrics; 0 when absent."""
    match = re.search(rf"^{re.escape(series)} (\S+)$", scrape(port), re.M)
    return float(match.group(1)) if match else 0.0


def hits(port: int) -> float:
    return metric(port, 'gatehouse_principal_cache_lookups_total{result="hit"}')


def start(binary: Path, env: dict[str, str], migrate: bool, log: Path) -> subprocess.Popen:
    command = [str(binary), "serve"] + (["--migrate"] if migrate else [])
    with log.open("w") as out:
        return subprocess.Popen(command, env=env, cwd="/tmp", stdout=out, stderr=subprocess.STDOUT)


def wait_ready(port: int, metrics_port: int, log: Path) -> None:
    for _ in range(3000):
        try:
            status, _ = Client(port).call("GET", "/health/ready")
            if status == 200 and metric(metrics_port, "gatehouse_principal_cache_listening") == 1:
                return
        except OSError:
            pass
        time.sleep(0.01)
    raise SystemExit(f"replica on {port} not ready (or its cache not listening); see {log}")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def report(name: str, delays: list[float]) -> None:
    ms = [d * 1000 for d in delays]
    print(f"| {name} | {len(ms)} | {percentile(ms, 50):.2f} | {percentile(ms, 90):.2f} | "
          f"{percentile(ms, 99):.2f} | {max(ms):.2f} | {statistics.mean(ms):.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", type=Path, required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--runs", type=int, default=200, help="measured writes in all")
    parser.add_argument("--out", type=Path, default=Path("/tmp"))
    args = parser.parse_args()

    ports = {"A": free_port(), "B": free_port()}
    metrics_ports = {"A": free_port(), "B": free_port()}
    base = measured_env(
        args.binary,
        environment="local",
        database_url=f"postgres://postgres@127.0.0.1:5432/{args.database}?sslmode=disable",
        port=ports["A"],
        admin="propagation-admin@example.com",
    )
    servers = {}
    try:
        for name, migrate in (("A", True), ("B", False)):
            env = {**base, "PORT": str(ports[name]), "METRICS_ADDR": f"127.0.0.1:{metrics_ports[name]}"}
            log = args.out / f"gatehouse-propagation-{name}.log"
            servers[name] = start(args.binary, env, migrate, log)
            wait_ready(ports[name], metrics_ports[name], log)

        a, b = Client(ports["A"]), Client(ports["B"])
        json_headers = {"Content-Type": "application/json"}
        form_headers = {"Content-Type": "application/x-www-form-urlencoded"}

        def login(email: str, password: str) -> str:
            form = urllib.parse.urlencode({"username": email, "password": password}).encode()
            return ok(a.call("POST", "/api/v1/login/access-token", form, form_headers),
                      "login")["access_token"]

        admin = login("propagation-admin@example.com", base["FIRST_SUPERUSER_PASSWORD"])
        admin_auth = {"Authorization": f"Bearer {admin}", **json_headers}
        email, password = "propagation-user@example.com", "propagation-password-1"
        user = ok(a.call("POST", "/api/v1/users/signup",
                         json.dumps({"email": email, "password": password}).encode(),
                         json_headers), "signup")

        delays: dict[str, list[float]] = {"logout": [], "deactivation": []}
        for run in range(args.runs):
            kind = "logout" if run % 2 == 0 else "deactivation"
            access = login(email, password)
            bearer = {"Authorization": f"Bearer {access}"}
            # Warm B: until one of its answers came from its cache.
            for _ in range(1000):
                before = hits(metrics_ports["B"])
                ok(b.call("GET", "/api/v1/users/me", headers=bearer), "warm B")
                if hits(metrics_ports["B"]) > before:
                    break
            else:
                raise SystemExit("B never served from its cache")
            if kind == "logout":
                ok(a.call("POST", "/api/v1/auth/logout", headers=bearer), "logout")
            else:
                ok(a.call("PATCH", f"/api/v1/users/{user['id']}",
                          json.dumps({"is_active": False}).encode(), admin_auth), "deactivate")
            written = time.perf_counter()
            while True:
                status, _ = b.call("GET", "/api/v1/users/me", headers=bearer)
                if status != 200:
                    break
                if time.perf_counter() - written > 10:
                    raise SystemExit(f"run {run}: B still serves the principal after 10 s")
            delays[kind].append(time.perf_counter() - written)
            status, _ = a.call("GET", "/api/v1/users/me", headers=bearer)
            if status == 200:
                raise SystemExit(f"run {run}: A served the principal after its own {kind}")
            if kind == "deactivation":
                ok(a.call("PATCH", f"/api/v1/users/{user['id']}",
                          json.dumps({"is_active": True}).encode(), admin_auth), "reactivate")

        print(f"\nTime from A's 200 until B refuses (ms), {args.runs} writes\n")
        print("| write | n | p50 | p90 | p99 | max | mean |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for kind, values in delays.items():
            report(kind, values)
        report("all", delays["logout"] + delays["deactivation"])
    finally:
        for server in servers.values():
            server.terminate()
        for server in servers.values():
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
