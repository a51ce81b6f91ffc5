"""Fault suite: kill -9 the partner API server at each write step of each write, restart it, and prove the store
is either before or after the request (never between) and that a retry with the same Idempotency-Key completes.

    python bench/faults.py --out bench/results/faults                      # SQLite and PostgreSQL, every operation
    python bench/faults.py --backends sqlite --ops add_order,approve        # a subset

How: for each (backend, operation, crash point, n) a fresh database gets a partner key and the tiny world,
planned and dispatched (in process, no server). The real server (``python -m copilot serve``) is started with
``LOGISTICS_COPILOT_CRASH_AT=<point>:<n>`` (:mod:`copilot.core.faults`): it SIGKILLs itself on the n-th passage
through the point (``planning``: solving has begun; ``before_commit`` / ``after_commit``: around every write
transaction, the idempotency claim included). The store is compared with its state before the request and
with the state the same request leaves on a clean run ("after"): it must equal one of them (worlds, orders
with windows, vehicles, plans by status and note, audit actions). Then a normal server is started and the
request retried with the same key until it is answered (a claim left by the dead request is taken over once
its lease, 2 s here, has run out); the retry must succeed and leave the "after" state, applied once. n counts
up until the request completes without passing the point again, so every write step of every operation is hit.

Writes ``faults.json`` and ``faults.md`` (a row per case) to --out; exits 1 when any case fails.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from copilot.apps.partner.tenancy import create_key, stored_name  # noqa: E402
from copilot.apps.wiring import make_context, make_store  # noqa: E402
from tools import lifecycle  # noqa: E402
from tools.planning import PlanSettings  # noqa: E402
from tools.sql.partners import SqlPartnerStore  # noqa: E402
from tools.sql.schema import audit_log, idempotency_keys, order_windows, orders, plans, vehicles, worlds  # noqa: E402
from tools.world_io import read_world  # noqa: E402

TINY = ROOT / "tests" / "data" / "worlds" / "tiny"
PG_ADMIN_URL = os.environ.get("LOGISTICS_COPILOT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
LEASE_S = 2
POINTS = ("planning", "before_commit", "after_commit")


def _upload(name: str) -> dict[str, Any]:
    meta = json.loads((TINY / "world.json").read_text())
    return {
        "name": name,
        "world": {k: meta[k] for k in ("city", "date", "timezone")},
        **{f"{n}_csv": (TINY / f"{n}.csv").read_text() for n in ("depots", "vehicles", "orders")},
    }


# (name, method, path, body); "{draft}" is the id of a draft the setup leaves
OPERATIONS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "import": ("POST", "/v1/worlds", _upload("second")),
    "plan": ("POST", "/v1/worlds/tiny/plans", {"time_limit_s": 1}),
    "approve": ("POST", "/v1/worlds/tiny/plans/{draft}/approve", None),
    "discard": ("POST", "/v1/worlds/tiny/plans/{draft}/discard", None),
    "add_order": ("POST", "/v1/worlds/tiny/orders", {"order_id": "NEW1", "lat": 30.431, "lng": 120.271, "demand": 1, "tw_start": "12:00", "tw_end": "16:00"}),
    "update_order": ("PATCH", "/v1/worlds/tiny/orders/O4", {"demand": 2}),
    "cancel": ("POST", "/v1/worlds/tiny/orders/O4/cancel", None),
    "breakdown": ("POST", "/v1/worlds/tiny/events/breakdown", {"vehicle_id": "V3", "from_time": "12:00"}),
    "delay": ("POST", "/v1/worlds/tiny/events/delay", {"vehicle_id": "V1", "minutes": 20}),
    "window_change": ("POST", "/v1/worlds/tiny/events/window-change", {"order_id": "O4", "tw_start": "14:30", "tw_end": "16:30"}),
    "pin": ("POST", "/v1/worlds/tiny/events/pin", {"order_id": "O4", "vehicle_id": "V2"}),
    "move": ("POST", "/v1/worlds/tiny/events/move", {"order_id": "O5", "vehicle_id": "V2"}),
    "clock": ("PUT", "/v1/worlds/tiny/clock", {"at": "10:00"}),
}


@dataclass
class Case:
    backend: str
    op: str
    point: str
    n: int
    crashed: bool = False
    state_after_crash: str = ""  # before / after / BETWEEN
    retry_status: int | None = None
    retry_replayed: bool = False
    retry_attempts: int = 0
    final_ok: bool = False
    ok: bool = False
    detail: str = ""


# -- databases and state ----------------------------------------------------------------------


@contextlib.contextmanager
def fresh_database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="faults-") as tmp:
            yield f"sqlite:///{Path(tmp, 'copilot.sqlite3').as_posix()}"
    else:
        from tools.sql.testing import scratch_database

        with scratch_database(PG_ADMIN_URL, prefix="lc_faults_") as url:
            yield url


def setup(url: str) -> tuple[str, dict[str, str]]:
    """A partner key and the tiny world, planned and dispatched, with a draft and the clock at 09:30."""
    store = make_store(url)
    try:
        key, _ = create_key(SqlPartnerStore(store), "acme", ["read", "plan", "dispatch"])
        world = read_world(TINY)
        store.import_world(replace(world, name=stored_name("acme", "tiny")))
        ctx = make_context(store, stored_name("acme", "tiny"), settings=PlanSettings(time_limit_s=1.0))
        lifecycle.approve_plan(ctx, lifecycle.PlanRef(plan_id=lifecycle.plan_day(ctx).plan_id))
        lifecycle.set_clock(ctx, lifecycle.ClockRequest(at="09:30"))
        draft = lifecycle.plan_day(ctx).plan_id
        return key, {"draft": str(draft)}
    finally:
        store.close()


def snapshot(url: str) -> dict[str, Any]:
    """The store's state in the terms a request may change (ids, facts, plan statuses, audit actions)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:

            names = {r.id: r.name for r in conn.execute(select(worlds.c.id, worlds.c.name))}

            def rows(table: Any, *order: Any, drop: tuple[str, ...] = ()) -> list[dict[str, Any]]:
                # row ids are left out: a sequence value taken by a rolled-back insert is not given back (PostgreSQL)
                out = []
                for r in conn.execute(select(table).order_by(*order)).mappings():
                    row = {k: v for k, v in r.items() if k not in drop and not (table is worlds and k == "id")}
                    if "world_id" in row:
                        row["world_id"] = names.get(row["world_id"], row["world_id"])
                    out.append(row)
                return sorted(out, key=lambda d: json.dumps(d, sort_keys=True, default=str))

            return {
                "worlds": rows(worlds, worlds.c.name, drop=("created_at", "updated_at")),
                "orders": rows(orders, orders.c.world_id, orders.c.id),
                "windows": rows(order_windows, order_windows.c.world_id, order_windows.c.order_id, order_windows.c.seq),
                "vehicles": rows(vehicles, vehicles.c.world_id, vehicles.c.id),
                "plans": [(r["status"], r["note"]) for r in rows(plans, plans.c.id)],
                "audit": [r["action"] for r in rows(audit_log, audit_log.c.id)],
            }
    finally:
        engine.dispose()


def kept_replies(url: str) -> list[tuple[str, int]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [(r.key, int(r.status)) for r in conn.execute(select(idempotency_keys))]
    finally:
        engine.dispose()


# -- the server ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server(url: str, crash_at: str | None, log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "LOGISTICS_COPILOT_CRASH_AT"}
    if crash_at:
        env["LOGISTICS_COPILOT_CRASH_AT"] = crash_at
    cmd = [sys.executable, "-m", "copilot", "--db", url, "serve", "--host", "127.0.0.1", "--port", str(port), "--time-limit", "1",
           "--idempotency-lease", str(LEASE_S), "--rate", "0", "--max-planning", "0"]
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited at start (code {proc.returncode}); see {log}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start in 60 s; see {log}")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def send(base: str, key: str, op: str, values: dict[str, str], idem: str, timeout: float = 60) -> httpx.Response:
    method, path, body = OPERATIONS[op]
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": idem}
    return httpx.request(method, base + path.format(**values), json=body, headers=headers, timeout=timeout)


# -- one case -----------------------------------------------------------------------------------


def reference(backend: str, op: str, log: Path) -> dict[str, Any]:
    """The state a clean run of the operation leaves (its structure: plan contents vary with the search)."""
    with fresh_database(backend) as url:
        key, values = setup(url)
        with server(url, None, log) as (base, _):
            r = send(base, key, op, values, "reference")
            if r.status_code >= 300:
                raise RuntimeError(f"{op}: a clean run answered {r.status_code}: {r.text[:300]}")
        return snapshot(url)


def run_case(backend: str, op: str, point: str, n: int, after: dict[str, Any], log: Path) -> Case:
    case = Case(backend, op, point, n)
    with fresh_database(backend) as url:
        key, values = setup(url)
        before = snapshot(url)
        idem = f"fault-{op}-{point}-{n}"
        with server(url, f"{point}:{n}", log) as (base, proc):
            try:
                r = send(base, key, op, values, idem)
                case.detail = f"answered {r.status_code} without passing {point} {n} times"
            except httpx.TransportError:
                pass
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(15)
            case.crashed = proc.returncode == -signal.SIGKILL
        if not case.crashed:
            return case
        state = snapshot(url)
        case.state_after_crash = "before" if state == before else "after" if state == after else "BETWEEN"
        with server(url, None, log) as (base, _):
            deadline = time.monotonic() + 10 * LEASE_S + 30
            while True:
                case.retry_attempts += 1
                r = send(base, key, op, values, idem)
                if r.status_code != 409 or r.json().get("error", {}).get("type") != "idempotency_in_progress" or time.monotonic() > deadline:
                    break
                time.sleep(float(r.headers.get("retry-after", "1")))
            case.retry_status = r.status_code
            case.retry_replayed = r.headers.get("idempotent-replayed") == "true"
            again = send(base, key, op, values, idem)  # and once more: a replay of the same reply
            replay_ok = again.status_code == r.status_code and again.headers.get("idempotent-replayed") == "true"
        final = snapshot(url)
        case.final_ok = final == after and replay_ok
        case.ok = case.state_after_crash in ("before", "after") and case.retry_status is not None and case.retry_status < 300 and case.final_ok
        if not case.ok:
            case.detail = (case.detail + f"; retry {r.status_code}: {r.text[:200]}; final state {'= after' if final == after else '!= after'}"
                           f"; replay {'ok' if replay_ok else 'differs'}; kept {kept_replies(url)}").strip("; ")
    return case


def _resumed(out: Path) -> list[Case]:
    """The cases of an earlier run in ``out`` whose operation was finished (the last one may have been cut short)."""
    path = out / "faults.json"
    if not path.is_file():
        return []
    cases = [Case(**c) for c in json.loads(path.read_text())["cases"]]
    last = (cases[-1].backend, cases[-1].op) if cases else None
    return [c for c in cases if (c.backend, c.op) != last]


def run(
    backends: list[str], ops: list[str], points: list[str], out: Path, max_n: int = 8, progress: Callable[[str], None] = print, resume: bool = False
) -> list[Case]:
    out.mkdir(parents=True, exist_ok=True)
    log = out / "server.log"
    cases: list[Case] = _resumed(out) if resume else []
    done = {(c.backend, c.op) for c in cases}
    if not resume:
        log.write_bytes(b"")
    for backend in backends:
        for op in ops:
            if (backend, op) in done:
                continue
            after = reference(backend, op, log)
            for point in points:
                if point == "planning" and op in ("import", "approve", "discard", "clock"):
                    continue  # these do not plan
                for n in range(1, max_n + 1):
                    case = run_case(backend, op, point, n, after, log)
                    if not case.crashed:
                        break  # the request no longer passes the point n times: every step was hit
                    cases.append(case)
                    write(cases, out)  # kept after every case: an interrupted run still reports what it did
                    progress(f"{backend:8} {op:14} {point}:{n:<3} after crash: {case.state_after_crash:7} retry {case.retry_status} "
                             f"({'replayed' if case.retry_replayed else 'ran'}, {case.retry_attempts} tries) {'ok' if case.ok else 'FAIL ' + case.detail}")
    write(cases, out)
    return cases


def write(cases: list[Case], out: Path) -> None:
    (out / "faults.json").write_text(json.dumps({"lease_s": LEASE_S, "cases": [asdict(c) for c in cases],
                                                 "passed": sum(c.ok for c in cases), "failed": sum(not c.ok for c in cases)}, indent=2))
    lines = [
        "# Fault suite: kill -9 at each write step, restart, retry with the same Idempotency-Key",
        "",
        f"{sum(c.ok for c in cases)} of {len(cases)} cases recover (store before or after, never between; the retry completes "
        f"and leaves the clean run's state, applied once; a second retry replays the reply). Command: `python bench/faults.py`.",
        "",
        "| backend | operation | crash point | step | store after the kill | retry | replayed | ok |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [f"| {c.backend} | {c.op} | {c.point} | {c.n} | {c.state_after_crash} | {c.retry_status} ({c.retry_attempts} tries) | "
              f"{'yes' if c.retry_replayed else 'no'} | {'yes' if c.ok else 'NO: ' + c.detail} |" for c in cases]
    (out / "faults.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backends", default="sqlite,postgres", help="sqlite, postgres or both (default both)")
    ap.add_argument("--ops", default=",".join(OPERATIONS), help=f"operations (default all: {', '.join(OPERATIONS)})")
    ap.add_argument("--points", default=",".join(POINTS), help="crash points (default all)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "faults")
    ap.add_argument("--resume", action="store_true", help="keep the finished operations of an earlier run in --out and do the rest")
    args = ap.parse_args(argv)
    ops = [o for o in args.ops.split(",") if o]
    unknown = sorted(set(ops) - set(OPERATIONS))
    if unknown:
        ap.error(f"unknown operations: {', '.join(unknown)}")
    cases = run([b for b in args.backends.split(",") if b], ops, [p for p in args.points.split(",") if p], args.out, resume=args.resume)
    failed = [c for c in cases if not c.ok]
    print(f"{len(cases) - len(failed)} of {len(cases)} crash cases recovered; report in {args.out}/faults.md")
    return 1 if failed or not cases else 0


if __name__ == "__main__":
    sys.exit(main())
