"""Bounded load run against the real partner API server (``logistics-copilot serve``) on loopback.

::

    .venv/bin/python bench/load.py                                  # 60 s mixed + 15 s quiet + 30 s flood, temp SQLite
    .venv/bin/python bench/load.py --seconds 10 --quiet-seconds 5 --flood-seconds 5 --out /tmp/load-short
    .venv/bin/python bench/load.py --db-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres

What it does:

1. Starts ``python -m copilot --db URL serve --host 127.0.0.1 --port <free> --time-limit 1`` as a subprocess
   (its own session, stopped with SIGINT -> SIGTERM -> SIGKILL on every exit path: normal end, exception,
   Ctrl-C, SIGTERM, the wall-time cap). The database is a fresh SQLite file in a temporary folder, or with
   ``--db-url postgresql+psycopg://USER@127.0.0.1:5432/DB`` a scratch database created next to that one
   (``tools.sql.testing.scratch_database``) and dropped afterwards. Only loopback addresses are accepted,
   for the server and for the database.
2. Makes keys (``keys create --json``) for two partners, ``load-alpha`` (A) and ``load-bravo`` (B). Each
   imports its own copies of the worlds tiny, hangzhou-0501 (the demo world: drafts take real solver time)
   and jilin-1001, named ``alpha-*`` / ``bravo-*``, with every order id re-ided ``ALF-<id>`` / ``BRV-<id>``
   so that another partner's data is recognisable in any body; sets the clock to 08:30, plans
   and approves one plan of tiny and of hangzhou.
3. Phase "mixed": ``--clients`` concurrent clients (half per partner) loop for ``--seconds`` over a
   weighted mix: look-ups (world, a page of orders, one order, vehicles, KPIs, plans), drafts (plan_day with
   ``--draft-time-limit``, what-if, delay and window-change events), approval of the partner's own latest
   draft, and isolation probes (another partner's world, plan id and order id: each must answer 404).
   These clients honour ``Retry-After`` on a 429.
4. Phase "flood": partner B runs one quiet client (in a separate process, so the flood's event loop does
   not delay it) over a fixed read/write cycle for ``--quiet-seconds`` alone (the baseline), then again
   for ``--flood-seconds`` while partner A floods with ``--flood-clients`` clients sending heavy requests
   (plan_day and what-if on hangzhou, events) back to back. The figure is B's p95 under flood / B's quiet
   p95 (target <= ``--target-ratio``, 2.0). Flood clients do not honour ``Retry-After`` (they pause 20 ms
   after a 429 so the load generator itself does not spin on the shared CPUs) unless
   ``--flood-honor-retry-after``.

Isolation: every response body a client of one partner receives is searched for the other partner's
markers (its name, world names, ``BRV-``/``ALF-`` order ids); a marker that the request itself carried
(a probe asking for the other partner's world echoes its name in the 404) does not count.

Latency percentiles are over completed responses other than 429 (429s are counted apart); transport
errors (timeouts, refused connections) are counted per kind. Everything is bounded: ``--max-requests`` in
all, ``--max-wall-s`` for the whole run (default: the phases plus generous set-up and drain time), and
each request's ``--request-timeout``.

Writes ``--out DIR/load.json`` and ``DIR/load.md`` (plus ``DIR/server-errors.txt`` when the server logged
tracebacks or errors). Exit status: 0 when there was no 5xx, no isolation breach and the flood ratio is
within the target; 1 otherwise; 2 when the run could not be made (set-up failed, aborted, wall-time cap).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import math
import multiprocessing as mp
import os
import platform
import queue
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
CLOCK = "08:30"
CLOCK_MIN = 8 * 60 + 30
WORLD_SOURCES = {
    "tiny": ROOT / "tests/data/worlds/tiny",
    "hz": ROOT / "copilot/apps/demo/hangzhou-0501",
    "jilin": ROOT / "tests/data/worlds/jilin-1001",
}
PLANNED = ("tiny", "hz")  # worlds that get a clock, a plan and an approval (jilin has no orders, only history)


class WallTimeExceeded(KeyboardInterrupt):
    """Raised in the main thread when the run passes --max-wall-s (a KeyboardInterrupt, so asyncio lets it through)."""


class SetupFailed(RuntimeError):
    """The server or the partners' worlds could not be set up."""


# --------------------------------------------------------------------------------------------------
# Partners and their worlds
# --------------------------------------------------------------------------------------------------


@dataclass
class OrderRef:
    order_id: str
    tw_start: int | None  # minutes after local midnight
    tw_end: int | None


@dataclass
class WorldRef:
    key: str  # tiny, hz, jilin
    name: str  # as the partner names it
    orders: list[OrderRef]
    vehicles: list[str]
    upload: dict[str, Any]


@dataclass
class PartnerSpec:
    name: str  # partner name (keys create --partner)
    label: str  # prefix of its world names
    tag: str  # prefix of its order ids
    key: str = ""
    worlds: dict[str, WorldRef] = field(default_factory=dict)
    plan_ids: set[int] = field(default_factory=set)

    def world(self, key: str) -> WorldRef:
        return self.worlds[key]

    @property
    def world_names(self) -> list[str]:
        return [w.name for w in self.worlds.values()]

    @property
    def order_ids(self) -> set[str]:
        return {o.order_id for w in self.worlds.values() for o in w.orders}


def _minutes(iso: str) -> int | None:
    text = iso.strip()
    if len(text) < 16:
        return None
    return int(text[11:13]) * 60 + int(text[14:16])


def _hhmm(minutes: int) -> str:
    minutes = max(0, min(minutes, 23 * 60 + 59))
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def build_world(key: str, partner: PartnerSpec) -> WorldRef:
    """The partner's copy of a world: its upload body (order ids re-ided with the partner's tag) and its ids."""
    src = WORLD_SOURCES[key]
    meta = json.loads((src / "world.json").read_text(encoding="utf-8"))
    reader = csv.DictReader(io.StringIO((src / "orders.csv").read_text(encoding="utf-8")))
    fields = list(reader.fieldnames or [])
    rows = list(reader)
    orders: list[OrderRef] = []
    for row in rows:
        row["order_id"] = f"{partner.tag}-{row['order_id'].strip()}"
        if (row.get("pair_id") or "").strip():
            row["pair_id"] = f"{partner.tag}-{row['pair_id'].strip()}"
        orders.append(OrderRef(row["order_id"], _minutes(row.get("tw_start") or ""), _minutes(row.get("tw_end") or "")))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    vehicles_csv = (src / "vehicles.csv").read_text(encoding="utf-8")
    vehicles = [r["vehicle_id"] for r in csv.DictReader(io.StringIO(vehicles_csv))]
    name = f"{partner.label}-{key}"
    upload: dict[str, Any] = {
        "name": name,
        "world": {k: meta[k] for k in ("city", "date", "timezone")},
        "depots_csv": (src / "depots.csv").read_text(encoding="utf-8"),
        "vehicles_csv": vehicles_csv,
        "orders_csv": buf.getvalue(),
    }
    if (src / "history.csv").exists():
        upload["history_csv"] = (src / "history.csv").read_text(encoding="utf-8")
    return WorldRef(key=key, name=name, orders=orders, vehicles=vehicles, upload=upload)


# --------------------------------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100) of already sorted values."""
    if not sorted_values:
        return None
    if len(sorted_values) == 1:
        return sorted_values[0]
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


@dataclass
class KindStats:
    latencies: list[float] = field(default_factory=list)  # seconds, completed non-429 responses
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    no_retry_after: int = 0  # 429 replies without a Retry-After header

    def add(self, other: KindStats) -> None:
        self.latencies.extend(other.latencies)
        self.statuses.update(other.statuses)
        self.errors.update(other.errors)
        self.no_retry_after += other.no_retry_after

    def summary(self, wall_s: float | None = None) -> dict[str, Any]:
        lat = sorted(self.latencies)
        completed = sum(self.statuses.values())
        count = completed + sum(self.errors.values())
        out: dict[str, Any] = {
            "count": count,
            "2xx": sum(n for s, n in self.statuses.items() if 200 <= s < 300),
            "4xx": {str(s): n for s, n in sorted(self.statuses.items()) if 400 <= s < 500 and s != 429},
            "429": self.statuses.get(429, 0),
            "429_without_retry_after": self.no_retry_after,
            "5xx": {str(s): n for s, n in sorted(self.statuses.items()) if s >= 500},
            "other_status": {str(s): n for s, n in sorted(self.statuses.items()) if s < 200 or 300 <= s < 400},
            "transport_errors": dict(sorted(self.errors.items())),
            "latency_n": len(lat),
            "p50_ms": _ms(percentile(lat, 50)),
            "p95_ms": _ms(percentile(lat, 95)),
            "p99_ms": _ms(percentile(lat, 99)),
            "max_ms": _ms(lat[-1] if lat else None),
            "mean_ms": _ms(sum(lat) / len(lat) if lat else None),
        }
        if wall_s:
            out["rps"] = round(count / wall_s, 2)
        return out


class Stats:
    """Request outcomes by partner and kind."""

    def __init__(self) -> None:
        self.by: dict[tuple[str, str], KindStats] = {}

    def kind(self, partner: str, kind: str) -> KindStats:
        return self.by.setdefault((partner, kind), KindStats())

    def record(self, partner: str, kind: str, status: int | None, latency_s: float, error: str | None, retry_after: str | None = None) -> None:
        ks = self.kind(partner, kind)
        if error is not None:
            ks.errors[error] += 1
            return
        assert status is not None
        ks.statuses[status] += 1
        if status == 429:
            if retry_after is None:
                ks.no_retry_after += 1
        else:
            ks.latencies.append(latency_s)

    def merged(self, partner: str | None = None, kinds: set[str] | None = None) -> KindStats:
        out = KindStats()
        for (p, k), ks in self.by.items():
            if (partner is None or p == partner) and (kinds is None or k in kinds):
                out.add(ks)
        return out

    def table(self, wall_s: float | None = None, partner: str | None = None) -> dict[str, dict[str, Any]]:
        kinds = sorted({k for (p, k) in self.by if partner is None or p == partner})
        rows = {k: self.merged(partner, {k}).summary(wall_s) for k in kinds}
        rows["ALL"] = self.merged(partner).summary(wall_s)
        return rows

    def total(self) -> int:
        return sum(sum(ks.statuses.values()) + sum(ks.errors.values()) for ks in self.by.values())

    def count_5xx(self) -> int:
        return sum(n for ks in self.by.values() for s, n in ks.statuses.items() if s >= 500)

    def count_429(self, partner: str | None = None) -> int:
        return sum(ks.statuses.get(429, 0) for (p, _), ks in self.by.items() if partner is None or p == partner)


class Budget:
    """The cap on requests over the whole run."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.exhausted = False

    def take(self, n: int = 1) -> bool:
        if self.used + n > self.limit:
            self.exhausted = True
            return False
        self.used += n
        return True


class Isolation:
    """Searches every body a partner's client receives for the other partner's markers."""

    def __init__(self, me: PartnerSpec, other: PartnerSpec) -> None:
        self.me = me
        self.other = other
        self.pattern = re.compile(rf"[A-Za-z0-9._-]*(?:{re.escape(other.label)}|{re.escape(other.tag)}-)[A-Za-z0-9._-]*", re.IGNORECASE)
        self.other_orders = other.order_ids
        self.other_worlds = set(other.world_names)
        self.checked = 0
        self.breaches: list[dict[str, Any]] = []
        self.breach_count = 0

    def what(self, word: str) -> str:
        if word == self.other.name:
            return "partner name"
        if word in self.other_worlds or any(word.endswith("/" + w) or word == f"{self.other.name}/{w}" for w in self.other_worlds):
            return "world name"
        if word in self.other_orders:
            return "order id"
        return "other mention"

    def check(self, kind: str, method: str, path: str, request_text: str, status: int, body: str) -> None:
        self.checked += 1
        for m in self.pattern.finditer(body):
            word = m.group(0)
            if word and word in request_text:
                continue  # the request itself named it (a probe): an echo, not a leak
            self.breach_count += 1
            if len(self.breaches) < 50:
                start = max(0, m.start() - 80)
                self.breaches.append(
                    {
                        "partner": self.me.name,
                        "kind": kind,
                        "method": method,
                        "path": path,
                        "status": status,
                        "found": word,
                        "what": self.what(word),
                        "context": body[start : m.end() + 80],
                    }
                )


class Probes:
    """Requests for the other partner's things: each must answer 404."""

    def __init__(self) -> None:
        self.results: Counter[tuple[str, str]] = Counter()  # (kind, outcome)
        self.unexpected: list[dict[str, Any]] = []

    def note(self, partner: str, kind: str, path: str, status: int | None) -> None:
        if status is None:
            outcome = "transport_error"
        elif status == 404:
            outcome = "404"
        elif status == 429:
            outcome = "429 (not checked)"
        else:
            outcome = f"UNEXPECTED {status}"
            if len(self.unexpected) < 50:
                self.unexpected.append({"partner": partner, "kind": kind, "path": path, "status": status})
        self.results[(kind, outcome)] += 1

    @property
    def failures(self) -> int:
        return sum(n for (_, o), n in self.results.items() if o.startswith("UNEXPECTED"))

    def summary(self) -> dict[str, Any]:
        table: dict[str, dict[str, int]] = {}
        for (k, o), n in sorted(self.results.items()):
            table.setdefault(k, {})[o] = n
        return {"by_kind": table, "unexpected": self.unexpected, "failures": self.failures}


# --------------------------------------------------------------------------------------------------
# The HTTP side
# --------------------------------------------------------------------------------------------------


def make_client(base_url: str, key: str, connections: int, timeout_s: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        headers={"Authorization": f"Bearer {key}"},
        timeout=httpx.Timeout(timeout_s, connect=min(10.0, timeout_s)),
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        trust_env=False,  # never a proxy: loopback only
    )


@dataclass
class Runner:
    """What a client needs: its partner, HTTP client, the shared books and the run's bounds."""

    partner: PartnerSpec
    other: PartnerSpec
    client: httpx.AsyncClient
    stats: Stats
    isolation: Isolation
    probes: Probes
    budget: Budget
    rng: random.Random
    args: argparse.Namespace
    deadline: float
    honor_retry_after: bool = True

    async def call(self, kind: str, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> httpx.Response | None:
        """One request, recorded; None on a transport error or when the request cap is reached."""
        if not self.budget.take():
            return None
        headers = {"Idempotency-Key": uuid.uuid4().hex} if method != "GET" else None
        request_text = path + " " + json.dumps(params or {}) + " " + (json.dumps(body) if body is not None else "")
        t0 = time.perf_counter()
        try:
            resp = await self.client.request(method, path, json=body, params=params, headers=headers)
        except httpx.HTTPError as exc:
            self.stats.record(self.partner.name, kind, None, time.perf_counter() - t0, type(exc).__name__)
            return None
        latency = time.perf_counter() - t0
        self.stats.record(self.partner.name, kind, resp.status_code, latency, None, resp.headers.get("retry-after"))
        self.isolation.check(kind, method, path, request_text, resp.status_code, resp.text)
        if resp.status_code < 300:
            self._note_plan_ids(resp)
        return resp

    def _note_plan_ids(self, resp: httpx.Response) -> None:
        try:
            data = resp.json()
        except ValueError:
            return
        if isinstance(data, dict):
            for holder in (data, data.get("draft")):
                if isinstance(holder, dict) and isinstance(holder.get("plan_id"), int):
                    self.partner.plan_ids.add(holder["plan_id"])

    async def backoff(self, resp: httpx.Response | None) -> None:
        if resp is None or resp.status_code != 429:
            return
        wait = 0.02
        if self.honor_retry_after:
            try:
                wait = float(resp.headers.get("retry-after", "1"))
            except ValueError:
                wait = 1.0
            wait = max(0.02, min(wait, 5.0, self.deadline - time.monotonic()))
        await asyncio.sleep(wait)

    # -- the operations ---------------------------------------------------------------------

    def _world(self, keys: tuple[str, ...] = ("tiny", "hz", "jilin")) -> WorldRef:
        return self.partner.world(self.rng.choice(keys))

    async def get_world(self) -> httpx.Response | None:
        return await self.call("get_world", "GET", f"/v1/worlds/{self._world().name}")

    async def list_orders(self) -> httpx.Response | None:
        w = self._world(PLANNED)
        return await self.call("list_orders", "GET", f"/v1/worlds/{w.name}/orders", params={"offset": self.rng.randrange(0, max(1, len(w.orders))), "limit": 20})

    async def get_order(self) -> httpx.Response | None:
        w = self._world(PLANNED)
        o = self.rng.choice(w.orders)
        return await self.call("get_order", "GET", f"/v1/worlds/{w.name}/orders/{o.order_id}", params={"plan": self.rng.choice(("committed", "committed", "draft"))})

    async def list_vehicles(self) -> httpx.Response | None:
        return await self.call("list_vehicles", "GET", f"/v1/worlds/{self._world().name}/vehicles")

    async def kpis(self) -> httpx.Response | None:
        w = self._world(PLANNED)
        return await self.call("kpis", "GET", f"/v1/worlds/{w.name}/kpis", params={"plan": self.rng.choice(("committed", "committed", "draft"))})

    async def list_plans(self) -> httpx.Response | None:
        return await self.call("list_plans", "GET", f"/v1/worlds/{self._world(PLANNED).name}/plans")

    async def plan_day(self, world: str | None = None, time_limit_s: float | None = None) -> httpx.Response | None:
        w = self.partner.world(world) if world else self._world(PLANNED)
        return await self.call("plan_day", "POST", f"/v1/worlds/{w.name}/plans", {"time_limit_s": time_limit_s or self.args.draft_time_limit})

    async def what_if(self, world: str | None = None) -> httpx.Response | None:
        w = self.partner.world(world) if world else self._world(PLANNED)
        v = self.rng.choice(w.vehicles)
        change = self.rng.choice(
            (
                {"kind": "scale_demand", "factor": self.rng.choice((0.8, 1.2, 1.5))},
                {"kind": "add_vehicles", "count": 1, "like": v},
                {"kind": "delay_vehicle", "vehicle_id": v, "minutes": self.rng.choice((15, 30, 60))},
            )
        )
        return await self.call("what_if", "POST", f"/v1/worlds/{w.name}/what-if", {"changes": [change]})

    async def event_delay(self, world: str | None = None) -> httpx.Response | None:
        w = self.partner.world(world) if world else self._world(PLANNED)
        return await self.call(
            "event_delay", "POST", f"/v1/worlds/{w.name}/events/delay", {"vehicle_id": self.rng.choice(w.vehicles), "minutes": self.rng.randint(5, 15)}
        )

    async def event_window(self, world: str | None = None) -> httpx.Response | None:
        w = self.partner.world(world) if world else self._world(PLANNED)
        candidates = [o for o in w.orders if o.tw_start is not None and o.tw_end is not None and o.tw_start >= CLOCK_MIN + 60] or w.orders
        o = self.rng.choice(candidates)
        shift = self.rng.choice((-10, 0, 10))
        start = (o.tw_start or 10 * 60) + shift
        end = (o.tw_end or 12 * 60) + shift
        return await self.call(
            "event_window", "POST", f"/v1/worlds/{w.name}/events/window-change", {"order_id": o.order_id, "tw_start": _hhmm(start), "tw_end": _hhmm(end)}
        )

    async def approve_latest(self) -> httpx.Response | None:
        w = self._world(PLANNED)
        info = await self.call("get_world", "GET", f"/v1/worlds/{w.name}")
        if info is None or info.status_code != 200:
            return info
        drafts = info.json().get("draft_plan_ids") or []
        if not drafts:
            return info
        return await self.call("approve", "POST", f"/v1/worlds/{w.name}/plans/{drafts[-1]}/approve")

    async def probe(self) -> httpx.Response | None:
        """Ask for one of the other partner's things (world, plan id, order id): each must be 404."""
        choice = self.rng.randrange(3)
        own = self._world(PLANNED)
        if choice == 0 or (choice == 1 and not self.other.plan_ids):
            kind, path = "probe_foreign_world", f"/v1/worlds/{self.other.world(self.rng.choice(PLANNED)).name}"
        elif choice == 1:
            kind, path = "probe_foreign_plan", f"/v1/worlds/{own.name}/plans/{self.rng.choice(sorted(self.other.plan_ids))}"
        else:
            other_world = self.other.world(own.key)
            kind, path = "probe_foreign_order", f"/v1/worlds/{own.name}/orders/{self.rng.choice(other_world.orders).order_id}"
        resp = await self.call(kind, "GET", path)
        if resp is not None or not self.budget.exhausted:
            self.probes.note(self.partner.name, kind, path, None if resp is None else resp.status_code)
        return resp


MIXED_WEIGHTS: tuple[tuple[str, int], ...] = (
    ("get_world", 10),
    ("list_orders", 10),
    ("get_order", 10),
    ("list_vehicles", 8),
    ("kpis", 8),
    ("list_plans", 6),
    ("plan_day", 6),
    ("what_if", 4),
    ("event_delay", 3),
    ("event_window", 3),
    ("approve_latest", 3),
    ("probe", 3),
)

# The flood: partner A's heavy requests, on the 116-order world mostly.
FLOOD_WEIGHTS: tuple[tuple[str, int], ...] = (("plan_day_hz", 4), ("what_if_hz", 3), ("event_window_hz", 1), ("event_delay_hz", 1), ("plan_day_tiny", 1))


async def run_tasks(tasks: list[asyncio.Task[None]], timeout_s: float) -> None:
    """Wait for the clients; past ``timeout_s`` cancel the rest and fail; a client's exception is raised."""
    _, pending = await asyncio.wait(tasks, timeout=timeout_s)
    for t in pending:
        t.cancel()
    if pending:
        await asyncio.wait(pending)
        raise TimeoutError(f"{len(pending)} clients were still running {timeout_s:.0f} s after their phase began")
    for t in tasks:
        t.result()


async def mixed_client(r: Runner) -> None:
    names = [n for n, _ in MIXED_WEIGHTS]
    weights = [w for _, w in MIXED_WEIGHTS]
    while time.monotonic() < r.deadline and not r.budget.exhausted:
        op: Callable[[], Coroutine[Any, Any, httpx.Response | None]] = getattr(r, r.rng.choices(names, weights)[0])
        await r.backoff(await op())


async def flood_client(r: Runner, stop: asyncio.Event) -> None:
    names = [n for n, _ in FLOOD_WEIGHTS]
    weights = [w for _, w in FLOOD_WEIGHTS]
    ops: dict[str, Callable[[], Coroutine[Any, Any, httpx.Response | None]]] = {
        "plan_day_hz": lambda: r.plan_day("hz", r.args.flood_time_limit),
        "plan_day_tiny": lambda: r.plan_day("tiny", r.args.flood_time_limit),
        "what_if_hz": lambda: r.what_if("hz"),
        "event_window_hz": lambda: r.event_window("hz"),
        "event_delay_hz": lambda: r.event_delay("hz"),
    }
    while not stop.is_set() and time.monotonic() < r.deadline and not r.budget.exhausted:
        await r.backoff(await ops[r.rng.choices(names, weights)[0]]())


# -- the quiet client (a separate process) -------------------------------------------------------


def quiet_sequence(partner: PartnerSpec, draft_time_limit: float) -> list[tuple[str, str, str, Any, dict[str, Any] | None]]:
    """B's fixed cycle: 6 reads, 2 writes (a window change, which re-plans, and a short plan_day)."""
    tiny, hz = partner.world("tiny"), partner.world("hz")
    o2 = tiny.orders[1].order_id
    o4 = next((o for o in tiny.orders if o.order_id.endswith("-O4")), tiny.orders[-1])
    return [
        ("get_world", "GET", f"/v1/worlds/{tiny.name}", None, None),
        ("list_orders", "GET", f"/v1/worlds/{hz.name}/orders", None, {"limit": 20}),
        ("get_order", "GET", f"/v1/worlds/{tiny.name}/orders/{o2}", None, None),
        ("kpis", "GET", f"/v1/worlds/{tiny.name}/kpis", None, {"plan": "committed"}),
        ("event_window", "POST", f"/v1/worlds/{tiny.name}/events/window-change", {"order_id": o4.order_id, "tw_start": "14:00", "tw_end": "16:00"}, None),
        ("list_vehicles", "GET", f"/v1/worlds/{hz.name}/vehicles", None, None),
        ("get_order", "GET", f"/v1/worlds/{hz.name}/orders/{hz.orders[0].order_id}", None, None),
        ("plan_day", "POST", f"/v1/worlds/{tiny.name}/plans", {"time_limit_s": draft_time_limit}, None),
    ]


QUIET_WRITES = {"event_window", "plan_day"}


def quiet_worker(cfg: dict[str, Any], results: Any) -> None:
    """Entry point of the quiet-client process: runs the cycle for cfg['seconds'] and puts its samples on ``results``."""
    try:
        out = asyncio.run(_quiet_loop(cfg))
    except KeyboardInterrupt:
        out = {"samples": [], "interrupted": True}
    results.put(out)


async def _quiet_loop(cfg: dict[str, Any]) -> dict[str, Any]:
    seq = cfg["sequence"]
    pattern = re.compile(cfg["pattern"], re.IGNORECASE)
    samples: list[list[Any]] = []  # kind, status, latency_s, error, retry_after
    leaks: list[dict[str, Any]] = []
    checked = 0
    deadline = time.monotonic() + cfg["seconds"]
    i = 0
    window_flip = False
    async with httpx.AsyncClient(
        base_url=cfg["base_url"],
        headers={"Authorization": f"Bearer {cfg['key']}"},
        timeout=httpx.Timeout(cfg["timeout"], connect=min(10.0, cfg["timeout"])),
        trust_env=False,
    ) as client:
        while time.monotonic() < deadline and len(samples) < cfg["max_requests"]:
            kind, method, path, body, params = seq[i % len(seq)]
            i += 1
            if kind == "event_window":  # toggle between two windows so that each one is a real change
                window_flip = not window_flip
                body = {**body, "tw_end": "16:20" if window_flip else "16:00"}
            headers = {"Idempotency-Key": uuid.uuid4().hex} if method != "GET" else None
            t0 = time.perf_counter()
            try:
                resp = await client.request(method, path, json=body, params=params, headers=headers)
            except httpx.HTTPError as exc:
                samples.append([kind, None, time.perf_counter() - t0, type(exc).__name__, None])
                continue
            samples.append([kind, resp.status_code, time.perf_counter() - t0, None, resp.headers.get("retry-after")])
            checked += 1
            request_text = path + " " + json.dumps(params or {}) + " " + json.dumps(body)
            for m in pattern.finditer(resp.text):
                if m.group(0) not in request_text and len(leaks) < 50:
                    leaks.append(
                        {
                            "kind": kind,
                            "method": method,
                            "path": path,
                            "status": resp.status_code,
                            "found": m.group(0),
                            "context": resp.text[max(0, m.start() - 80) : m.end() + 80],
                        }
                    )
            await asyncio.sleep(cfg["pause"])
    return {"samples": samples, "leaks": leaks, "checked": checked}


def run_quiet(ctx: Any, cfg: dict[str, Any], timeout_s: float, cancel: threading.Event) -> dict[str, Any]:
    """Runs the quiet client in its own process and waits for its samples (at most ``timeout_s``, or until ``cancel``)."""
    q = ctx.Queue()
    p = ctx.Process(target=quiet_worker, args=(cfg, q), daemon=True)
    p.start()
    end = time.monotonic() + timeout_s
    try:
        while True:
            if cancel.is_set():
                raise RuntimeError("the quiet client was cancelled")
            if time.monotonic() > end:
                raise RuntimeError(f"the quiet client gave no result within {timeout_s:.0f} s")
            try:
                return dict(q.get(timeout=0.5))
            except queue.Empty:
                if not p.is_alive() and q.empty():
                    raise RuntimeError(f"the quiet client process exited with {p.exitcode} without a result") from None
    finally:
        p.join(5)
        if p.is_alive():
            p.terminate()
            p.join(5)


async def run_quiet_async(ctx: Any, cfg: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    cancel = threading.Event()
    try:
        return await asyncio.to_thread(run_quiet, ctx, cfg, timeout_s, cancel)
    except BaseException:
        cancel.set()
        raise


def quiet_stats(result: dict[str, Any], partner: str) -> Stats:
    st = Stats()
    for kind, status, latency, error, retry_after in result.get("samples", []):
        st.record(partner, kind, status, latency, error, retry_after)
    return st


# --------------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def check_db_url(url: str) -> None:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if u.get_backend_name() != "postgresql":
        raise SystemExit(
            f"--db-url: only PostgreSQL URLs are taken (a scratch database is made next to it); the default is a temporary SQLite file, got {u.get_backend_name()!r}"
        )
    if u.host not in (None, "", *LOOPBACK):
        raise SystemExit(f"--db-url: only a loopback database is allowed (127.0.0.1, localhost, ::1), got host {u.host!r}")


def proc_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process and its threads (Linux /proc)."""
    try:
        parts = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class Server:
    """``python -m copilot --db URL serve`` in its own session; always stopped by :meth:`stop`."""

    def __init__(self, db_url: str, home: Path, log_path: Path, time_limit: float) -> None:
        self.db_url = db_url
        self.port = free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.log_path = log_path
        self.env = {**os.environ, "LOGISTICS_COPILOT_HOME": str(home), "LOGISTICS_COPILOT_DB_URL": db_url, "PYTHONUNBUFFERED": "1"}
        for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            self.env.pop(var, None)
        self.cmd = [sys.executable, "-m", "copilot", "--db", db_url, "serve", "--host", HOST, "--port", str(self.port), "--time-limit", str(time_limit)]
        self.proc: subprocess.Popen[bytes] | None = None
        self.exit_code: int | None = None
        self.stop_how: str | None = None

    def cli(self, *argv: str) -> str:
        done = subprocess.run([sys.executable, "-m", "copilot", "--db", self.db_url, *argv], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise SetupFailed(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
        return done.stdout

    def create_key(self, partner: str) -> str:
        return str(json.loads(self.cli("keys", "create", "--partner", partner, "--scopes", "read,plan,dispatch", "--note", "bench/load.py", "--json"))["key"])

    def start(self) -> None:
        log = self.log_path.open("wb")
        try:
            self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            log.close()

    def wait_ready(self, key: str, timeout_s: float) -> float:
        t0 = time.monotonic()
        with httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=5.0, trust_env=False) as c:
            while time.monotonic() - t0 < timeout_s:
                if self.proc is None or self.proc.poll() is not None:
                    raise SetupFailed(f"the server exited with {None if self.proc is None else self.proc.returncode} before answering; log: {self.log_tail()}")
                try:
                    if c.get("/v1/me").status_code == 200:
                        return time.monotonic() - t0
                except httpx.HTTPError:
                    pass
                time.sleep(0.25)
        raise SetupFailed(f"the server did not answer /v1/me within {timeout_s:.0f} s; log: {self.log_tail()}")

    def cpu_s(self) -> float | None:
        return None if self.proc is None else proc_cpu_s(self.proc.pid)

    def log_tail(self, n: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGINT (uvicorn's graceful stop), then SIGTERM, then SIGKILL, to the server's own process group."""
        if self.proc is None or self.exit_code is not None:
            return
        for sig, wait in ((signal.SIGINT, 15.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            if self.proc.poll() is not None:
                break
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            self.stop_how = sig.name
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                continue
        self.exit_code = self.proc.poll()

    def log_errors(self) -> dict[str, Any]:
        """Tracebacks and ERROR lines in the server log (access lines are not errors)."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return {"tracebacks": 0, "error_lines": 0, "excerpt": []}
        tracebacks = sum(1 for ln in lines if ln.startswith("Traceback"))
        errors = [i for i, ln in enumerate(lines) if ln.startswith(("ERROR", "Traceback")) or " ERROR " in ln[:40]]
        excerpt: list[str] = []
        for i in errors[:20]:
            excerpt.extend(lines[i : i + 40])
            excerpt.append("-" * 40)
        access = [ln for ln in lines if '" 5' in ln and "HTTP/1.1" in ln]
        return {"tracebacks": tracebacks, "error_lines": len(errors), "access_5xx_lines": len(access), "lines": len(lines), "excerpt": excerpt[:800]}


# --------------------------------------------------------------------------------------------------
# Set-up, phases, report
# --------------------------------------------------------------------------------------------------


async def setup_partner(client: httpx.AsyncClient, p: PartnerSpec, time_limit: float) -> dict[str, Any]:
    """Import the partner's worlds, set the clock, plan and approve tiny and hangzhou."""
    out: dict[str, Any] = {}
    for key, w in p.worlds.items():
        t0 = time.perf_counter()
        r = await client.post("/v1/worlds", json=w.upload, headers={"Idempotency-Key": uuid.uuid4().hex})
        if r.status_code != 201:
            raise SetupFailed(f"{p.name}: import of {w.name} answered {r.status_code}: {r.text[:1000]}")
        info: dict[str, Any] = {"import_s": round(time.perf_counter() - t0, 3), "orders": r.json().get("orders")}
        if key in PLANNED:
            r = await client.put(f"/v1/worlds/{w.name}/clock", json={"at": CLOCK})
            if r.status_code != 200:
                raise SetupFailed(f"{p.name}: clock of {w.name} answered {r.status_code}: {r.text[:1000]}")
            t0 = time.perf_counter()
            r = await client.post(f"/v1/worlds/{w.name}/plans", json={"time_limit_s": time_limit})
            if r.status_code != 201:
                raise SetupFailed(f"{p.name}: plan of {w.name} answered {r.status_code}: {r.text[:1000]}")
            plan = r.json()
            info["plan_s"] = round(time.perf_counter() - t0, 3)
            r = await client.post(f"/v1/worlds/{w.name}/plans/{plan['plan_id']}/approve")
            if r.status_code != 200:
                raise SetupFailed(f"{p.name}: approval of plan {plan['plan_id']} of {w.name} answered {r.status_code}: {r.text[:1000]}")
            p.plan_ids.add(int(plan["plan_id"]))
            info.update(plan_id=plan["plan_id"], vehicles_used=plan["vehicles_used"], orders_served=plan["orders_served"], unassigned=len(plan["unassigned"]))
        out[w.name] = info
    r = await client.get("/v1/worlds")
    listed = sorted(x["world"] for x in r.json()["worlds"]) if r.status_code == 200 else None
    if listed != sorted(p.world_names):
        raise SetupFailed(f"{p.name}: GET /v1/worlds lists {listed}, expected exactly {sorted(p.world_names)}")
    return out


def _runner(
    p: PartnerSpec,
    other: PartnerSpec,
    client: httpx.AsyncClient,
    stats: Stats,
    iso: Isolation,
    probes: Probes,
    budget: Budget,
    seed: int,
    args: argparse.Namespace,
    deadline: float,
    honor: bool,
) -> Runner:
    return Runner(p, other, client, stats, iso, probes, budget, random.Random(seed), args, deadline, honor)


async def phase_mixed(
    base_url: str, a: PartnerSpec, b: PartnerSpec, iso: dict[str, Isolation], probes: Probes, budget: Budget, args: argparse.Namespace, server: Server
) -> dict[str, Any]:
    stats = Stats()
    n_a = args.clients // 2
    n_b = args.clients - n_a
    cpu0, t0 = server.cpu_s(), time.monotonic()
    deadline = t0 + args.seconds
    async with make_client(base_url, a.key, n_a + 2, args.request_timeout) as ca, make_client(base_url, b.key, n_b + 2, args.request_timeout) as cb:
        runners = [_runner(a, b, ca, stats, iso[a.name], probes, budget, args.seed * 1000 + i, args, deadline, True) for i in range(n_a)]
        runners += [_runner(b, a, cb, stats, iso[b.name], probes, budget, args.seed * 1000 + 500 + i, args, deadline, True) for i in range(n_b)]
        await run_tasks([asyncio.create_task(mixed_client(r)) for r in runners], args.seconds + args.request_timeout * 3 + 30)
    wall = time.monotonic() - t0
    cpu1 = server.cpu_s()
    return {
        "seconds": args.seconds,
        "wall_s": round(wall, 2),
        "clients": {a.name: n_a, b.name: n_b},
        "requests": stats.total(),
        "server_cpu_s": None if cpu0 is None or cpu1 is None else round(cpu1 - cpu0, 2),
        "by_kind": stats.table(wall),
        "by_partner": {p.name: stats.merged(p.name).summary(wall) for p in (a, b)},
        "_stats": stats,
    }


async def phase_flood(
    base_url: str, a: PartnerSpec, b: PartnerSpec, iso: dict[str, Isolation], probes: Probes, budget: Budget, args: argparse.Namespace, server: Server
) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    seq = quiet_sequence(b, args.draft_time_limit)
    pattern = rf"[A-Za-z0-9._-]*(?:{re.escape(a.label)}|{re.escape(a.tag)}-)[A-Za-z0-9._-]*"

    def cfg(seconds: float) -> dict[str, Any]:
        cap = max(0, min(budget.limit - budget.used, 5000))
        return {
            "base_url": base_url,
            "key": b.key,
            "sequence": seq,
            "seconds": seconds,
            "pause": args.quiet_pause,
            "timeout": args.request_timeout,
            "max_requests": cap,
            "pattern": pattern,
        }

    out: dict[str, Any] = {"quiet_pause_s": args.quiet_pause, "sequence": [f"{m} {path}" for _, m, path, _, _ in seq]}
    # 1. the baseline: B alone
    cpu0 = server.cpu_s()
    res_q = await run_quiet_async(ctx, cfg(args.quiet_seconds), args.quiet_seconds + args.request_timeout * 2 + 60)
    cpu1 = server.cpu_s()
    budget.take(len(res_q.get("samples", [])))
    quiet = quiet_stats(res_q, b.name)
    # 2. the flood: A floods, B repeats the same cycle
    flood_stats = Stats()
    stop = asyncio.Event()
    t_flood = time.monotonic()
    total_flood_s = args.flood_warmup + args.flood_seconds
    deadline = t_flood + total_flood_s + args.request_timeout + 30
    async with make_client(base_url, a.key, args.flood_clients + 2, args.request_timeout) as ca:
        runners = [
            _runner(a, b, ca, flood_stats, iso[a.name], probes, budget, args.seed * 7919 + i, args, deadline, args.flood_honor_retry_after)
            for i in range(args.flood_clients)
        ]
        tasks = [asyncio.create_task(flood_client(r, stop)) for r in runners]
        try:
            await asyncio.sleep(args.flood_warmup)
            cpu2 = server.cpu_s()
            t_measure = time.monotonic()
            res_f = await run_quiet_async(ctx, cfg(args.flood_seconds), args.flood_seconds + args.request_timeout * 2 + 60)
            measure_wall = time.monotonic() - t_measure
            cpu3 = server.cpu_s()
        finally:
            stop.set()
        await run_tasks(tasks, args.request_timeout + 30)
    flood_wall = time.monotonic() - t_flood
    budget.take(len(res_f.get("samples", [])))
    under = quiet_stats(res_f, b.name)

    for res in (res_q, res_f):
        iso[b.name].checked += res.get("checked", 0)
        for leak in res.get("leaks", []):
            iso[b.name].breach_count += 1
            if len(iso[b.name].breaches) < 50:
                iso[b.name].breaches.append({"partner": b.name, **leak, "what": iso[b.name].what(leak["found"])})

    def p95(st: Stats, kinds: set[str] | None = None) -> float | None:
        return percentile(sorted(st.merged(b.name, kinds).latencies), 95)

    reads = {s[0] for s in seq} - QUIET_WRITES
    ratios: dict[str, float | None] = {}
    for label, kinds in (("all", None), ("reads", reads), ("writes", QUIET_WRITES)):
        q95, f95 = p95(quiet, kinds), p95(under, kinds)
        ratios[label] = None if not q95 or f95 is None else round(f95 / q95, 3)
    out.update(
        quiet_seconds=args.quiet_seconds,
        flood_seconds=args.flood_seconds,
        flood_warmup_s=args.flood_warmup,
        flood_clients=args.flood_clients,
        flood_honor_retry_after=args.flood_honor_retry_after,
        baseline={
            "by_kind": quiet.table(args.quiet_seconds),
            "p95_ms": _ms(p95(quiet)),
            "server_cpu_s": _delta(cpu0, cpu1),
            "interrupted": res_q.get("interrupted", False),
        },
        under_flood={
            "by_kind": under.table(measure_wall),
            "p95_ms": _ms(p95(under)),
            "server_cpu_s": _delta(cpu2, cpu3),
            "interrupted": res_f.get("interrupted", False),
        },
        flood_a={"wall_s": round(flood_wall, 2), "requests": flood_stats.total(), "by_kind": flood_stats.table(flood_wall), "429": flood_stats.count_429(a.name)},
        ratio=ratios["all"],
        ratio_reads=ratios["reads"],
        ratio_writes=ratios["writes"],
        b_429_under_flood=under.count_429(b.name),
        _stats=(quiet, under, flood_stats),
    )
    return out


def _ms(v: float | None) -> float | None:
    return None if v is None else round(v * 1000, 1)


def _delta(x: float | None, y: float | None) -> float | None:
    return None if x is None or y is None else round(y - x, 2)


def git_state() -> dict[str, Any]:
    def git(*argv: str) -> str:
        try:
            return subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {"head": git("rev-parse", "--short", "HEAD"), "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, dict):
        return " ".join(f"{k}:{n}" for k, n in v.items()) or "0"
    return str(v)


def md_table(rows: dict[str, dict[str, Any]]) -> list[str]:
    head = "| kind | n | 2xx | 4xx | 429 | 5xx | transport errors | p50 ms | p95 ms | p99 ms | max ms | rps |"
    lines = [head, "|---|---:|---:|---|---:|---|---|---:|---:|---:|---:|---:|"]
    for kind, s in rows.items():
        name = f"**{kind}**" if kind == "ALL" else kind
        lines.append(
            f"| {name} | {s['count']} | {s['2xx']} | {_fmt(s['4xx'])} | {s['429']} | {_fmt(s['5xx'])} | {_fmt(s['transport_errors'])} | "
            f"{_fmt(s['p50_ms'])} | {_fmt(s['p95_ms'])} | {_fmt(s['p99_ms'])} | {_fmt(s['max_ms'])} | {_fmt(s.get('rps'))} |"
        )
    return lines


def write_markdown(report: dict[str, Any], path: Path) -> None:
    cfg = report["config"]
    L: list[str] = ["# Partner API load run (bench/load.py)", ""]
    L.append(
        f"{report['started_at']}, {cfg['db_backend']} store, server `--time-limit {cfg['server_time_limit']}`, {report['host']['cpus']} CPUs, "
        f"load average {report['host']['loadavg_before']} before / {report['host']['loadavg_after']} after, "
        f"git {report['git']['head']}{' (dirty)' if report['git']['dirty'] else ''}."
    )
    L.append(f"Wall {report['wall_s']} s, {report['requests_total']} requests (cap {cfg['max_requests']}{', REACHED' if report['request_cap_reached'] else ''}).")
    L.append("")
    v = report["verdict"]
    L.append(f"**Verdict: {'PASS' if v['ok'] else 'FAIL'}**" + ("" if v["ok"] else ": " + "; ".join(v["failures"])))
    for w in v["warnings"]:
        L.append(f"- warning: {w}")
    L.append("")
    if report.get("aborted"):
        L += [f"**Aborted:** {report['aborted']}", ""]
    L.append("Latency percentiles are over completed responses other than 429; 4xx and 5xx columns list status:count.")
    L.append("")
    mixed = report["phases"].get("mixed")
    if mixed:
        L += [f"## Mixed: {sum(mixed['clients'].values())} clients ({', '.join(f'{k} {n}' for k, n in mixed['clients'].items())}) for {mixed['seconds']} s", ""]
        L.append(f"{mixed['requests']} requests in {mixed['wall_s']} s; server CPU {mixed['server_cpu_s']} s.")
        L.append("")
        L += md_table(mixed["by_kind"])
        L += ["", "By partner:", ""]
        L += md_table(mixed["by_partner"])
        L.append("")
    flood = report["phases"].get("flood")
    if flood:
        L += [f"## Flood: {flood['flood_clients']} clients of A against B's quiet client", ""]
        L.append(f"B's cycle (one request every {flood['quiet_pause_s']} s after the previous reply): " + ", ".join(f"`{s}`" for s in flood["sequence"]) + ".")
        L.append("")
        L.append("| | B quiet (baseline) | B under flood | ratio | target |")
        L.append("|---|---:|---:|---:|---:|")
        qb, uf = flood["baseline"]["by_kind"]["ALL"], flood["under_flood"]["by_kind"]["ALL"]
        L.append(
            f"| p95 ms, all of B's cycle | {_fmt(flood['baseline']['p95_ms'])} | {_fmt(flood['under_flood']['p95_ms'])} "
            f"| **{_fmt(flood['ratio'])}** | <= {cfg['target_ratio']} |"
        )
        L.append(f"| p95 ratio, reads / writes | | | {_fmt(flood['ratio_reads'])} / {_fmt(flood['ratio_writes'])} | |")
        L.append(f"| requests | {qb['count']} | {uf['count']} | | |")
        L.append(f"| server CPU s | {_fmt(flood['baseline']['server_cpu_s'])} | {_fmt(flood['under_flood']['server_cpu_s'])} | | |")
        L.append("")
        L.append(
            f"A's flood: {flood['flood_a']['requests']} requests in {flood['flood_a']['wall_s']} s, **{flood['flood_a']['429']} answered 429**; "
            f"B got {flood['b_429_under_flood']} 429s under flood."
        )
        L += ["", "### B quiet (baseline)", "", *md_table(flood["baseline"]["by_kind"])]
        L += ["", "### B under flood", "", *md_table(flood["under_flood"]["by_kind"])]
        L += ["", "### A's flood", "", *md_table(flood["flood_a"]["by_kind"])]
        L.append("")
    iso = report["isolation"]
    L += ["## Isolation", ""]
    L.append(f"{iso['bodies_checked']} response bodies searched for the other partner's markers: **{iso['breaches']} breaches**.")
    L.append("")
    if iso["probes"]["by_kind"]:
        L.append("| probe (must be 404) | outcomes |")
        L.append("|---|---|")
        for k, outcomes in iso["probes"]["by_kind"].items():
            L.append(f"| {k} | {_fmt(outcomes)} |")
        L.append("")
    for b in iso["breach_examples"][:10]:
        L.append(f"- {b['partner']} {b['method']} {b['path']} ({b['status']}): found {b['found']!r} ({b['what']})")
    srv = report.get("server", {})
    log = srv.get("log", {})
    L += ["", "## Server", ""]
    L.append(
        f"`{' '.join(cfg['server_cmd'])}`; stopped with {srv.get('stopped_with')}, exit code {srv.get('exit_code')}; "
        f"log: {log.get('tracebacks')} tracebacks, {log.get('error_lines')} error lines, {log.get('access_5xx_lines')} 5xx access lines."
    )
    L.append("")
    path.write_text("\n".join(L) + "\n", encoding="utf-8")


def _strip_private(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip_private(v) for k, v in obj.items() if not k.startswith("_")}
    if isinstance(obj, list):
        return [_strip_private(v) for v in obj]
    return obj


def verdict(report: dict[str, Any], stats_5xx: int, args: argparse.Namespace) -> dict[str, Any]:
    failures: list[str] = []
    warnings: list[str] = []
    if report.get("aborted"):
        failures.append(f"aborted: {report['aborted']}")
    if stats_5xx:
        failures.append(f"{stats_5xx} responses with a 5xx status")
    iso = report["isolation"]
    if iso["breaches"]:
        failures.append(f"{iso['breaches']} isolation breaches in response bodies")
    if iso["probes"]["failures"]:
        failures.append(f"{iso['probes']['failures']} probes for another partner's world/plan/order did not answer 404")
    flood = report["phases"].get("flood")
    if flood:
        if flood["ratio"] is None:
            failures.append("no flood ratio (no completed requests of B in one of the two runs)")
        elif flood["ratio"] > args.target_ratio:
            failures.append(f"B's p95 under flood is {flood['ratio']}x its quiet p95 (target <= {args.target_ratio})")
        for part in ("reads", "writes"):
            r = flood[f"ratio_{part}"]
            if r is not None and r > args.target_ratio:
                warnings.append(f"B's {part} alone: p95 under flood is {r}x the quiet p95 (the overall p95 is set by the slowest requests of the cycle)")
        if flood["b_429_under_flood"]:
            warnings.append(f"quiet partner B got {flood['b_429_under_flood']} 429s while A flooded")
        if not flood["flood_a"]["429"]:
            warnings.append("A's flood never got a 429 (no rate or concurrency limit in effect)")
    errors = sum(sum(ks.errors.values()) for st in report.get("_all_stats", []) for ks in st.by.values())
    if errors:
        warnings.append(f"{errors} transport errors (timeouts or dropped connections; see the tables)")
    no_ra = sum(ks.no_retry_after for st in report.get("_all_stats", []) for ks in st.by.values())
    if no_ra:
        warnings.append(f"{no_ra} 429 replies without a Retry-After header")
    if report.get("request_cap_reached"):
        warnings.append("the request cap was reached; phases ended early")
    srv_log = report.get("server", {}).get("log", {})
    if srv_log.get("tracebacks"):
        warnings.append(f"the server logged {srv_log['tracebacks']} tracebacks (server-errors.txt)")
    return {"ok": not failures, "failures": failures, "warnings": warnings}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="See the module docstring (bench/load.py) for what is measured.",
    )
    p.add_argument("--seconds", type=float, default=60.0, help="length of the mixed phase (default 60)")
    p.add_argument("--clients", type=int, default=50, help="concurrent clients in the mixed phase, half per partner (default 50)")
    p.add_argument("--quiet-seconds", type=float, default=15.0, help="B's quiet baseline before the flood (default 15)")
    p.add_argument("--flood-seconds", type=float, default=30.0, help="B's measurement under A's flood (default 30)")
    p.add_argument("--flood-clients", type=int, default=40, help="A's flooding clients (default 40)")
    p.add_argument("--flood-warmup", type=float, default=2.0, help="seconds the flood runs before B's measurement starts (default 2)")
    p.add_argument("--flood-honor-retry-after", action="store_true", help="flood clients wait Retry-After (capped at 5 s) after a 429 instead of 20 ms")
    p.add_argument("--quiet-pause", type=float, default=0.2, help="B's pause between its requests (default 0.2 s)")
    p.add_argument("--target-ratio", type=float, default=2.0, help="largest acceptable B p95 under flood / quiet (default 2.0)")
    p.add_argument(
        "--db-url",
        help="PostgreSQL URL on loopback, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres: "
        "a scratch database is made next to it and dropped (default: a temporary SQLite file)",
    )
    p.add_argument("--out", type=Path, default=ROOT / "bench/results/load", help="folder for load.json and load.md (default bench/results/load)")
    p.add_argument("--server-time-limit", type=float, default=1.0, help="the server's --time-limit (event re-plans, what-if) (default 1)")
    p.add_argument("--draft-time-limit", type=float, default=0.5, help="time_limit_s of the mixed clients' and B's plan_day (default 0.5)")
    p.add_argument("--flood-time-limit", type=float, default=1.0, help="time_limit_s of the flood's plan_day (default 1)")
    p.add_argument("--request-timeout", type=float, default=60.0, help="per request (default 60 s)")
    p.add_argument("--max-requests", type=int, default=50_000, help="cap on all requests of the run (default 50000)")
    p.add_argument("--max-wall-s", type=float, default=None, help="cap on the whole run (default: the phases + set-up + drain time)")
    p.add_argument("--startup-timeout", type=float, default=180.0, help="how long the server may take to answer (default 180 s)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.clients < 2 or args.flood_clients < 1:
        p.error("--clients must be >= 2 and --flood-clients >= 1")
    for name in ("seconds", "quiet_seconds", "flood_seconds", "request_timeout"):
        if getattr(args, name) <= 0:
            p.error(f"--{name.replace('_', '-')} must be positive")
    if args.max_wall_s is None:
        args.max_wall_s = args.startup_timeout + 240 + args.seconds + args.quiet_seconds + args.flood_warmup + args.flood_seconds + 6 * args.request_timeout + 120
    if args.db_url:
        check_db_url(args.db_url)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out_dir: Path = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    report: dict[str, Any] = {
        "started_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "host": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(), "loadavg_before": [round(x, 2) for x in os.getloadavg()]},
        "git": git_state(),
        "phases": {},
    }
    report["config"]["db_backend"] = "postgresql" if args.db_url else "sqlite"
    if args.db_url:
        report["config"]["db_url"] = re.sub(r"://([^:@/]+):[^@/]*@", r"://\1:***@", args.db_url)

    timed_out = threading.Event()

    def on_wall() -> None:
        timed_out.set()
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGALRM)

    def on_alarm(_sig: int, _frame: Any) -> None:
        raise WallTimeExceeded(f"the wall-time cap of {args.max_wall_s:.0f} s was reached")

    def on_term(_sig: int, _frame: Any) -> None:
        raise KeyboardInterrupt("SIGTERM")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    watchdog = threading.Timer(args.max_wall_s, on_wall)
    watchdog.daemon = True
    watchdog.start()

    a = PartnerSpec(name="load-alpha", label="alpha", tag="ALF")
    b = PartnerSpec(name="load-bravo", label="bravo", tag="BRV")
    for p in (a, b):
        for key in WORLD_SOURCES:
            p.worlds[key] = build_world(key, p)
    iso = {a.name: Isolation(a, b), b.name: Isolation(b, a)}
    probes = Probes()
    budget = Budget(args.max_requests)
    all_stats: list[Stats] = []
    server: Server | None = None
    with tempfile.TemporaryDirectory(prefix="lc-load-") as tmp, _database(args.db_url, Path(tmp)) as db_url:
        try:
            server = Server(db_url, Path(tmp) / "home", Path(tmp) / "server.log", args.server_time_limit)
            report["config"]["server_cmd"] = [Path(x).name if i == 0 else x for i, x in enumerate(server.cmd)]
            report["config"]["server_cmd"][4] = "<db url>"
            print(f"[load] keys, then {' '.join(report['config']['server_cmd'])}", file=sys.stderr)
            a.key = server.create_key(a.name)
            b.key = server.create_key(b.name)
            server.start()
            ready_s = server.wait_ready(a.key, args.startup_timeout)
            print(f"[load] server up on {server.base_url} after {ready_s:.1f} s; importing worlds", file=sys.stderr)
            report["setup"] = {"server_ready_s": round(ready_s, 2), **asyncio.run(_setup(server.base_url, a, b, args))}
            print(f"[load] mixed phase: {args.clients} clients for {args.seconds:.0f} s", file=sys.stderr)
            mixed = asyncio.run(phase_mixed(server.base_url, a, b, iso, probes, budget, args, server))
            all_stats.append(mixed["_stats"])
            report["phases"]["mixed"] = mixed
            print(
                f"[load] mixed: {mixed['requests']} requests; flood phase: B quiet {args.quiet_seconds:.0f} s, "
                f"then {args.flood_clients} A clients for {args.flood_warmup + args.flood_seconds:.0f} s",
                file=sys.stderr,
            )
            flood = asyncio.run(phase_flood(server.base_url, a, b, iso, probes, budget, args, server))
            all_stats.extend(flood["_stats"])
            report["phases"]["flood"] = flood
        except WallTimeExceeded as exc:
            report["aborted"] = str(exc)
        except KeyboardInterrupt as exc:
            report["aborted"] = "wall-time cap reached" if timed_out.is_set() else f"interrupted ({exc or 'Ctrl-C'})"
        except SetupFailed as exc:
            report["aborted"] = f"set-up failed: {exc}"
        except Exception as exc:  # the report must still be written and the server stopped
            report["aborted"] = f"{type(exc).__name__}: {exc}"
        finally:
            watchdog.cancel()
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
            if server is not None:
                print("[load] stopping the server", file=sys.stderr)
                server.stop()
                logs = server.log_errors()
                report["server"] = {"exit_code": server.exit_code, "stopped_with": server.stop_how, "log": {k: v for k, v in logs.items() if k != "excerpt"}}
                errors_file = out_dir / "server-errors.txt"
                if logs.get("excerpt"):
                    errors_file.write_text("\n".join(logs["excerpt"]) + "\n", encoding="utf-8")
                elif errors_file.exists():
                    errors_file.unlink()
                if report.get("aborted"):
                    report["server"]["log_tail"] = server.log_tail(4000)
    report["wall_s"] = round(time.monotonic() - started, 1)
    report["host"]["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    report["requests_total"] = budget.used
    report["request_cap_reached"] = budget.exhausted
    report["isolation"] = {
        "bodies_checked": sum(i.checked for i in iso.values()),
        "breaches": sum(i.breach_count for i in iso.values()),
        "breach_examples": [x for i in iso.values() for x in i.breaches][:50],
        "probes": probes.summary(),
    }
    report["_all_stats"] = all_stats
    n5xx = sum(st.count_5xx() for st in all_stats)
    report["verdict"] = verdict(report, n5xx, args)
    report["total_5xx"] = n5xx
    clean = _strip_private(report)
    (out_dir / "load.json").write_text(json.dumps(clean, indent=2) + "\n", encoding="utf-8")
    write_markdown(clean, out_dir / "load.md")
    v = report["verdict"]
    print(
        f"[load] {'PASS' if v['ok'] else 'FAIL'}: {'; '.join(v['failures']) or 'no 5xx, no breach, flood ratio within target'}; wrote {out_dir / 'load.md'}",
        file=sys.stderr,
    )
    for w in v["warnings"]:
        print(f"[load] warning: {w}", file=sys.stderr)
    return 2 if report.get("aborted") else 0 if v["ok"] else 1


async def _setup(base_url: str, a: PartnerSpec, b: PartnerSpec, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    async with make_client(base_url, a.key, 4, max(args.request_timeout, 120)) as ca, make_client(base_url, b.key, 4, max(args.request_timeout, 120)) as cb:
        t0 = time.perf_counter()
        res = await asyncio.gather(setup_partner(ca, a, args.server_time_limit), setup_partner(cb, b, args.server_time_limit))
        out["worlds"] = {a.name: res[0], b.name: res[1]}
        out["setup_s"] = round(time.perf_counter() - t0, 2)
        # The first isolation check: A asking for B's world by name, and the other way round.
        for c, other in ((ca, b), (cb, a)):
            for w in other.world_names:
                r = await c.get(f"/v1/worlds/{w}")
                if r.status_code != 404:
                    raise SetupFailed(f"asking for another partner's world {w} answered {r.status_code}, expected 404: {r.text[:500]}")
    return out


class _database:
    """The run's database URL: a temporary SQLite file, or a scratch PostgreSQL database (dropped afterwards)."""

    def __init__(self, admin_url: str | None, tmp: Path) -> None:
        self.admin_url = admin_url
        self.tmp = tmp
        self._cm: Any = None

    def __enter__(self) -> str:
        if not self.admin_url:
            return f"sqlite:///{(self.tmp / 'load.sqlite3').as_posix()}"
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        from tools.sql.testing import scratch_database

        self._cm = scratch_database(self.admin_url, prefix="lc_load_")
        return str(self._cm.__enter__())

    def __exit__(self, *exc: Any) -> None:
        if self._cm is not None:
            self._cm.__exit__(*exc)


if __name__ == "__main__":
    raise SystemExit(main())
