"""PyVRP engine (iterated local search): stronger than OR-Tools where the problem fits it.

It takes everything of the realistic model except several time windows per stop and the disruption
cost of a re-plan (:func:`fits` says why not):

* skills and pins become extra load dimensions: every distinct set of vehicles that may serve a stop
  gets a dimension in which its stops weigh 1 and only the vehicles of the set have room;
* a vehicle continuing mid-route starts at a depot placed where it is, at the time it is free; what it
  carries beyond the goods of the deliveries still on board (already picked up) is taken off its room;
* a warm start seeds the search.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyvrp
from pyvrp import ActivityType
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.search import LocalSearch, PerturbationManager, compute_neighbours
from pyvrp.stop import MaxIterations, MaxRuntime

from copilot.core.errors import InfeasibleError
from copilot.core.routing import INF_TIME, RoutingProblem, Solution, SolveOptions
from solvers.restrictions import base_loads as _base_loads
from solvers.restrictions import onboard_stops as _onboard_stops
from solvers.restrictions import restriction_groups

_MAX = 2**44  # PyVRP's own MAX_VALUE is larger; keep sums well inside int64
#: A normal stop's prize is this many times the longest trip of the matrix (when prizes are scaled down).
PRIZE_TRIPS = 20
#: The penalty manager may raise a penalty per unit of excess load or time warp to this many times the largest prize.
PENALTY_OVER_PRIZE = 100
#: At most this many bytes of distance and duration matrices for restrictions written into routing profiles.
PROFILE_BYTES = 200 * 2**20
CLOSED_K = 10
#: Share of a restricted client's neighbourhood taken by its nearest clients that ride the same vehicles.
MATES_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class _Scale:
    """Our cost units in PyVRP's: distance costs divided by their common divisor and drop penalties scaled
    down to prizes PyVRP's penalty manager can outweigh. The project's penalties are "serve unless impossible"
    values (10^10 and more); PyVRP caps its penalty per unit of excess load or time warp (10^5 by default), so
    with prizes that large its best solutions break windows rather than drop a stop. A normal stop's prize
    stays PRIZE_TRIPS times the longest trip (more than any detour costs), and the ratios between prizes are kept."""

    divisor: int
    prize_factor: float

    def prize(self, penalty: int) -> int:
        return max(1, round(penalty * self.prize_factor)) if penalty else 0


def _scale(problem: RoutingProblem) -> _Scale:
    divisor = math.gcd(*(v.cost_per_distance for v in problem.vehicles)) or 1
    factor = 1 / divisor
    penalties = [s.penalty for s in problem.stops if s.penalty]
    fixed = problem.vehicle_cost or any(v.fixed_cost for v in problem.vehicles)
    if penalties and not fixed:  # a fixed vehicle cost is weighed against the penalties as they are
        longest = max((max(row) for row in problem.distance), default=1) or 1
        unit = max(v.cost_per_distance for v in problem.vehicles) // divisor
        factor = min(factor, PRIZE_TRIPS * longest * unit / min(penalties))
    return _Scale(divisor, factor)


def fits(problem: RoutingProblem) -> str | None:
    """None when PyVRP can solve ``problem`` exactly as stated, else the reason it cannot."""
    if problem.move_penalty and any(s.previous_vehicle is not None for s in problem.stops):
        return "moving stops between vehicles carries a disruption cost"
    for s in problem.stops:
        if len(s.windows) > 1:
            return f"stop {s.id} has several time windows"
    base = _base_loads(problem)
    for vi, v in enumerate(problem.vehicles):
        if base[vi] < 0:
            return f"vehicle {v.id}: the goods on board exceed its stated load"
    return None


def _split_restrictions(
    problem: RoutingProblem, groups: list[tuple[frozenset[int], tuple[int, ...]]]
) -> tuple[list[tuple[frozenset[int], tuple[int, ...]]], list[tuple[frozenset[int], tuple[int, ...]]]]:
    """Which restrictions become routing profiles, and which load dimensions.

    A profile (PyVRP's own way to model access restrictions) makes the arcs into a stop the vehicle may not
    serve prohibitively long: the local search sees the true cost of every move, where a load dimension
    only adds a penalty its penalty manager has to learn (measured: on a 200-stop day with two skills,
    dimensions left 4 stops out and drove 300-500 km where profiles serve all in about 200). Every distinct
    combination of speed and allowed set needs its own pair of matrices, so the largest groups get
    profiles while the matrices fit in PROFILE_BYTES; the rest (e.g. many single-vehicle pins of vans
    under way) stay load dimensions. A stop sharing its location with another stop keeps a dimension.
    """
    n = len(problem.distance)
    shared = {loc for loc, count in _location_counts(problem).items() if count > 1}
    budget = max(1, PROFILE_BYTES // (16 * n * n))
    chosen: list[tuple[frozenset[int], tuple[int, ...]]] = []
    rest: list[tuple[frozenset[int], tuple[int, ...]]] = []
    for group in sorted(groups, key=lambda g: -len(g[1])):
        allowed, stops = group
        if any(problem.stops[si].location in shared for si in stops) or not allowed:
            rest.append(group)
            continue
        keys = {(v.profile, tuple(vi in a for a, _ in (*chosen, group))) for vi, v in enumerate(problem.vehicles)}
        (chosen if len(keys) <= budget else rest).append(group)
    return chosen, rest


def _location_counts(problem: RoutingProblem) -> dict[int, int]:
    counts: dict[int, int] = {}
    for s in problem.stops:
        counts[s.location] = counts.get(s.location, 0) + 1
    for v in problem.vehicles:
        for loc in {v.start, v.end}:
            counts[loc] = counts.get(loc, 0) + 1
    return counts


def _profiles(
    problem: RoutingProblem,
    by_profile: list[tuple[frozenset[int], tuple[int, ...]]],
    scale: _Scale,
    clients: list[pyvrp.Client],
    shipments: list[pyvrp.Shipment],
) -> tuple[list[Any], list[Any], list[int]]:
    """Distance and duration matrices per routing profile, and each vehicle's profile."""
    dist: Any = np.asarray(problem.distance, dtype=np.int64)
    durs: list[Any] = [np.asarray(m, dtype=np.int64) for m in problem.durations]
    if not by_profile:
        return [dist] * len(durs), durs, [v.profile for v in problem.vehicles]
    prizes = [c.prize for c in clients] + [sh.prize for sh in shipments]
    unit = min(v.cost_per_distance for v in problem.vehicles) // scale.divisor or 1
    longest = int(dist.max()) or 1
    # entering a forbidden stop costs more than ten times any prize and than ten trips across the whole day
    closed = CLOSED_K * (max(prizes, default=0) // unit + longest)
    # profile 0 stays the plain matrix, used by no restricted vehicle if need be: PyVRP draws its granular
    # neighbourhoods from profile 0, and closed arcs there would hide restricted stops from every move
    index: dict[tuple[int, tuple[bool, ...]], int] = {(0, tuple(True for _ in by_profile)): 0}
    dists: list[Any] = [dist]
    out_durs: list[Any] = [durs[0]]
    profile_of: list[int] = []
    for vi, v in enumerate(problem.vehicles):
        sig = tuple(vi in allowed for allowed, _ in by_profile)
        key = (v.profile, sig)
        if key not in index:
            m = dist.copy()
            for ok, (_, stops) in zip(sig, by_profile, strict=True):
                if not ok:
                    locs = [problem.stops[si].location for si in stops]
                    m[:, locs] += closed
                    m[locs, locs] = 0
            index[key] = len(dists)
            dists.append(m)
            out_durs.append(durs[v.profile])
        profile_of.append(index[key])
    return dists, out_durs, profile_of


def _restriction_dimensions(
    problem: RoutingProblem, groups: list[tuple[frozenset[int], tuple[int, ...]]]
) -> tuple[list[list[int]], list[list[int]]]:
    """Load dimensions for the restrictions not written into profiles: per dimension, each stop's weight and each
    vehicle's room.

    A group of several allowed vehicles gets one dimension. Stops pinned to a single vehicle (the goods on board of
    every van under way) share 2 x ceil(log2 V) dimensions instead of one per vehicle: vehicle u has room only in
    dimension (b, bit b of u) for every bit b, and a stop pinned to v weighs 1 in (b, bit b of v), so it fits u
    exactly when every bit agrees, that is u = v (a 42-van re-plan: 12 dimensions instead of 39).
    """
    n_stops, n_veh = len(problem.stops), len(problem.vehicles)
    weights: list[list[int]] = []
    rooms: list[list[int]] = []
    single = [(next(iter(a)), m) for a, m in groups if len(a) == 1]
    for allowed, members in groups:
        if len(allowed) == 1 and len(single) > 2:
            continue
        w = [0] * n_stops
        for si in members:
            w[si] = 1
        weights.append(w)
        rooms.append([len(members) if vi in allowed else 0 for vi in range(n_veh)])
    if len(single) > 2:
        pinned = sum(len(m) for _, m in single)
        for b in range(max(1, (n_veh - 1).bit_length())):
            for bit in (0, 1):
                w = [0] * n_stops
                for v, members in single:
                    if (v >> b) & 1 == bit:
                        for si in members:
                            w[si] = 1
                weights.append(w)
                rooms.append([pinned if (vi >> b) & 1 == bit else 0 for vi in range(n_veh)])
    return weights, rooms


def _restricted_neighbours(
    data: pyvrp.ProblemData, problem: RoutingProblem, client_stop: list[int], allowed: list[frozenset[int]], params: pyvrp.SolveParams
) -> dict[Any, list[Any]]:
    """PyVRP's granular neighbourhood, with every restricted client's list led by its nearest clients that only
    vehicles it may ride can serve.

    The local search inserts a client only next to its neighbours. The nearest clients of a stop needing a
    skill that 3 of 9 vans have mostly ride the other 6, so it found no place for such stops and left them out
    or strung them on long routes (measured on a 450-stop, 3-depot day: 8 left out and 1,319 km where VROOM
    served all in 706 km). Clients whose allowed vehicles lie within its own must ride one of those.
    """
    base = compute_neighbours(data, params.neighbourhood)
    act = {a.idx: a for a in base}
    k = params.neighbourhood.num_neighbours
    dist = np.asarray(problem.distance, dtype=np.int64)
    locs = np.asarray([problem.stops[si].location for si in client_stop])
    everyone = len(problem.vehicles)
    out: dict[Any, list[Any]] = {}
    for a, near in base.items():
        ci = a.idx
        if a.type != ActivityType.CLIENT or len(allowed[ci]) == everyone:
            out[a] = near
            continue
        mates = np.asarray([cj for cj in range(len(client_stop)) if cj != ci and allowed[cj] <= allowed[ci]], dtype=np.int64)
        if mates.size == 0:
            out[a] = near
            continue
        order = mates[np.argsort(dist[locs[ci], locs[mates]], kind="stable")][: int(k * MATES_SHARE)]
        chosen = [act[int(cj)] for cj in order if int(cj) in act]
        seen = {b.idx for b in chosen}
        out[a] = (chosen + [b for b in near if b.idx not in seen])[:k]
    return out


def _search(
    data: pyvrp.ProblemData,
    stop: pyvrp.stop.StoppingCriterion,
    seed: int,
    params: pyvrp.SolveParams,
    init: pyvrp.Solution | None,
    neighbours: dict[Any, list[Any]],
) -> pyvrp.Result:
    """PyVRP's iterated local search assembled from its public parts, as ``pyvrp.solve`` does, with our neighbourhood."""
    rng = pyvrp.RandomNumberGenerator(seed=seed)
    ls = LocalSearch(data, rng, neighbours, PerturbationManager(params.perturbation))
    for op in params.operators:
        if op.supports(data):
            ls.add_operator(op(data))
    pm = pyvrp.PenaltyManager(params.penalty.midpoint_penalties(data), params.penalty)
    if init is None:
        init = ls(pyvrp.Solution.make_random(data, rng), pm.max_cost_evaluator(), exhaustive=True)
    return pyvrp.IteratedLocalSearch(data, pm, ls, init, params.ils).run(stop, False, False, params.display_interval)


def _peak_load(problem: RoutingProblem, order: list[int], start: int) -> int:
    """The highest load along ``order`` for a vehicle that starts with ``start`` on board besides its deliveries."""
    paired = problem.paired
    load = start + sum(problem.stops[i].delivery for i in order if i not in paired)
    top = load
    for i in order:
        load += problem.stops[i].pickup - problem.stops[i].delivery
        top = max(top, load)
    return top


def _with_room_for_dropped_goods(
    problem: RoutingProblem, routes: list[tuple[int, ...]], visited: set[int]
) -> tuple[list[tuple[int, ...]], set[int]]:
    """Goods on board for a delivery left out stay on board, which PyVRP's model (deliveries are loaded at the start
    only when served) does not see: take pickups off such a route, last first, until the load fits again."""
    onboard = set(_onboard_stops(problem))
    base = _base_loads(problem)
    out = list(routes)
    for vi, seq in enumerate(routes):
        stuck = sum(problem.stops[i].delivery for i in onboard if i not in visited and problem.stops[i].allowed_vehicles == frozenset({vi}))
        if not stuck:
            continue
        keep = list(seq)
        cap = problem.vehicles[vi].capacity
        paired = problem.paired

        while keep and _peak_load(problem, keep, base[vi] + stuck) > cap:
            last = max((k for k, i in enumerate(keep) if problem.stops[i].pickup and i not in paired and problem.stops[i].penalty is not None), default=None)
            if last is None:
                raise InfeasibleError(f"vehicle {problem.vehicles[vi].id}: the goods on board leave no room for its mandatory stops")
            visited.discard(keep.pop(last))
        out[vi] = tuple(keep)
    return out, visited


def _without_misplaced(
    problem: RoutingProblem, routes: list[tuple[int, ...]], visited: set[int]
) -> tuple[list[tuple[int, ...]], set[int]]:
    """Take optional stops off vehicles that may not serve them (a closed arc taken all the same: it only
    happens when nothing else was found for them); a mandatory one so placed means no feasible plan."""
    out: list[tuple[int, ...]] = []
    for vi, seq in enumerate(routes):
        keep = []
        for si in seq:
            if problem.can_serve(vi, si):
                keep.append(si)
            elif problem.stops[si].penalty is None:
                raise InfeasibleError(f"PyVRP found no plan that serves {problem.stops[si].id} on a vehicle allowed to")
            else:
                visited.discard(si)
        out.append(tuple(keep))
    return out, visited


@dataclass(frozen=True, slots=True)
class _TypeKey:
    start: int
    end: int
    capacity: tuple[int, ...]
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

        scale = _scale(problem)
        groups = restriction_groups(problem)
        by_profile, groups = _split_restrictions(problem, groups)
        extra, rooms = _restriction_dimensions(problem, groups)
        base = _base_loads(problem)

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
                    delivery=[s.delivery, *(e[si] for e in extra)],
                    pickup=[s.pickup, *(0 for _ in extra)],
                    service_duration=s.service,
                    tw_early=early,
                    tw_late=min(late, _MAX),
                    prize=scale.prize(s.penalty or 0),
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
                    amount=[ps.pickup, *(max(e[p.pickup], e[p.delivery]) for e in extra)],
                    prize=0 if required else scale.prize((ps.penalty or 0) + (ds.penalty or 0)),
                    required=required,
                    name=ps.id,
                )
            )

        dists, durs, profile_of = _profiles(problem, by_profile, scale, clients, shipments)
        keys: list[_TypeKey] = []
        members: dict[_TypeKey, list[int]] = {}
        for vi, v in enumerate(problem.vehicles):
            room = (max(0, v.capacity - base[vi]), *(r[vi] for r in rooms))
            key = _TypeKey(
                v.start, v.end, room, v.ready, min(v.latest_end, _MAX), profile_of[vi], v.cost_per_distance,
                v.fixed_cost + problem.vehicle_cost, v.max_duration,
            )
            if key not in members:
                keys.append(key)
                members[key] = []
            members[key].append(vi)
        vtypes = [
            pyvrp.VehicleType(
                num_available=len(members[k]),
                capacity=list(k.capacity),
                start_depot=depot_of[k.start],
                end_depot=depot_of[k.end],
                fixed_cost=round(k.fixed / scale.divisor),
                tw_early=k.ready,
                tw_late=k.latest_end if k.latest_end < INF_TIME else _MAX,
                shift_duration=k.max_duration if k.max_duration is not None else _MAX,
                unit_distance_cost=k.cost // scale.divisor,
                profile=k.profile,
            )
            for k in keys
        ]
        data = pyvrp.ProblemData(locations, clients, depots, vtypes, dists, durs, [], shipments)
        del dists, durs  # ProblemData holds its own copies

        if options.iterations is not None:
            stop: pyvrp.stop.StoppingCriterion = MaxIterations(options.iterations)
        else:
            stop = MaxRuntime(max(0.05, options.time_limit_s * 0.97 - (time.perf_counter() - t0)))
        init = None
        if initial is None and problem.warm_start is not None:
            initial = problem.warm_start
        if initial is not None:
            init = self._seed(data, problem, initial, client_stop, keys, members)
        with warnings.catch_warnings():
            # PyVRP warns when its penalties hit their bound on tight instances; infeasibility is
            # reported below (and the caller falls back to OR-Tools), so the warning adds nothing.
            warnings.simplefilter("ignore", PenaltyBoundWarning)
            prizes = [c.prize for c in clients] + [sh.prize for sh in shipments]
            params = pyvrp.SolveParams()
            if any(prizes):
                cap = max(params.penalty.max_penalty, PENALTY_OVER_PRIZE * max(prizes))
                params = pyvrp.SolveParams(penalty=replace(params.penalty, max_penalty=cap))
            allowed = [frozenset(vi for vi in range(len(problem.vehicles)) if problem.can_serve(vi, si)) for si in client_stop]
            if any(len(a) < len(problem.vehicles) for a in allowed):
                result = _search(data, stop, options.seed, params, init, _restricted_neighbours(data, problem, client_stop, allowed, params))
            else:
                result = pyvrp.solve(data, stop, seed=options.seed, collect_stats=False, display=False, initial_solution=init, params=params)
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
        routes, visited = _without_misplaced(problem, routes, visited)
        routes, visited = _with_room_for_dropped_goods(problem, routes, visited)
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
