"""Dispatch benchmark: re-plan latency and quality after random events, and insertion-advice latency.

::

    python bench/dispatch.py --world ../shared/eval/worlds/hangzhou-0501 --json results/dispatch.json \\
        [--events-per-kind 20] [--full-time-limit 30] [--jobs 1] [--seed 7]

For every event kind (new order, cancel, un-cancel, vehicle unavailable, delay, window change, pin,
manual move) it draws ``--events-per-kind`` events at random clock times between 09:30 and 15:30. Each
starts from the same committed day plan (a copy of one SQLite store), sets the clock, runs the event
tool (record the fact + warm-started re-plan into a draft; this is the latency measured), re-plans the
same state once more without the disruption cost (``weight0``: what stability costs), and then
re-solves it from scratch for ``--full-time-limit`` seconds without warm start or disruption cost:
the quality reference. Gaps compare total planned distance; ``future`` gaps leave
out the legs already driven before the clock (identical in both plans). Insertion advice is timed on
random prospective orders at random clock times. Results: one JSON file (and a line per event on stderr).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from copilot.core.domain import Plan, PlanStatus, World  # noqa: E402
from copilot.core.units import format_clock, haversine_m  # noqa: E402
from solvers.auto import AutoSolver  # noqa: E402
from solvers.checker import PlanChecker  # noqa: E402
from tools import events as ev  # noqa: E402
from tools.context import ToolContext, stops_moved  # noqa: E402
from tools.planning import PlanningDeps, PlanSettings, plan_world  # noqa: E402
from tools.sql import SqlStore  # noqa: E402
from tools.world_io import read_world  # noqa: E402

KINDS = ("new_order", "cancel", "uncancel", "unavailable", "delay", "window", "pin", "move")
REPLAN_LIMIT_S = 0.7


def _deps() -> PlanningDeps:
    return PlanningDeps(AutoSolver(), PlanChecker())


def _ctx(db: Path, world: str) -> ToolContext:
    store = SqlStore(f"sqlite:///{db}")
    return ToolContext(store=store, planning=_deps(), world_name=world, settings=PlanSettings(time_limit_s=REPLAN_LIMIT_S), actor="bench")


def _frozen_distance(world: World, plan: Plan, clock: int) -> int:
    """Metres driven on legs that end at a visit started before the clock (the same in any re-plan)."""
    depots = {d.id: d for d in world.depots}
    vehicles = {v.id: v for v in world.vehicles}
    orders = {o.id: o for o in world.orders}
    total = 0
    for r in plan.routes:
        d = depots[vehicles[r.vehicle_id].depot_id].location
        here = (d.lat, d.lng)
        for v in r.visits:
            if v.start >= clock:
                break
            loc = orders[v.order_id].location
            total += haversine_m(*here, loc.lat, loc.lng)
            here = (loc.lat, loc.lng)
    return total


def _draw(rng: random.Random, kind: str, world: World, base: Plan, clock: int) -> dict[str, Any]:
    future = [(r.vehicle_id, v.order_id) for r in base.routes for v in r.visits if v.start >= clock]
    off = world.utc_offset_s
    if kind == "new_order":
        near = rng.choice(world.orders).location
        start = clock + rng.randrange(15, 90) * 60
        return {"lat": near.lat + rng.uniform(-0.004, 0.004), "lng": near.lng + rng.uniform(-0.004, 0.004), "demand": rng.randint(1, 3),
                "tw_start": format_clock(start, off), "tw_end": format_clock(min(start + 7200, clock + 8 * 3600), off)}
    if kind in ("cancel", "uncancel", "window"):
        _, oid = rng.choice(future)
        if kind != "window":
            return {"order_id": oid}
        w = world.order(oid).windows[0]
        shift = rng.randrange(20, 60) * 60
        close = max(d.hours.end for d in world.depots)  # stay on the same day
        start = min(max(w.start, clock) + shift, close - 3600)
        return {"order_id": oid, "tw_start": format_clock(start, off), "tw_end": format_clock(min(w.end + shift, close), off)}
    if kind in ("unavailable", "delay"):
        vid = rng.choice(world.vehicles).id
        return {"vehicle_id": vid} if kind == "unavailable" else {"vehicle_id": vid, "minutes": rng.randrange(15, 61)}
    vid, oid = rng.choice(future)
    need = world.order(oid).required_skill
    choices = [v.id for v in world.vehicles if v.id != vid and (need is None or need in v.skills)]
    return {"order_id": oid, "vehicle_id": rng.choice(choices)}


def run_event(job: dict[str, Any]) -> dict[str, Any]:
    """One event on a private copy of the template store."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "store.sqlite3"
        shutil.copy(job["template"], db)
        ctx = _ctx(db, job["world"])
        try:
            ctx.store.set_clock(ctx.world_name, job["clock"])
            if job["kind"] == "uncancel":  # the cancellation happened earlier; the event is its reversal
                o = ctx.world().order(job["args"]["order_id"])
                ctx.store.update_order(ctx.world_name, replace(o, cancelled=True))
            call = {
                "new_order": lambda a: ev.add_order(ctx, ev.NewOrderRequest(**a)),
                "cancel": lambda a: ev.cancel_order(ctx, ev.OrderRef(**a)),
                "uncancel": lambda a: ev.uncancel_order(ctx, ev.OrderRef(**a)),
                "unavailable": lambda a: ev.vehicle_unavailable(ctx, ev.VehicleUnavailableRequest(**a)),
                "delay": lambda a: ev.vehicle_delayed(ctx, ev.VehicleDelayRequest(**a)),
                "window": lambda a: ev.change_window(ctx, ev.WindowChangeRequest(**a)),
                "pin": lambda a: ev.pin_order(ctx, ev.VehicleOrderRequest(**a)),
                "move": lambda a: ev.move_order(ctx, ev.VehicleOrderRequest(**a)),
            }[job["kind"]]
            t0 = time.perf_counter()
            result = call(job["args"])
            latency = time.perf_counter() - t0
            world = ctx.world()
            base = ctx.committed()
            assert base is not None
            draft = ctx.store.get_plan(result.draft.plan_id).plan
            clock = job["clock"]
            violations = ctx.planning.checker.check_plan(world, draft, clock)
            # the same warm-started re-plan without the disruption cost: how much the stability costs
            w0 = plan_world(world, ctx.planning, PlanSettings(time_limit_s=REPLAN_LIMIT_S, move_penalty_m=0), clock=clock, committed=base.plan)
            full = plan_world(world, ctx.planning, PlanSettings(time_limit_s=job["full_limit"], move_penalty_m=0),
                              clock=clock, committed=base.plan, warm_start=False)
            frozen = _frozen_distance(world, base.plan, clock)
            gap = 100 * (draft.distance_m - full.distance_m) / max(1, full.distance_m)
            fgap = 100 * (draft.distance_m - full.distance_m) / max(1, full.distance_m - frozen)
            return {
                "kind": job["kind"], "clock": format_clock(clock, world.utc_offset_s), "args": job["args"],
                "latency_s": round(latency, 4), "stops_moved": result.draft.stops_moved,
                "full_stops_moved": stops_moved(base.plan, full, clock),
                "replan_km": draft.distance_m / 1000, "full_km": full.distance_m / 1000,
                "gap_pct": round(gap, 3), "future_gap_pct": round(fgap, 3),
                "w0_km": w0.distance_m / 1000, "w0_gap_pct": round(100 * (w0.distance_m - full.distance_m) / max(1, full.distance_m), 3),
                "w0_stops_moved": stops_moved(base.plan, w0, clock), "w0_unassigned": len(w0.unassigned),
                "unassigned": len(draft.unassigned), "full_unassigned": len(full.unassigned),
                "feasible": not violations,
            }
        except Exception as exc:  # an event may legitimately be refused (e.g. order already started)
            return {"kind": job["kind"], "clock": job["clock"], "args": job["args"], "error": f"{type(exc).__name__}: {exc}"}
        finally:
            ctx.store.close()


def _pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))]


def main() -> int:
    """Run the benchmark and write the JSON report."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--world", type=Path, required=True)
    ap.add_argument("--json", type=Path, required=True, help="output file")
    ap.add_argument("--events-per-kind", type=int, default=20)
    ap.add_argument("--full-time-limit", type=float, default=30.0)
    ap.add_argument("--day-time-limit", type=float, default=10.0)
    ap.add_argument("--insertions", type=int, default=40)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--kinds", default=",".join(KINDS), help="comma-separated subset of: " + ", ".join(KINDS))
    args = ap.parse_args()
    rng = random.Random(args.seed)
    world = read_world(args.world)
    tmp = Path(tempfile.mkdtemp())
    template = tmp / "template.sqlite3"
    store = SqlStore(f"sqlite:///{template}")
    store.upgrade()
    store.import_world(world)
    base = plan_world(world, _deps(), PlanSettings(time_limit_s=args.day_time_limit))
    store.commit_plan(world.name, store.save_plan(world.name, base, PlanStatus.DRAFT))
    store.close()
    day0 = min(v.shift.start for v in world.vehicles)
    lo, hi = day0 + 90 * 60, day0 + 450 * 60  # 09:30 .. 15:30 for an 08:00 start
    jobs = []
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        ap.error(f"unknown kinds: {', '.join(unknown)}")
    for kind in KINDS:
        if kind not in kinds:
            continue
        for _ in range(args.events_per_kind):
            clock = rng.randrange(lo, hi, 60)
            jobs.append({"template": str(template), "world": world.name, "kind": kind, "clock": clock,
                         "args": _draw(rng, kind, world, base, clock), "full_limit": args.full_time_limit})
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for i, row in enumerate(pool.map(run_event, jobs), 1):
            rows.append(row)
            print(f"[{i}/{len(jobs)}] {json.dumps(row)}", file=sys.stderr, flush=True)
    insert_lat = _insertion_latencies(template, world, base, rng, args.insertions, lo, hi)
    ok = [r for r in rows if "error" not in r]
    lat = [r["latency_s"] for r in ok]
    same_served = [r for r in ok if r["unassigned"] == r["full_unassigned"]]
    report = {
        "world": world.name,
        "events": len(rows),
        "events_refused": len(rows) - len(ok),
        "replan_time_limit_s": REPLAN_LIMIT_S,
        "full_time_limit_s": args.full_time_limit,
        "replan_p50_s": round(statistics.median(lat), 3) if lat else None,
        "replan_p95_s": round(_pct(lat, 0.95), 3) if lat else None,
        "replan_gap_pct_vs_full": round(statistics.mean(r["gap_pct"] for r in same_served), 3) if same_served else None,
        "replan_future_gap_pct_vs_full": round(statistics.mean(r["future_gap_pct"] for r in same_served), 3) if same_served else None,
        "replan_gap_pct_p95": round(_pct([r["gap_pct"] for r in same_served], 0.95), 3) if same_served else None,
        "replan_gap_pct_vs_full_weight0": round(statistics.mean(r["w0_gap_pct"] for r in same_served), 3) if same_served else None,
        "stops_moved_mean": round(statistics.mean(r["stops_moved"] or 0 for r in ok), 3) if ok else None,
        "stops_moved_mean_weight0": round(statistics.mean(r["w0_stops_moved"] for r in ok), 3) if ok else None,
        "full_resolve_stops_moved_mean": round(statistics.mean(r["full_stops_moved"] for r in ok), 3) if ok else None,
        "all_drafts_feasible": all(r["feasible"] for r in ok),
        # the issue-13 figure: the draft serves as many orders as the from-scratch re-solve
        "served_as_full_pct": round(100 * sum(r["unassigned"] <= r["full_unassigned"] for r in ok) / len(ok), 1) if ok else None,
        "served_fewer_events": sum(r["unassigned"] > r["full_unassigned"] for r in ok),
        "served_more_events": sum(r["unassigned"] < r["full_unassigned"] for r in ok),
        "insert_p50_s": round(statistics.median(insert_lat), 4) if insert_lat else None,
        "insert_p95_s": round(_pct(insert_lat, 0.95), 4) if insert_lat else None,
        "per_kind": {
            k: {
                "n": sum(1 for r in ok if r["kind"] == k),
                "refused": sum(1 for r in rows if r["kind"] == k and "error" in r),
                "replan_p95_s": round(_pct([r["latency_s"] for r in ok if r["kind"] == k], 0.95), 3),
                "gap_pct_mean": round(statistics.mean([r["gap_pct"] for r in same_served if r["kind"] == k] or [float("nan")]), 3),
                "stops_moved_mean": round(statistics.mean([r["stops_moved"] or 0 for r in ok if r["kind"] == k] or [float("nan")]), 3),
                "served_as_full": sum(r["unassigned"] <= r["full_unassigned"] for r in ok if r["kind"] == k),
            }
            for k in KINDS
        },
        "wall_s": round(time.perf_counter() - started, 1),
        "rows": rows,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    print(json.dumps({k: v for k, v in report.items() if k not in ("rows",)}, indent=2))
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _insertion_latencies(template: Path, world: World, base: Plan, rng: random.Random, n: int, lo: int, hi: int) -> list[float]:
    out: list[float] = []
    if n <= 0:
        return out
    from tools.insertion import InsertionRequest, advise_insertion

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "store.sqlite3"
        shutil.copy(template, db)
        ctx = _ctx(db, world.name)
        try:
            for _ in range(n):
                clock = rng.randrange(lo, hi, 60)
                ctx.store.set_clock(world.name, clock)
                near = rng.choice(world.orders).location
                start = clock + rng.randrange(15, 90) * 60
                req = InsertionRequest(lat=near.lat + rng.uniform(-0.004, 0.004), lng=near.lng + rng.uniform(-0.004, 0.004),
                                       demand=rng.randint(1, 3), tw_start=format_clock(start, world.utc_offset_s),
                                       tw_end=format_clock(start + 7200, world.utc_offset_s))
                t0 = time.perf_counter()
                advise_insertion(ctx, req)
                out.append(time.perf_counter() - t0)
        finally:
            ctx.store.close()
    return out


if __name__ == "__main__":
    raise SystemExit(main())
