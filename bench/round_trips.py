#!/usr/bin/env python3
"""Round trips to PostgreSQL per request (issue 14), counted on the wire.

Run it through `bench/round-trips.sh`, which builds the binary and creates the database.

A small proxy sits between `gatehouse serve` and PostgreSQL and reads the protocol
(`sslmode=disable` on the proxy's side only, so the messages are readable). It counts,
for every request:

- round trips: the server's `ReadyForQuery` messages. The client waits for one after every
  `Sync` or simple `Query`, so each is one exchange the request waited for, including sqlx's
  pings (a bare `Sync`), which neither pg_stat_statements nor `log_statement` shows;
- statements: simple `Query` messages and `Execute` messages, with their SQL (from `Parse`,
  matched to `Bind` by statement name), so BEGIN, COMMIT and `set_config` are visible.

The pool has one connection, so every request uses the same warmed-up connection (its
prepared statements cached), and requests run one at a time with a pause after each, so
the release ping that follows a response is counted with its request.

Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import free_port, measured_env  # noqa: E402

UPSTREAM = ("127.0.0.1", 5432)


class Counter:
    """What the proxy saw since the last `take()`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.round_trips = 0
        self.statements: collections.Counter[str] = collections.Counter()
        self.pings = 0

    def take(self) -> tuple[int, int, collections.Counter[str]]:
        with self.lock:
            taken = (self.round_trips, self.pings, self.statements)
            self.round_trips, self.pings, self.statements = 0, 0, collections.Counter()
            return taken


def read_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def cstring(body: bytes, at: int) -> tuple[str, int]:
    end = body.index(b"\0", at)
    return body[at:end].decode(errors="replace"), end + 1


def short(sql: str) -> str:
    """The statement as a table row: whitespace folded, cut at 70 characters."""
    sql = " ".join(sql.split())
    return sql if len(sql) <= 70 else sql[:67] + "..."


def pump_client(client: socket.socket, server: socket.socket, counter: Counter) -> None:
    """Client to server: the startup packet, then typed messages."""
    prepared: dict[str, str] = {}
    portals: dict[str, str] = {}
    since_sync: list[str] = []  # messages since the last Sync: a lone Sync is a ping
    try:
        length = struct.unpack("!I", read_exact(client, 4))[0]
        server.sendall(struct.pack("!I", length) + read_exact(client, length - 4))
        while True:
            head = read_exact(client, 5)
            kind, length = head[:1], struct.unpack("!I", head[1:])[0]
            body = read_exact(client, length - 4)
            server.sendall(head + body)
            with counter.lock:
                if kind == b"Q":
                    counter.statements[short(cstring(body, 0)[0])] += 1
                elif kind == b"P":
                    name, at = cstring(body, 0)
                    prepared[name] = cstring(body, at)[0]
                elif kind == b"B":
                    portal, at = cstring(body, 0)
                    portals[portal] = prepared.get(cstring(body, at)[0], "?")
                elif kind == b"E":
                    counter.statements[short(portals.get(cstring(body, 0)[0], "?"))] += 1
                elif kind == b"S" and not since_sync:
                    counter.pings += 1
            if kind in (b"S", b"Q"):  # each ends an exchange: ReadyForQuery follows
                since_sync.clear()
            else:
                since_sync.append(kind.decode())
    except (EOFError, OSError):
        pass
    finally:
        for s in (client, server):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def pump_server(server: socket.socket, client: socket.socket, counter: Counter) -> None:
    try:
        while True:
            head = read_exact(server, 5)
            length = struct.unpack("!I", head[1:])[0]
            body = read_exact(server, length - 4)
            client.sendall(head + body)
            if head[:1] == b"Z":
                with counter.lock:
                    counter.round_trips += 1
    except (EOFError, OSError):
        pass


def proxy(listener: socket.socket, counter: Counter) -> None:
    while True:
        client, _ = listener.accept()
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        server = socket.create_connection(UPSTREAM)
        server.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=pump_client, args=(client, server, counter), daemon=True).start()
        threading.Thread(target=pump_server, args=(server, client, counter), daemon=True).start()


def call(port: int, method: str, path: str, body: bytes | None = None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def ok(result: tuple[int, bytes], what: str) -> dict:
    status, body = result
    if status != 200:
        raise SystemExit(f"{what}: HTTP {status} {body[:300]!r}")
    return json.loads(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", type=Path, required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--requests", type=int, default=20, help="measured requests per operation")
    parser.add_argument("--log", type=Path, default=Path("/tmp/gatehouse-round-trips.log"))
    args = parser.parse_args()

    counter = Counter()
    listener = socket.create_server(("127.0.0.1", 0))
    proxy_port = listener.getsockname()[1]
    threading.Thread(target=proxy, args=(listener, counter), daemon=True).start()

    port = free_port()
    env = measured_env(
        args.binary,
        environment="local",
        database_url=f"postgres://postgres@127.0.0.1:{proxy_port}/{args.database}?sslmode=disable",
        port=port,
        admin="rt-admin@example.com",
    )
    env["DATABASE_MAX_CONNECTIONS"] = "1"
    with args.log.open("w") as log:
        server = subprocess.Popen([str(args.binary), "serve", "--migrate"], env=env,
                                  cwd="/tmp", stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(3000):
            try:
                if call(port, "GET", "/health/ready")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.01)
        else:
            raise SystemExit(f"not ready; see {args.log}")

        email, password = "rt-user@example.com", "rt-password-0001"
        ok(call(port, "POST", "/api/v1/users/signup",
                json.dumps({"email": email, "password": password}).encode(),
                {"Content-Type": "application/json"}), "signup")
        form = urllib.parse.urlencode({"username": email, "password": password}).encode()
        form_headers = {"Content-Type": "application/x-www-form-urlencoded"}
        state = {"pair": ok(call(port, "POST", "/api/v1/login/access-token", form, form_headers),
                            "login")}

        def me():
            bearer = {"Authorization": f"Bearer {state['pair']['access_token']}"}
            ok(call(port, "GET", "/api/v1/users/me", headers=bearer), "/users/me")

        def login():
            state["pair"] = ok(call(port, "POST", "/api/v1/login/access-token", form,
                                    form_headers), "login")

        def refresh():
            body = json.dumps({"refresh_token": state["pair"]["refresh_token"]}).encode()
            state["pair"] = ok(call(port, "POST", "/api/v1/auth/refresh", body,
                                    {"Content-Type": "application/json"}), "refresh")

        operations = [("GET /users/me", me), ("login (OAuth2 form)", login),
                      ("refresh", refresh)]
        results = {}
        for name, operation in operations:
            for _ in range(5):  # warm-up: every statement prepared on the one connection
                operation()
            time.sleep(0.2)
            counter.take()
            for _ in range(args.requests):
                operation()
                time.sleep(0.05)  # the release ping runs after the response
            time.sleep(0.2)
            trips, pings, statements = counter.take()
            results[name] = (trips, pings, statements)

        n = args.requests
        print(f"\n{n} requests per operation, one pooled connection\n")
        print("| operation | round trips / request | of which pings | statements / request |")
        print("| --- | ---: | ---: | ---: |")
        for name, (trips, pings, statements) in results.items():
            print(f"| {name} | {trips / n:g} | {pings / n:g} | {sum(statements.values()) / n:g} |")
        for name, (trips, pings, statements) in results.items():
            print(f"\n{name}: statements per request")
            for sql, count in statements.most_common():
                print(f"  {count / n:5g}  {sql}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
