#!/usr/bin/env python3
"""The mixed load of scripts/rolling-upgrade-drill.sh (issue 16): Python 3 stdlib only.

    rolling_load.py run --base URL --state DIR --out DIR [--workers N] [--seconds MAX]
    rolling_load.py report --out DIR --psql "psql args" [--versions OLD=label,NEW=label]

`run` starts N worker threads, each with its own keep-alive connection to the load balancer
and its own account and session that live for the whole drill: it signs up, logs in, then
loops over GET /users/me, item create/read/update/delete, a refresh of its session about
every second, and now and then a signup of a new account and a password login (used once,
then logged out), until the
file DIR/stop appears (or MAX seconds pass). Every request is recorded in OUT/requests.jsonl
with the drill's phase when it started (read from DIR/phase), its status, latency, which
backend server answered (HAProxy's X-Served-By) and, for refreshes, the version of the
replica that issued the token and of the one that redeemed it (DIR/slots.json maps HAProxy
servers to versions; the drill changes it only while that server takes no traffic).
Acknowledged writes go to OUT/writes.json: every signup answered 200, every item with its
last acknowledged state (or deleted).

`report` prints requests, failures and latency per phase, checks every acknowledged write
against the database (through psql), and exits 1 on any failure or missing write.
"""

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

PASSWORD = "rolling drill password 1"
REFRESH_EVERY = 1.0  # seconds between two refreshes of a worker's session


class State:
    """The drill's phase and the version behind each HAProxy server, re-read when changed."""

    def __init__(self, directory):
        self.directory = directory
        self._lock = threading.Lock()
        self._seen = {}
        self._values = {"phase": "start", "slots.json": {}}

    def _read(self, name):
        path = os.path.join(self.directory, name)
        try:
            mtime = os.stat(path).st_mtime_ns
        except FileNotFoundError:
            return self._values[name]
        with self._lock:
            if self._seen.get(name) != mtime:
                with open(path) as f:
                    text = f.read()
                try:
                    self._values[name] = json.loads(text) if name.endswith(".json") else text.strip()
                    self._seen[name] = mtime
                except ValueError:
                    pass  # caught mid-write: keep the previous value, read again next time
            return self._values[name]

    def phase(self):
        return self._read("phase")

    def version_of(self, server):
        return self._read("slots.json").get(server, "?")

    def stopped(self):
        return os.path.exists(os.path.join(self.directory, "stop"))


class Worker(threading.Thread):
    def __init__(self, index, base, state, sink, deadline):
        super().__init__(daemon=True)
        self.index = index
        url = urllib.parse.urlsplit(base)
        self.host, self.port = url.hostname, url.port
        self.state = state
        self.sink = sink
        self.deadline = deadline
        self.conn = None
        self.rng = random.Random(index)
        self.access = None
        self.refresh = None
        self.refresh_issuer = None
        self.items = {}  # id -> {"title", "description"} as last acknowledged
        self.signups = []  # (id, email)
        self.deleted = []
        self.uncertain = set()  # items whose last write got no clear answer

    # ---------------------------------------------------------------- one request
    def call(self, action, method, path, body=None, form=None, token=None, expect=(200,)):
        headers = {"Accept": "application/json"}
        payload = None
        if body is not None:
            payload = json.dumps(body)
            headers["Content-Type"] = "application/json"
        elif form is not None:
            payload = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        phase = self.state.phase()
        started = time.monotonic()
        status, data, server, error = 0, None, "-", None
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            self.conn.request(method, path, body=payload, headers=headers)
            response = self.conn.getresponse()
            raw = response.read()
            status = response.status
            server = response.getheader("X-Served-By", "-")
            try:
                data = json.loads(raw) if raw else None
            except ValueError:
                data = raw[:200].decode("utf-8", "replace")
            if response.getheader("Connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
        except (OSError, http.client.HTTPException) as e:
            # No retry, not even on a closed keep-alive connection: every one is a failure.
            self.conn.close()
            self.conn = None
            error = f"{type(e).__name__}: {e}"
        latency = time.monotonic() - started
        ok = error is None and status in expect
        self.sink.record(
            {
                "t": time.time(),
                "phase": phase,
                "worker": self.index,
                "action": action,
                "status": status,
                "latency": round(latency, 5),
                "server": server,
                "version": self.state.version_of(server),
                "ok": ok,
                "error": error or (None if ok else f"unexpected {status}: {str(data)[:200]}"),
            }
        )
        return ok, status, data, server

    # ------------------------------------------------------------------ actions
    def signup(self):
        email = f"drill-{self.index}-{uuid.uuid4().hex[:12]}@example.com"
        ok, _, data, _ = self.call(
            "signup", "POST", "/api/v1/users/signup",
            body={"email": email, "password": PASSWORD, "full_name": "Drill"},
        )
        if ok:
            self.signups.append((data["id"], email))
        return email if ok else None

    def login(self, email):
        ok, _, data, server = self.call(
            "login", "POST", "/api/v1/login/access-token",
            form={"username": email, "password": PASSWORD},
        )
        return (data, server) if ok else (None, server)

    def do_refresh(self):
        issuer = self.refresh_issuer
        ok, _, data, server = self.call(
            "refresh", "POST", "/api/v1/auth/refresh", body={"refresh_token": self.refresh}
        )
        redeemer = self.state.version_of(server)
        self.sink.record_refresh(issuer, redeemer, ok)
        if ok:
            self.access, self.refresh = data["access_token"], data["refresh_token"]
            self.refresh_issuer = redeemer

    def me(self):
        self.call("users_me", "GET", "/api/v1/users/me", token=self.access)

    def create_item(self):
        body = {"title": f"item {uuid.uuid4().hex[:8]}", "description": f"v{self.rng.randint(0, 999)}"}
        ok, status, data, _ = self.call("item_create", "POST", "/api/v1/items/", body=body, token=self.access)
        if ok:
            self.items[data["id"]] = {"title": data["title"], "description": data["description"]}

    def read_item(self):
        item_id = self.rng.choice(sorted(self.items))
        ok, _, data, _ = self.call("item_read", "GET", f"/api/v1/items/{item_id}", token=self.access)
        if ok and item_id not in self.uncertain:
            want = self.items[item_id]
            if (data["title"], data["description"]) != (want["title"], want["description"]):
                self.sink.record_mismatch(f"read {item_id}: {data} != {want}")

    def update_item(self):
        item_id = self.rng.choice(sorted(self.items))
        body = {"title": f"edited {uuid.uuid4().hex[:8]}", "description": f"v{self.rng.randint(0, 999)}"}
        ok, status, data, _ = self.call("item_update", "PUT", f"/api/v1/items/{item_id}", body=body, token=self.access)
        if ok:
            self.items[item_id] = {"title": data["title"], "description": data["description"]}
            self.uncertain.discard(item_id)
        else:
            self.uncertain.add(item_id)

    def delete_item(self):
        item_id = self.rng.choice(sorted(self.items))
        ok, _, _, _ = self.call("item_delete", "DELETE", f"/api/v1/items/{item_id}", token=self.access)
        if ok:
            del self.items[item_id]
            self.deleted.append(item_id)
            self.uncertain.discard(item_id)
        else:
            self.uncertain.add(item_id)

    def run(self):
        try:
            self.loop()
        finally:
            self.sink.record_writes(self)
            if self.conn is not None:
                self.conn.close()

    def loop(self):
        email = None
        while email is None and not self.done():
            email = self.signup()
        tokens = None
        while tokens is None and not self.done():
            tokens, server = self.login(email)
        if tokens is None:
            return
        self.access, self.refresh = tokens["access_token"], tokens["refresh_token"]
        self.refresh_issuer = self.state.version_of(server)
        last_refresh = time.monotonic()
        while not self.done():
            if time.monotonic() - last_refresh >= REFRESH_EVERY:
                self.do_refresh()
                last_refresh = time.monotonic()
                continue
            roll = self.rng.random()
            if roll < 0.03:
                self.signup()
            elif roll < 0.05:
                # A second session of the same account, used once and ended: logins and
                # logouts on every version, and never near MAX_SESSIONS_PER_USER.
                data, _ = self.login(email)
                if data:
                    self.call("users_me", "GET", "/api/v1/users/me", token=data["access_token"])
                    self.call("logout", "POST", "/api/v1/auth/logout", token=data["access_token"])
            elif roll < 0.20 or len(self.items) < 3:
                self.create_item()
            elif roll < 0.35:
                self.read_item()
            elif roll < 0.50:
                self.update_item()
            elif roll < 0.58 and len(self.items) > 3:
                self.delete_item()
            else:
                self.me()

    def done(self):
        return self.state.stopped() or time.monotonic() > self.deadline


class Sink:
    def __init__(self, out):
        self.lock = threading.Lock()
        self.requests = open(os.path.join(out, "requests.jsonl"), "w")
        self.out = out
        self.refreshes = {}
        self.mismatches = []
        self.writes = {"signups": [], "items": {}, "deleted": [], "uncertain": []}

    def record(self, line):
        with self.lock:
            self.requests.write(json.dumps(line) + "\n")

    def record_refresh(self, issuer, redeemer, ok):
        with self.lock:
            key = f"{issuer}->{redeemer}"
            done = self.refreshes.setdefault(key, [0, 0])
            done[0 if ok else 1] += 1

    def record_mismatch(self, text):
        with self.lock:
            self.mismatches.append(text)

    def record_writes(self, worker):
        with self.lock:
            self.writes["signups"].extend(worker.signups)
            self.writes["items"].update(
                {k: v for k, v in worker.items.items() if k not in worker.uncertain}
            )
            self.writes["deleted"].extend(i for i in worker.deleted if i not in worker.uncertain)
            self.writes["uncertain"].extend(sorted(worker.uncertain))

    def close(self):
        self.requests.close()
        with open(os.path.join(self.out, "writes.json"), "w") as f:
            json.dump(self.writes, f)
        with open(os.path.join(self.out, "extra.json"), "w") as f:
            json.dump(
                {"refreshes": self.refreshes, "mismatches": self.mismatches},
                f,
            )


def run(args):
    os.makedirs(args.out, exist_ok=True)
    state = State(args.state)
    sink = Sink(args.out)
    deadline = time.monotonic() + args.seconds
    workers = [Worker(i, args.base, state, sink, deadline) for i in range(args.workers)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    sink.close()


def percentile(values, p):
    if not values:
        return 0.0
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def psql(args, sql):
    result = subprocess.run(
        args.psql.split() + ["-c", sql], check=True, capture_output=True, text=True
    )
    return [line for line in result.stdout.splitlines() if line]


def report(args):
    lines = [json.loads(l) for l in open(os.path.join(args.out, "requests.jsonl"))]
    writes = json.load(open(os.path.join(args.out, "writes.json")))
    extra = json.load(open(os.path.join(args.out, "extra.json")))
    phases = []
    for l in lines:
        if l["phase"] not in phases:
            phases.append(l["phase"])
    print(f"{'phase':<22} {'requests':>8} {'failed':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  served by")
    failed_total = 0
    for phase in phases:
        of = [l for l in lines if l["phase"] == phase]
        failed = [l for l in of if not l["ok"]]
        failed_total += len(failed)
        lat = [l["latency"] * 1000 for l in of]
        served = {}
        for l in of:
            served[l["version"]] = served.get(l["version"], 0) + 1
        print(
            f"{phase:<22} {len(of):>8} {len(failed):>6} {percentile(lat, 50):>8.1f} "
            f"{percentile(lat, 99):>8.1f} {max(lat):>8.1f}  "
            + ", ".join(f"{v} {n}" for v, n in sorted(served.items()))
        )
    lat = [l["latency"] * 1000 for l in lines]
    print(
        f"{'all':<22} {len(lines):>8} {failed_total:>6} {percentile(lat, 50):>8.1f} "
        f"{percentile(lat, 99):>8.1f} {max(lat):>8.1f}"
    )
    print()
    by_action = {}
    for l in lines:
        by_action.setdefault(l["action"], []).append(l)
    print("by action (requests, p99 ms): " + ", ".join(
        f"{a} {len(of)}"
        + (f" ({sum(not l['ok'] for l in of)} failed)" if any(not l["ok"] for l in of) else "")
        + f" {percentile([l['latency'] * 1000 for l in of], 99):.0f}"
        for a, of in sorted(by_action.items())))
    print(
        "refresh tokens redeemed, issuer -> redeemer: "
        + ", ".join(f"{k} {ok}" + (f" ({bad} failed)" if bad else "") for k, (ok, bad) in sorted(extra["refreshes"].items()))
    )
    for l in [l for l in lines if not l["ok"]][:20]:
        print(f"FAILED {l['phase']} {l['action']} via {l['server']} ({l['version']}): {l['error']}")

    problems = failed_total + len(extra["mismatches"])
    for m in extra["mismatches"][:10]:
        print(f"MISMATCH {m}")

    # Every acknowledged write, in the database at the end.
    signup_ids = [i for i, _ in writes["signups"]]
    stored_users = set(psql(args, 'SELECT id FROM "user"'))
    lost_users = [i for i in signup_ids if i not in stored_users]
    stored_items = {}
    for row in psql(args, "SELECT id || '|' || title || '|' || coalesce(description, '') FROM item"):
        item_id, title, description = row.split("|", 2)
        stored_items[item_id] = (title, description)
    wrong_items = [
        i for i, want in writes["items"].items()
        if stored_items.get(i) != (want["title"], want["description"] or "")
    ]
    resurrected = [i for i in writes["deleted"] if i in stored_items]
    print(
        f"acknowledged writes: {len(signup_ids)} signups, {len(writes['items'])} items in their last "
        f"acknowledged state, {len(writes['deleted'])} deletions; missing or different in the "
        f"database: {len(lost_users)} signups, {len(wrong_items)} items, {len(resurrected)} deleted "
        f"items still there"
        + (f" ({len(writes['uncertain'])} items with an unanswered write not checked)" if writes["uncertain"] else "")
    )
    problems += len(lost_users) + len(wrong_items) + len(resurrected)
    print()
    print(f"requests sent: {len(lines)}, failed: {failed_total}")
    return 1 if problems else 0


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--base", required=True)
    r.add_argument("--state", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--workers", type=int, default=6)
    r.add_argument("--seconds", type=float, default=900)
    p = sub.add_parser("report")
    p.add_argument("--out", required=True)
    p.add_argument("--psql", required=True)
    args = parser.parse_args()
    if args.command == "run":
        run(args)
        return 0
    return report(args)


if __name__ == "__main__":
    sys.exit(main())
