"""Command implementations behind the CLI (each returns an exit code)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from copilot.apps.wiring import demo_world_dir, make_deps, make_store
from copilot.core.domain import Plan, PlanStatus, World
from copilot.core.errors import InputError
from copilot.core.routing import SolveOptions
from copilot.core.units import format_clock
from solvers.auto import make_solver
from solvers.checker import check_solution
from tools.instances import read_instance
from tools.planning import PlanSettings, plan_world
from tools.sql import SqlStore
from tools.world_io import read_world, write_world

_err = Console(stderr=True)


def _store(args: argparse.Namespace) -> SqlStore:
    return make_store(getattr(args, "db", None))


def _current_world(store: SqlStore, name: str | None) -> str:
    names = store.world_names()
    if name:
        if name not in names:
            raise InputError(f"no world named {name!r} is stored; stored worlds: {', '.join(names) or 'none'}")
        return name
    if not names:
        raise InputError("no world is stored yet; run `logistics-copilot import DIR` (or `logistics-copilot demo`) first")
    recent = store.most_recent_world()
    return recent if recent is not None else names[-1]


def cmd_import(args: argparse.Namespace) -> int:
    """Import a world directory atomically."""
    world = read_world(args.directory)
    store = _store(args)
    try:
        store.import_world(world, replace=args.replace, actor="cli")
    finally:
        store.close()
    print(
        f"imported world {world.name!r}: {len(world.depots)} depot(s), {len(world.vehicles)} vehicle(s), "
        f"{len(world.orders)} order(s), {len(world.history)} history row(s)"
    )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write a stored world as CSV files."""
    store = _store(args)
    try:
        world = store.load_world(_current_world(store, args.world))
    finally:
        store.close()
    write_world(world, args.directory)
    print(f"exported world {world.name!r} to {args.directory}")
    return 0


def cmd_worlds(args: argparse.Namespace) -> int:
    """List stored worlds."""
    store = _store(args)
    try:
        for name in store.world_names():
            committed = store.committed_plan(name)
            print(f"{name}\t{'committed plan #' + str(committed.id) if committed else 'no committed plan'}")
    finally:
        store.close()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Import the bundled demo world (replacing an earlier copy) and plan it."""
    world = read_world(demo_world_dir())
    store = _store(args)
    try:
        store.import_world(world, replace=True, actor="demo")
        _err.print(f"imported the demo world {world.name!r} ({len(world.orders)} orders, {len(world.vehicles)} vehicles)")
        args.commit = True
        code = _plan_and_show(store, world.name, args)
        if code != 0 or args.no_chat or args.json:
            return code
        return _demo_conversation(store, world.name, args)
    finally:
        store.close()


DEMO_MESSAGES = (
    "How many vehicles are we running today and how many km in total?",
    "Which van has P546630 and when does it get there?",
    "HZ-V3 just broke down. Get its remaining pickups covered by the others.",
    "discard",
)


def _demo_conversation(store: SqlStore, world_name: str, args: argparse.Namespace) -> int:
    """A few dispatcher messages through the copilot on the local model (the same graph as the chat)."""
    import uuid

    from copilot.apps.agent import load_chat_model, make_agent
    from copilot.apps.chat import ChatSession
    from tools.lifecycle import ClockRequest, set_clock

    console = Console(highlight=False)
    with _err.status(f"loading the local model ({args.model or 'default'})..."):
        model = load_chat_model(args.model, args.threads)
    agent = make_agent(store, world_name, model)
    set_clock(agent.ctx, ClockRequest(at="10:30"))
    console.print("\n[bold]the copilot, on the local model[/] (simulated time 10:30; try it yourself: logistics-copilot chat)")
    session = ChatSession(agent, f"demo-{uuid.uuid4().hex[:8]}", console, store, world_name)
    for text in DEMO_MESSAGES:
        console.print(f"[bold]dispatcher>[/] {text}")
        session.send(text)
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    """Plan the chosen world; keep it as a draft or commit it."""
    store = _store(args)
    try:
        return _plan_and_show(store, _current_world(store, args.world), args)
    finally:
        store.close()


def _plan_and_show(store: SqlStore, name: str, args: argparse.Namespace) -> int:
    world = store.load_world(name)
    settings = PlanSettings(time_limit_s=args.time_limit, seed=args.seed, engine=args.engine)
    clock = store.clock(name)
    committed = store.committed_plan(name)
    with _err.status(f"planning {len(world.active_orders())} orders on {len(world.vehicles)} vehicles ({args.time_limit:g} s search)..."):
        plan = plan_world(world, make_deps(args.engine), settings, clock=clock, committed=committed.plan if committed and clock else None)
    status = PlanStatus.COMMITTED if args.commit else PlanStatus.DRAFT
    plan_id = store.save_plan(name, plan, PlanStatus.DRAFT, note="planned from the command line", actor="cli")
    if args.commit:
        store.commit_plan(name, plan_id, note="committed from the command line", actor="cli")
    if args.json:
        print(json.dumps(plan_json(world, plan, plan_id, status)))
    else:
        show_plan(world, plan, plan_id, status)
    return 0


def plan_json(world: World, plan: Plan, plan_id: int, status: PlanStatus) -> dict[str, Any]:
    """A plan as plain JSON."""
    off = world.utc_offset_s
    return {
        "world": world.name,
        "plan_id": plan_id,
        "status": status.value,
        "solver": plan.solver,
        "vehicles_used": plan.vehicles_used,
        "total_distance_km": round(plan.distance_m / 1000, 3),
        "routes": [
            {
                "vehicle": r.vehicle_id,
                "start": format_clock(r.start, off),
                "end": format_clock(r.end, off),
                "distance_km": round(r.distance_m / 1000, 3),
                "stops": [{"order": v.order_id, "arrival": format_clock(v.arrival, off), "start": format_clock(v.start, off), "load": v.load_after} for v in r.visits],
            }
            for r in plan.routes
        ],
        "unassigned": [{"order": u.order_id, "reason": u.reason} for u in plan.unassigned],
    }


def show_plan(world: World, plan: Plan, plan_id: int, status: PlanStatus) -> None:
    """Readable tables: one per vehicle, then totals and unassigned orders."""
    out = Console()
    off = world.utc_offset_s
    vehicles = {v.id: v for v in world.vehicles}
    for r in plan.routes:
        v = vehicles[r.vehicle_id]
        t = Table(title=f"{r.vehicle_id} ({v.driver or 'no driver'}) {format_clock(r.start, off)}-{format_clock(r.end, off)}, "
                  f"{len(r.visits)} stops, {r.distance_m / 1000:.1f} km, capacity {v.capacity}", title_justify="left")
        for col in ("#", "order", "customer", "arrive", "start", "window", "load"):
            t.add_column(col, justify="right" if col in ("#", "load") else "left")
        orders = {o.id: o for o in world.orders}
        for k, vis in enumerate(r.visits, 1):
            o = orders[vis.order_id]
            win = ", ".join(f"{format_clock(w.start, off)}-{format_clock(w.end, off)}" for w in o.windows) or "any"
            t.add_row(str(k), o.id, o.customer, format_clock(vis.arrival, off), format_clock(vis.start, off), win, str(vis.load_after))
        out.print(t)
    served = sum(len(r.visits) for r in plan.routes)
    out.print(f"[bold]plan #{plan_id} ({status.value})[/bold]: {served} orders served by {plan.vehicles_used} vehicle(s), "
              f"{plan.distance_m / 1000:.1f} km in total; {len(plan.unassigned)} unassigned; solver: {plan.solver}")
    for u in plan.unassigned:
        out.print(f"  unassigned {u.order_id}: {u.reason}")
    if status is PlanStatus.DRAFT:
        out.print("this plan is a draft: run with --commit to dispatch it")


def solve_file(path: Path, fmt: str, time_limit: float, seed: int, engine: str = "auto") -> dict[str, Any]:
    """Solve a benchmark file; the JSON object the ``solve`` command prints."""
    if not path.exists():
        raise InputError(f"no such file: {path}")
    inst = read_instance(path, fmt)
    t0 = time.perf_counter()
    sol = make_solver(engine).solve(inst.problem, SolveOptions(time_limit_s=time_limit, seed=seed, engine=engine))
    wall = time.perf_counter() - t0
    problems = check_solution(inst.problem, sol.routes)
    if problems:
        print("warning: the solution fails the independent check: " + "; ".join(map(str, problems[:3])), file=sys.stderr)
    routes = [r for r in inst.node_routes(sol.routes) if r]
    return {
        "instance": inst.name,
        "routes": routes,
        "distance": round(inst.cost(routes), 4),
        "vehicles": len(routes),
        "solver": sol.engine,
        "wall_s": round(wall, 3),
        "feasible": not problems,
        "notes": list(sol.notes),
    }
