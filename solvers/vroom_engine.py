"""VROOM engine (pyvroom): a fast construction and local search that holds skills, pins, shipments, several depots
and vehicles under way as hard constraints.

Skills and pins become VROOM skills, one per distinct set of vehicles allowed to serve a restricted stop; a
vehicle under way starts where it is, when it is free, with the room it has left; drop penalties become VROOM
priorities in their ratio (0-100, mandatory stops 100). The cost is the distance matrix for every vehicle
(VROOM takes one cost matrix per profile, so a per-vehicle cost per km is not modelled; the engines that
continue from VROOM's plan weigh it). A maximum route duration is not modelled (VROOM bounds travel time
only): :func:`fits` says so.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import numpy as np
import vroom

from copilot.core.errors import InfeasibleError
from copilot.core.routing import INF_TIME, RoutingProblem, Solution, SolveOptions
from solvers.restrictions import base_loads, restriction_groups

_U32 = 2**32 - 1


def fits(problem: RoutingProblem) -> str | None:
    """None when VROOM can take ``problem`` as stated, else why not."""
    if any(v.max_duration is not None for v in problem.vehicles):
        return "a maximum route duration (VROOM bounds travel time only)"
    if int(max((max(row) for row in problem.distance), default=0)) > _U32:
        return "distances beyond VROOM's 32-bit range"
    return None


class VroomEngine:
    """VROOM with ``threads`` threads and an exploration level (5 is VROOM's default)."""

    name = "vroom"

    def __init__(self, threads: int = 1, exploration: int = 5) -> None:
        self.threads = threads
        self.exploration = exploration

    def solve(self, problem: RoutingProblem, options: SolveOptions) -> Solution:
        """Solve within ``options.time_limit_s`` (VROOM stops earlier when its search ends)."""
        t0 = time.perf_counter()
        reason = fits(problem)
        if reason is not None:
            raise ValueError(f"VROOM cannot take this problem: {reason}")
        if not problem.vehicles:
            return Solution.empty(problem, self.name)
        inp = vroom.Input()
        dist: Any = np.asarray(problem.distance, dtype=np.uint32)
        for p, dur in enumerate(problem.durations):
            inp.set_durations_matrix(f"p{p}", np.minimum(np.asarray(dur, dtype=np.int64), _U32).astype(np.uint32))
            inp.set_costs_matrix(f"p{p}", dist)
        groups = restriction_groups(problem)
        skill_of = {si: g for g, (_, stops) in enumerate(groups) for si in stops}
        base = base_loads(problem)
        for vi, v in enumerate(problem.vehicles):
            tw = {"time_window": vroom.TimeWindow(min(v.ready, _U32), min(v.latest_end, _U32))} if v.latest_end < INF_TIME else {}
            inp.add_vehicle(
                vroom.Vehicle(
                    vi,
                    start=v.start,
                    end=v.end,
                    profile=f"p{v.profile}",
                    capacity=vroom.Amount([max(0, v.capacity - base[vi])]),
                    skills={g for g, (allowed, _) in enumerate(groups) if vi in allowed},
                    costs=vroom.VehicleCosts(fixed=min(_U32, v.fixed_cost + problem.vehicle_cost)),
                    **tw,
                )
            )
        top = max((s.penalty or 0 for s in problem.stops), default=0) or 1

        def priority(i: int) -> int:
            pen = problem.stops[i].penalty
            return 100 if pen is None else max(1, min(100, round(100 * pen / top)))

        def windows(i: int) -> list[vroom.TimeWindow]:
            return [vroom.TimeWindow(min(a, _U32), min(b, _U32)) for a, b in problem.stops[i].windows]

        def skills(*stops: int) -> set[int]:
            return {skill_of[i] for i in stops if i in skill_of}

        paired = problem.paired
        for i, s in enumerate(problem.stops):
            if i in paired:
                continue
            inp.add_job(
                vroom.Job(i, location=s.location, default_service=s.service, delivery=vroom.Amount([s.delivery]),
                          pickup=vroom.Amount([s.pickup]), skills=skills(i), priority=priority(i), time_windows=windows(i))
            )
        for pair in problem.pairs:
            steps = [vroom.ShipmentStep(i, location=problem.stops[i].location, default_service=problem.stops[i].service, time_windows=windows(i))
                     for i in (pair.pickup, pair.delivery)]
            inp.add_shipment(steps[0], steps[1], amount=vroom.Amount([problem.stops[pair.pickup].pickup]),
                             skills=skills(pair.pickup, pair.delivery), priority=priority(pair.pickup))
        left = max(0.1, options.time_limit_s - (time.perf_counter() - t0))
        sol = inp.solve(exploration_level=self.exploration, nb_threads=self.threads, timeout=timedelta(seconds=left))
        routes: list[list[int]] = [[] for _ in problem.vehicles]
        frame = sol.routes
        for vid, typ, job in zip(frame["vehicle_id"], frame["type"], frame["id"], strict=True):
            if typ in ("job", "pickup", "delivery"):
                routes[int(vid)].append(int(job))
        visited = {i for r in routes for i in r}
        dropped = tuple(i for i in range(len(problem.stops)) if i not in visited)
        missing = [problem.stops[i].id for i in dropped if problem.stops[i].penalty is None]
        if missing:
            raise InfeasibleError(f"VROOM found no plan serving every mandatory stop; left out: {', '.join(missing[:10])}")
        return Solution(tuple(tuple(r) for r in routes), dropped, self.name, time.perf_counter() - t0)
