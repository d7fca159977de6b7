#!/usr/bin/env python3
"""Gatehouse's soak test (issue 14): run it through `bench/soak.sh`, outside CI.

A realistic mix (signup, login, refresh, /users/me, items create/list/update/delete,
logout) runs for the whole duration at about 70 % of a maximum measured first (or given),
and PostgreSQL is restarted once in the middle. Reported:

- the error rate outside the restart window (target < 0.1 %), and the 503s inside it;
- p50/p99 per phase (before, during and after the restart);
- the server's resident memory at the start and at the end;
- the database connections at the end (pg_stat_activity) against the pool's own count;
- every acknowledged write still present afterwards: each signup answered 200 is a user,
  each item created and not deleted is there with its last acknowledged title, each item
  whose deletion was acknowledged is gone. An item whose last write failed (unknown
  outcome) is only counted as such.

The load generator is asyncio over keep-alive HTTP/1.1 connections, one per virtual user,
paced by one shared schedule (open loop: a slow answer does not slow the offered rate).
Python 3 standard library only; the server comes from bench/harness.py's conventions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import Probe, Server, free_port, measured_env  # noqa: E402

# The mix, by weight (per cent of requests).
MIX = {
    "me": 35,
    "items_list": 20,
    "item_create": 12,
    "item_update": 8,
    "item_delete": 5,
    "refresh": 10,
    "login": 5,
    "logout": 2,
    "signup": 3,
}
USERS = 32  # virtual users, one keep-alive connection each
RESTART_GRACE_S = 2.0  # after PostgreSQL answers again, still counted as the restart window


def psql(database: str, query: str) -> str:
    return subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-XAt", "-c", query, database],
        check=True, capture_output=True, text=True,
    ).stdout.strip()


class Http:
    """One keep-alive HTTP/1.1 connection; reconnects after an error."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None

    async def call(self, method: str, path: str, body: bytes = b"", headers=None) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        try:
            status_line = await self.reader.readline()
            if not status_line:
                raise ConnectionError("closed")
            status = int(status_line.split()[1])
            length, chunked, close = 0, False, False
            while True:
                line = (await self.reader.readline()).strip()
                if not line:
                    break
                name, _, value = line.decode("latin-1").partition(":")
                name, value = name.lower(), value.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "transfer-encoding" and "chunked" in value:
                    chunked = True
                elif name == "connection" and value == "close":
                    close = True
            if chunked:
                data = b""
                while True:
                    size = int((await self.reader.readline()).strip(), 16)
                    data += await self.reader.readexactly(size + 2)
                    if size == 0:
                        break
            else:
                data = await self.reader.readexactly(length)
            if close:
                await self.close()
            return status, data
        except BaseException:
            await self.close()
            raise


@dataclass
class Account:
    email: str
    password: str
    access: str = ""
    refresh: str = ""


@dataclass
class Ledger:
    """What the server acknowledged, to check afterwards."""

    users: set[str] = field(default_factory=set)  # emails of signups answered 200
    items: dict[str, str] = field(default_factory=dict)  # id -> last acknowledged title
    deleted: set[str] = field(default_factory=set)
    uncertain: set[str] = field(default_factory=set)  # items whose last write failed


@dataclass
class Sample:
    start: float
    end: float
    op: str
    status: int  # 0: no answer (connection error or timeout)


class Soak:
    def __init__(self, args: argparse.Namespace, port: int) -> None:
        self.args, self.port = args, port
        self.samples: list[Sample] = []
        self.ledger = Ledger()
        self.rate = 0.0  # requests/s offered; 0 = as fast as possible
        self.next_slot = 0.0
        self.stop_at = 0.0
        self.ops = list(MIX)
        self.weights = [MIX[o] for o in self.ops]

    async def pace(self) -> None:
        if self.rate <= 0:
            return
        now = time.monotonic()
        slot = max(now, self.next_slot)
        self.next_slot = slot + 1 / self.rate
        if slot > now:
            await asyncio.sleep(slot - now)

    async def timed(self, http: Http, op: str, method: str, path: str, body=None, headers=None,
                    record: bool = True) -> tuple[int, bytes]:
        payload, hdrs = b"", dict(headers or {})
        if body is not None:
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        start = time.monotonic()
        try:
            status, data = await asyncio.wait_for(http.call(method, path, payload, hdrs), 15)
        except (OSError, ConnectionError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError):
            status, data = 0, b""
        if record:
            self.samples.append(Sample(start, time.monotonic(), op, status))
        return status, data

    async def signup(self, http: Http, record: bool = True) -> Account | None:
        account = Account(f"soak-{secrets.token_hex(6)}@example.com", secrets.token_urlsafe(12))
        status, _ = await self.timed(http, "signup", "POST", "/api/v1/users/signup",
                                     {"email": account.email, "password": account.password}, record=record)
        if status != 200:
            return None
        self.ledger.users.add(account.email)
        return account

    async def login(self, http: Http, account: Account, record: bool = True) -> bool:
        form = urllib.parse.urlencode({"username": account.email, "password": account.password})
        status, data = await self.timed(
            http, "login", "POST", "/api/v1/login/access-token", form.encode(),
            {"Content-Type": "application/x-www-form-urlencoded"}, record=record)
        if status != 200:
            return False
        pair = json.loads(data)
        account.access, account.refresh = pair["access_token"], pair["refresh_token"]
        return True

    async def user(self, index: int) -> None:
        http = Http(self.port)
        rng = random.Random(index)
        account: Account | None = None
        mine: list[str] = []  # this user's live items
        while time.monotonic() < self.stop_at:
            if account is None or not account.access:
                await self.pace()
                account = await self.signup(http)
                if account is not None and not await self.login(http, account):
                    account.access = ""
                if account is None or not account.access:
                    await asyncio.sleep(0.05)
                continue
            await self.pace()
            if time.monotonic() >= self.stop_at:
                break
            op = rng.choices(self.ops, self.weights)[0]
            bearer = {"Authorization": f"Bearer {account.access}"}
            if op == "me":
                await self.timed(http, op, "GET", "/api/v1/users/me", headers=bearer)
            elif op == "items_list":
                await self.timed(http, op, "GET", "/api/v1/items/?limit=20", headers=bearer)
            elif op == "item_create":
                title = f"t-{secrets.token_hex(4)}"
                status, data = await self.timed(http, op, "POST", "/api/v1/items/",
                                                {"title": title, "description": "soak"}, bearer)
                if status == 200:
                    item = json.loads(data)["id"]
                    self.ledger.items[item] = title
                    mine.append(item)
            elif op == "item_update" and mine:
                item, title = rng.choice(mine), f"u-{secrets.token_hex(4)}"
                status, _ = await self.timed(http, op, "PUT", f"/api/v1/items/{item}",
                                             {"title": title}, bearer)
                if status == 200:
                    self.ledger.items[item] = title
                    self.ledger.uncertain.discard(item)
                elif status == 0 or status >= 500:
                    self.ledger.uncertain.add(item)
            elif op == "item_delete" and mine:
                item = mine.pop(rng.randrange(len(mine)))
                status, _ = await self.timed(http, op, "DELETE", f"/api/v1/items/{item}",
                                             headers=bearer)
                if status == 200:
                    self.ledger.items.pop(item, None)
                    self.ledger.deleted.add(item)
                    self.ledger.uncertain.discard(item)
                elif status == 0 or status >= 500:
                    self.ledger.uncertain.add(item)
            elif op == "refresh":
                status, data = await self.timed(http, op, "POST", "/api/v1/auth/refresh",
                                                {"refresh_token": account.refresh})
                if status == 200:
                    pair = json.loads(data)
                    account.access, account.refresh = pair["access_token"], pair["refresh_token"]
                elif status in (0, 503) or status >= 500:
                    pass  # unknown whether it rotated: the next refresh may find a reuse
            elif op == "login":
                await self.login(http, account)
            elif op == "logout":
                status, _ = await self.timed(http, op, "POST", "/api/v1/auth/logout", headers=bearer)
                if status == 200:
                    account.access = ""
                    await self.pace()
                    await self.login(http, account)
            elif op == "signup":
                new = await self.signup(http)
                if new is not None and await self.login(http, new):
                    account, mine = new, []
            else:
                await self.timed(http, "me", "GET", "/api/v1/users/me", headers=bearer)
        await http.close()

    async def run(self, seconds: float, rate: float) -> None:
        self.rate = rate
        self.next_slot = time.monotonic()
        self.stop_at = time.monotonic() + seconds
        await asyncio.gather(*(self.user(i) for i in range(USERS)))


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def unexpected(sample: Sample) -> bool:
    """A failure: no answer, a 5xx, or a 4xx the mix does not cause (a refresh or request
    that follows an unanswered one may meet a 401/403 it earned: counted apart)."""
    return sample.status == 0 or sample.status >= 500


def restart_postgres() -> tuple[float, float]:
    """`pg_ctlcluster restart`; the monotonic times it began and PostgreSQL answered again."""
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    began = time.monotonic()
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True)
    while subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-q"]).returncode != 0:
        time.sleep(0.05)
    return began, time.monotonic()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", type=Path, required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--duration", type=float, default=600, help="seconds of load")
    parser.add_argument("--max-rps", type=float, default=0, help="the maximum; 0: measure it")
    parser.add_argument("--measure", type=float, default=20, help="seconds to measure the maximum")
    parser.add_argument("--load", type=float, default=0.7, help="fraction of the maximum offered")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    port, metrics_port = free_port(), free_port()
    env = measured_env(
        args.binary,
        environment="staging",
        database_url=f"postgres://postgres@127.0.0.1:5432/{args.database}",
        port=port,
        admin="soak-admin@example.com",
    )
    env["METRICS_ADDR"] = f"127.0.0.1:{metrics_port}"
    env["LOG_FORMAT"] = "json"
    server = Server(args.binary, env, port, args.out / "gatehouse.log")
    server.start()
    probe = Probe(server.pid)
    report: dict = {"duration_s": args.duration}
    try:
        if args.max_rps > 0:
            maximum = args.max_rps
            report["max_rps"] = {"given": maximum}
        else:
            measuring = Soak(args, port)
            asyncio.run(measuring.run(args.measure, 0))
            answered = [s for s in measuring.samples if 200 <= s.status < 300]
            maximum = len(answered) / args.measure
            report["max_rps"] = {"measured": round(maximum, 1), "over_s": args.measure,
                                 "errors": sum(map(unexpected, measuring.samples))}
        rate = args.load * maximum
        report["offered_rps"] = round(rate, 1)
        report["rss_start_mib"] = round(probe.status_kib("VmRSS") / 1024, 1)
        cpu_start = probe.cpu_seconds()

        soak = Soak(args, port)
        started = time.monotonic()
        restart: dict = {}

        async def drive() -> None:
            load = asyncio.create_task(soak.run(args.duration, rate))
            await asyncio.sleep(args.duration / 2)
            began, ready = await asyncio.to_thread(restart_postgres)
            restart.update(began=began, ready=ready)
            await load

        asyncio.run(drive())
        ended = time.monotonic()
        time.sleep(1)  # in-flight releases settle before the connections are counted
        report["rss_end_mib"] = round(probe.status_kib("VmRSS") / 1024, 1)
        report["server_cpu_s"] = round(probe.cpu_seconds() - cpu_start, 1)

        window = (restart["began"], restart["ready"] + RESTART_GRACE_S)
        report["restart"] = {
            "at_s": round(restart["began"] - started, 1),
            "postgres_down_s": round(restart["ready"] - restart["began"], 2),
            "window_s": round(window[1] - window[0], 2),
        }
        inside = [s for s in soak.samples if s.end >= window[0] and s.start <= window[1]]
        outside = [s for s in soak.samples if not (s.end >= window[0] and s.start <= window[1])]
        bad_outside = [s for s in outside if unexpected(s)]
        report["requests"] = len(soak.samples)
        report["achieved_rps"] = round(len(soak.samples) / (ended - started), 1)
        report["outside_window"] = {
            "requests": len(outside),
            "errors": len(bad_outside),
            "error_rate_pct": round(100 * len(bad_outside) / max(1, len(outside)), 4),
            "errors_by_status": dict(collections_count(s.status for s in bad_outside)),
            "other_4xx_by_op": dict(collections_count(
                f"{s.op}:{s.status}" for s in outside if 400 <= s.status < 500)),
        }
        report["inside_window"] = {
            "requests": len(inside),
            "503": sum(s.status == 503 for s in inside),
            "other_failures_by_status": dict(collections_count(
                s.status for s in inside if unexpected(s) and s.status != 503)),
        }
        phases = {
            "before": [s for s in soak.samples if s.end < window[0]],
            "restart": inside,
            "after": [s for s in soak.samples if s.start > window[1]],
        }
        report["latency_ms"] = {
            name: {
                "requests": len(samples),
                "p50": round(percentile([1000 * (s.end - s.start) for s in samples], 50), 2),
                "p99": round(percentile([1000 * (s.end - s.start) for s in samples], 99), 2),
            }
            for name, samples in phases.items()
        }

        # Connections at the end: PostgreSQL's view against the pool's own gauge.
        metrics = subprocess.run(["curl", "-s", f"http://127.0.0.1:{metrics_port}/metrics"],
                                 capture_output=True, text=True).stdout
        pool = {line.split()[0]: float(line.split()[1]) for line in metrics.splitlines()
                if line.startswith("gatehouse_db_pool_") and " " in line and "{" not in line}
        report["connections_end"] = {
            "pg_stat_activity": int(psql(args.database,
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'gatehouse'")),
            "pool_size": pool.get("gatehouse_db_pool_connections"),
            "pool_max": pool.get("gatehouse_db_pool_max_connections"),
            "idle_in_transaction": int(psql(args.database,
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'gatehouse' AND state LIKE 'idle in transaction%'")),
        }
        report["acknowledged_writes"] = check_writes(args.database, soak.ledger)
        code = server.stop()
        report["exit_on_sigterm"] = code
    finally:
        if server.proc is not None:
            server.kill()
    text = json.dumps(report, indent=2)
    (args.out / "soak.json").write_text(text + "\n")
    print(text)


def collections_count(values) -> dict:
    counts: dict = {}
    for v in values:
        counts[str(v)] = counts.get(str(v), 0) + 1
    return counts


def check_writes(database: str, ledger: Ledger) -> dict:
    def rows(query: str) -> list[list[str]]:
        out = psql(database, query)
        return [line.split("|") for line in out.splitlines() if line]

    emails = list(ledger.users)
    found_users = set()
    for i in range(0, len(emails), 500):
        chunk = ",".join("'" + e + "'" for e in emails[i:i + 500])
        found_users |= {r[0] for r in rows(f'SELECT email FROM "user" WHERE email IN ({chunk})')}
    kept = {i: t for i, t in ledger.items.items() if i not in ledger.uncertain}
    stored: dict[str, str] = {}
    ids = list(kept) + list(ledger.deleted)
    for i in range(0, len(ids), 500):
        chunk = ",".join("'" + x + "'" for x in ids[i:i + 500])
        stored |= {r[0]: r[1] for r in rows(f"SELECT id, title FROM item WHERE id IN ({chunk})")}
    return {
        "signups_acknowledged": len(emails),
        "signups_missing": len(set(emails) - found_users),
        "items_acknowledged_live": len(kept),
        "items_missing": sum(1 for i in kept if i not in stored),
        "items_with_other_title": sum(1 for i, t in kept.items() if i in stored and stored[i] != t),
        "items_deleted_acknowledged": len(ledger.deleted),
        "items_deleted_but_present": sum(1 for i in ledger.deleted if i in stored),
        "items_last_write_unknown": len(ledger.uncertain),
    }


if __name__ == "__main__":
    main()
