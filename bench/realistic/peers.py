"""The solvers of the realistic benchmark, each given the same :class:`~copilot.core.routing.RoutingProblem`.

* ``ours``: ``solvers.auto.AutoSolver`` (what ``plan`` runs).
* ``vroom``: pyvroom on the same integer matrices: the distance matrix as VROOM's cost matrix and one
  duration matrix per speed profile; skills and pins as VROOM skills (one skill per distinct set of
  vehicles allowed to serve a restricted stop); windows, shifts, capacities and depots as they are; a
  vehicle under way starts where it is, at the time it is free, with the room it has left; jobs carry
  VROOM priorities in the same ratio as our drop penalties (high 10, normal 1); pairs become shipments.
* ``pyvrp``: PyVRP's own ``solve`` on the model our engine builds, only where that model needs none of
  our additions (no skills, pins or goods on board); elsewhere ``n/a``.

Every adapter returns stop sequences per problem vehicle; scoring happens in ``run.py``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta

from copilot.core.routing import INF_TIME, RoutingProblem, SolveOptions


@dataclass
class Run:
    """What one solver returned: routes in problem-vehicle order, or a status saying why there are none."""

    routes: list[list[int]] = field(default_factory=list)
    engine: str = ""
    status: str = "ok"
    wall_s: float = 0.0
    note: str = ""


def run_ours(problem: RoutingProblem, limit: float, seed: int, **_: object) -> Run:
    from solvers.auto import AutoSolver

    t0 = time.perf_counter()
    sol = AutoSolver().solve(problem, SolveOptions(time_limit_s=limit, seed=seed))
    return Run([list(r) for r in sol.routes], sol.engine, "ok", time.perf_counter() - t0, "; ".join(sol.notes))


def run_pyvrp(problem: RoutingProblem, limit: float, seed: int, **_: object) -> Run:
    from solvers.pyvrp_engine import PyVrpEngine, fits, restriction_groups

    if restriction_groups(problem) or problem.meta.get("onboard_stops") or any(v.initial_load for v in problem.vehicles):
        return Run(status="n/a", note="needs skills, pins or goods on board, which PyVRP has no field for")
    if (reason := fits(problem)) is not None:
        return Run(status="n/a", note=reason)
    t0 = time.perf_counter()
    sol = PyVrpEngine().solve(problem, SolveOptions(time_limit_s=limit, seed=seed))
    return Run([list(r) for r in sol.routes], "pyvrp", "ok", time.perf_counter() - t0)


def run_vroom(problem: RoutingProblem, limit: float, seed: int, *, threads: int = 2, exploration: int = 5, **_: object) -> Run:
    import numpy as np
    import vroom

    from solvers.pyvrp_engine import restriction_groups

    del seed  # VROOM's search is deterministic
    t0 = time.perf_counter()
    if any(v.max_duration is not None for v in problem.vehicles):
        return Run(status="n/a", note="a maximum route duration (VROOM bounds travel time only)")
    inp = vroom.Input()
    dist = np.asarray(problem.distance, dtype=np.uint32)
    for p, dur in enumerate(problem.durations):
        inp.set_durations_matrix(f"p{p}", np.asarray(dur, dtype=np.uint32))
        inp.set_costs_matrix(f"p{p}", dist)
    groups = restriction_groups(problem)
    skill_of: dict[int, int] = {}
    for g, (_, stops) in enumerate(groups):
        for si in stops:
            skill_of[si] = g
    onboard = {int(i) for i in problem.meta.get("onboard_stops", ())}  # type: ignore[attr-defined]
    base = [v.initial_load for v in problem.vehicles]
    for i in onboard:
        allowed = problem.stops[i].allowed_vehicles
        if allowed is not None and len(allowed) == 1:
            base[next(iter(allowed))] -= problem.stops[i].delivery
    for vi, v in enumerate(problem.vehicles):
        tw = {"time_window": vroom.TimeWindow(v.ready, v.latest_end)} if v.latest_end < INF_TIME else {}
        inp.add_vehicle(
            vroom.Vehicle(
                vi,
                start=v.start,
                end=v.end,
                profile=f"p{v.profile}",
                capacity=vroom.Amount([max(0, v.capacity - base[vi])]),
                skills={g for g, (allowed, _) in enumerate(groups) if vi in allowed},
                costs=vroom.VehicleCosts(fixed=v.fixed_cost + problem.vehicle_cost),
                **tw,
            )
        )
    high = max((s.penalty or 0) for s in problem.stops) if problem.stops else 0

    def priority(i: int) -> int:
        pen = problem.stops[i].penalty
        return 10 if pen is None or (pen >= high and high > min((s.penalty or 0) for s in problem.stops)) else 1

    def windows(i: int) -> list[vroom.TimeWindow]:
        return [vroom.TimeWindow(a, b) for a, b in problem.stops[i].windows]

    paired = problem.paired
    for i, s in enumerate(problem.stops):
        if i in paired:
            continue
        inp.add_job(
            vroom.Job(
                i,
                location=s.location,
                default_service=s.service,
                delivery=vroom.Amount([s.delivery]),
                pickup=vroom.Amount([s.pickup]),
                skills={skill_of[i]} if i in skill_of else set(),
                priority=priority(i),
                time_windows=windows(i),
            )
        )
    for pair in problem.pairs:
        steps = [
            vroom.ShipmentStep(i, location=problem.stops[i].location, default_service=problem.stops[i].service, time_windows=windows(i))
            for i in (pair.pickup, pair.delivery)
        ]
        skills = {skill_of[i] for i in (pair.pickup, pair.delivery) if i in skill_of}
        inp.add_shipment(steps[0], steps[1], amount=vroom.Amount([problem.stops[pair.pickup].pickup]), skills=skills, priority=priority(pair.pickup))
    sol = inp.solve(exploration_level=exploration, nb_threads=threads, timeout=timedelta(seconds=limit))
    routes: list[list[int]] = [[] for _ in problem.vehicles]
    frame = sol.routes
    for vid, typ, job in zip(frame["vehicle_id"], frame["type"], frame["id"], strict=True):
        if typ in ("job", "pickup", "delivery"):
            routes[int(vid)].append(int(job))
    return Run(routes, f"vroom x={exploration} t={threads}", "ok", time.perf_counter() - t0)


SOLVERS = {"ours": run_ours, "vroom": run_vroom, "pyvrp": run_pyvrp}
