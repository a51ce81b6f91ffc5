"""PyVRP engine (hybrid genetic search): stronger than OR-Tools where the problem fits it.

It fits static problems: at most one time window per stop, no skills or pins that restrict vehicles,
nothing on board at the start and no warm start. :func:`fits` says whether (and why not).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyvrp
from pyvrp import ActivityType
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.stop import MaxIterations, MaxRuntime

from copilot.errors import InfeasibleError
from copilot.routing import INF_TIME, RoutingProblem, Solution, SolveOptions

_MAX = 2**44  # PyVRP's own MAX_VALUE is larger; keep sums well inside int64


def fits(problem: RoutingProblem) -> str | None:
    """None when PyVRP can solve ``problem`` exactly as stated, else the reason it cannot."""
    if problem.warm_start is not None:
        return "a warm start is requested"
    if problem.move_penalty and any(s.previous_vehicle is not None for s in problem.stops):
        return "moving stops between vehicles carries a disruption cost"
    if problem.meta.get("onboard_stops"):
        return "vehicles carry goods from earlier stops"
    for s in problem.stops:
        if len(s.windows) > 1:
            return f"stop {s.id} has several time windows"
        if s.allowed_vehicles is not None:
            return f"stop {s.id} is pinned to vehicles"
    for vi in range(len(problem.vehicles)):
        if problem.vehicles[vi].initial_load:
            return "a vehicle starts with a load"
        for si in range(len(problem.stops)):
            if not problem.can_serve(vi, si):
                return "some stops need a skill that not every vehicle has"
    return None


@dataclass(frozen=True, slots=True)
class _TypeKey:
    start: int
    end: int
    capacity: int
    ready: int
    latest_end: int
    profile: int
    cost: int
    fixed: int
    max_duration: int | None


class PyVrpEngine:
    """Hybrid genetic search from PyVRP."""

    name = "pyvrp"

    def solve(self, problem: RoutingProblem, options: SolveOptions, initial: Sequence[Sequence[int]] | None = None) -> Solution:
        """Solve ``problem``; raises :class:`InfeasibleError` when no feasible solution was found.

        ``initial`` (stop sequences per vehicle, e.g. from another engine) seeds the search; PyVRP
        keeps the best solution it sees, so the result is never worse than a feasible seed.
        """
        t0 = time.perf_counter()
        reason = fits(problem)
        if reason is not None:
            raise ValueError(f"PyVRP cannot take this problem: {reason}")
        if not problem.vehicles:
            return Solution.empty(problem, self.name)
        n = len(problem.distance)
        locations = [pyvrp.Location(0.0, 0.0) for _ in range(n)]
        depot_of: dict[int, int] = {}
        depots: list[pyvrp.Depot] = []
        for v in problem.vehicles:
            for loc in (v.start, v.end):
                if loc not in depot_of:
                    depot_of[loc] = len(depots)
                    depots.append(pyvrp.Depot(location=loc))

        in_pair = problem.paired
        clients: list[pyvrp.Client] = []
        client_stop: list[int] = []
        for si, s in enumerate(problem.stops):
            if si in in_pair:
                continue
            early, late = s.windows[0] if s.windows else (0, _MAX)
            clients.append(
                pyvrp.Client(
                    location=s.location,
                    delivery=[s.delivery],
                    pickup=[s.pickup],
                    service_duration=s.service,
                    tw_early=early,
                    tw_late=min(late, _MAX),
                    prize=s.penalty or 0,
                    required=s.penalty is None,
                    name=s.id,
                )
            )
            client_stop.append(si)
        shipments: list[pyvrp.Shipment] = []
        for p in problem.pairs:
            ps, ds = problem.stops[p.pickup], problem.stops[p.delivery]
            pe, pl = ps.windows[0] if ps.windows else (0, _MAX)
            de, dl = ds.windows[0] if ds.windows else (0, _MAX)
            required = ps.penalty is None or ds.penalty is None
            shipments.append(
                pyvrp.Shipment(
                    pickup_location=ps.location,
                    delivery_location=ds.location,
                    pickup_tw_early=pe,
                    pickup_tw_late=min(pl, _MAX),
                    pickup_service_duration=ps.service,
                    delivery_tw_early=de,
                    delivery_tw_late=min(dl, _MAX),
                    delivery_service_duration=ds.service,
                    amount=[ps.pickup],
                    prize=0 if required else (ps.penalty or 0) + (ds.penalty or 0),
                    required=required,
                    name=ps.id,
                )
            )

        keys: list[_TypeKey] = []
        members: dict[_TypeKey, list[int]] = {}
        for vi, v in enumerate(problem.vehicles):
            key = _TypeKey(
                v.start, v.end, v.capacity, v.ready, min(v.latest_end, _MAX), v.profile, v.cost_per_distance,
                v.fixed_cost + problem.vehicle_cost, v.max_duration,
            )
            if key not in members:
                keys.append(key)
                members[key] = []
            members[key].append(vi)
        vtypes = [
            pyvrp.VehicleType(
                num_available=len(members[k]),
                capacity=[k.capacity],
                start_depot=depot_of[k.start],
                end_depot=depot_of[k.end],
                fixed_cost=k.fixed,
                tw_early=k.ready,
                tw_late=k.latest_end if k.latest_end < INF_TIME else _MAX,
                shift_duration=k.max_duration if k.max_duration is not None else _MAX,
                unit_distance_cost=k.cost,
                profile=k.profile,
            )
            for k in keys
        ]
        dist: Any = np.asarray(problem.distance, dtype=np.int64)
        durs: list[Any] = [np.asarray(m, dtype=np.int64) for m in problem.durations]
        data = pyvrp.ProblemData(locations, clients, depots, vtypes, [dist] * len(durs), durs, [], shipments)

        if options.iterations is not None:
            stop: pyvrp.stop.StoppingCriterion = MaxIterations(options.iterations)
        else:
            stop = MaxRuntime(max(0.05, options.time_limit_s * 0.97 - (time.perf_counter() - t0)))
        init = None
        if initial is not None:
            init = self._seed(data, problem, initial, client_stop, keys, members)
        with warnings.catch_warnings():
            # PyVRP warns when its penalties hit their bound on tight instances; infeasibility is
            # reported below (and the caller falls back to OR-Tools), so the warning adds nothing.
            warnings.simplefilter("ignore", PenaltyBoundWarning)
            result = pyvrp.solve(data, stop, seed=options.seed, collect_stats=False, display=False, initial_solution=init)
        best = result.best
        if not best.is_feasible():
            raise InfeasibleError("PyVRP found no feasible solution in time")

        routes: list[tuple[int, ...]] = [() for _ in problem.vehicles]
        free = {k: list(v) for k, v in members.items()}
        visited: set[int] = set()
        for route in best.routes():
            seq: list[int] = []
            for act in route.schedule():
                if act.is_client():
                    seq.append(client_stop[act.idx])
                elif act.is_pickup():
                    seq.append(problem.pairs[act.idx].pickup)
                elif act.is_delivery():
                    seq.append(problem.pairs[act.idx].delivery)
            vi = free[keys[route.vehicle_type()]].pop(0)
            routes[vi] = tuple(seq)
            visited.update(seq)
        dropped = tuple(i for i in range(len(problem.stops)) if i not in visited)
        wall = time.perf_counter() - t0
        return Solution(tuple(routes), dropped, self.name, wall, float(result.cost()))

    @staticmethod
    def _seed(
        data: pyvrp.ProblemData,
        problem: RoutingProblem,
        initial: Sequence[Sequence[int]],
        client_stop: list[int],
        keys: list[_TypeKey],
        members: dict[_TypeKey, list[int]],
    ) -> pyvrp.Solution:
        activity: dict[int, pyvrp.Activity] = {si: pyvrp.Activity(ActivityType.CLIENT, ci) for ci, si in enumerate(client_stop)}
        for k, p in enumerate(problem.pairs):
            activity[p.pickup] = pyvrp.Activity(ActivityType.PICKUP, k)
            activity[p.delivery] = pyvrp.Activity(ActivityType.DELIVERY, k)
        type_of = {vi: t for t, key in enumerate(keys) for vi in members[key]}
        routes = [pyvrp.Route(data, [activity[si] for si in seq], type_of[vi]) for vi, seq in enumerate(initial) if seq]
        return pyvrp.Solution(data, routes)
