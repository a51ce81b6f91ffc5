"""Plan a world: build the routing problem (clock, pins, breakdowns, warm start), solve, time and check.

The solver and the feasibility checker come in through :class:`PlanningDeps` (the core's ports), so
this module knows no engine. Work that started before the clock is frozen and kept as it was.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from copilot.domain import Order, OrderKind, Plan, Priority, Route, Unassigned, Vehicle, Visit, World
from copilot.errors import InputError
from copilot.ports import FeasibilityChecker, RoutingSolver
from copilot.routing import FleetVehicle, Pair, RoutingProblem, SolveOptions, Stop
from copilot.units import haversine_m, travel_seconds


@dataclass(frozen=True, slots=True)
class PlanningDeps:
    """What planning needs from outside: a routing solver and an independent checker."""

    solver: RoutingSolver
    checker: FeasibilityChecker


@dataclass(frozen=True, slots=True)
class PlanSettings:
    """Search settings and drop penalties (in cost units: metres x cost per km x 1000)."""

    time_limit_s: float = 5.0
    seed: int = 0
    iterations: int | None = None
    engine: str = "auto"
    penalty_normal: int = 10**10
    penalty_high: int = 10**11

    def __post_init__(self) -> None:
        if self.time_limit_s <= 0:
            raise InputError(f"time limit must be positive seconds, got {self.time_limit_s}")


@dataclass(slots=True)
class _Frozen:
    """What a vehicle has already done (or is doing) at the clock."""

    visits: list[Visit] = field(default_factory=list)
    position: int | None = None  # matrix index of the last started visit
    ready: int = 0
    load: int = 0
    started: bool = False
    start_time: int | None = None
    start_load: int = 0


@dataclass(frozen=True, slots=True)
class ProblemMap:
    """How a :class:`RoutingProblem` maps back to the world."""

    problem: RoutingProblem
    stop_orders: tuple[str, ...]
    vehicle_ids: tuple[str, ...]
    coords: tuple[tuple[float, float], ...]
    frozen: Mapping[str, _Frozen]
    excluded: Mapping[str, str]  # order id -> reason it was not offered to the solver


def _windows(order: Order) -> tuple[tuple[int, int], ...]:
    return tuple((w.start, w.end) for w in order.windows)


def build_problem(
    world: World,
    settings: PlanSettings,
    *,
    clock: int | None = None,
    committed: Plan | None = None,
    pins: Mapping[str, str] | None = None,
    warm_start: bool = True,
) -> ProblemMap:
    """Translate the world (at ``clock``, continuing ``committed``) into a routing problem."""
    pins = dict(pins or {})
    depots = {d.id: d for d in world.depots}
    coords: list[tuple[float, float]] = [(d.location.lat, d.location.lng) for d in world.depots]
    depot_index = {d.id: i for i, d in enumerate(world.depots)}
    orders = {o.id: o for o in world.orders}
    vehicles = list(world.vehicles)
    vindex = {v.id: i for i, v in enumerate(vehicles)}
    for oid, vid in pins.items():
        world.order(oid)
        world.vehicle(vid)

    frozen: dict[str, _Frozen] = {v.id: _Frozen() for v in vehicles}
    done: set[str] = set()
    onboard_on: dict[str, str] = {}  # order id -> vehicle carrying its goods
    if committed is not None and clock is not None:
        for r in committed.routes:
            if r.vehicle_id not in frozen:
                continue
            fz = frozen[r.vehicle_id]
            fz.started = r.start < clock and bool(r.visits)
            fz.start_time, fz.start_load, fz.load = r.start, r.start_load, r.start_load
            for vis in r.visits:
                if vis.start < clock:
                    fz.visits.append(vis)
                    fz.load = vis.load_after
                    done.add(vis.order_id)
            if fz.started:
                for vis in r.visits[len(fz.visits):]:
                    o = orders.get(vis.order_id)
                    if o is not None and o.kind is OrderKind.DELIVERY and (o.pair_id is None or o.pair_id in done):
                        onboard_on[o.id] = r.vehicle_id

    stops: list[Stop] = []
    stop_orders: list[str] = []
    excluded: dict[str, str] = {}
    active = [o for o in world.orders if not o.cancelled and o.id not in done]
    for o in active:
        carrier = onboard_on.get(o.id) or (pins.get(o.id) if o.id in pins else None)
        if o.id in onboard_on and not vehicles[vindex[onboard_on[o.id]]].available:
            excluded[o.id] = f"its goods are on board {onboard_on[o.id]}, which is unavailable"
            continue
        if carrier is not None and not vehicles[vindex[carrier]].available:
            excluded[o.id] = f"pinned to {carrier}, which is unavailable"
            continue
        coords.append((o.location.lat, o.location.lng))
        penalty = settings.penalty_high if o.priority is Priority.HIGH else settings.penalty_normal
        pickup = o.demand if o.kind is OrderKind.PICKUP else 0
        delivery = o.demand if o.kind is OrderKind.DELIVERY else 0
        stops.append(
            Stop(
                id=o.id,
                location=len(coords) - 1,
                pickup=pickup,
                delivery=delivery,
                service=o.service_s,
                windows=_windows(o),
                skill=o.required_skill,
                penalty=penalty,
                allowed_vehicles=frozenset({vindex[carrier]}) if carrier is not None else None,
            )
        )
        stop_orders.append(o.id)
    stop_of = {oid: i for i, oid in enumerate(stop_orders)}
    pairs: list[Pair] = []
    for o in active:
        if o.kind is OrderKind.PICKUP and o.pair_id is not None and o.id in stop_of and o.pair_id in stop_of:
            pairs.append(Pair(stop_of[o.id], stop_of[o.pair_id]))

    fleet: list[FleetVehicle] = []
    fleet_ids: list[str] = []
    for v in vehicles:
        depot = depots[v.depot_id]
        fz = frozen[v.id]
        start_loc = depot_index[v.depot_id]
        ready = max(v.shift.start, depot.hours.start)
        load = 0
        if fz.started:
            last = fz.visits[-1] if fz.visits else None
            if last is not None:
                o = orders[last.order_id]
                coords.append((o.location.lat, o.location.lng))
                start_loc = len(coords) - 1
                ready = max(ready, last.departure)
            else:
                ready = max(ready, fz.start_time or ready)
            load = fz.load
        if clock is not None:
            ready = max(ready, clock)
        fz.ready, fz.position = ready, start_loc
        if v.unavailable_from is not None and v.unavailable_from <= ready:
            continue  # broken down or off duty: keeps what it did, takes nothing new
        latest = min(v.shift.end, depot.hours.end)
        if v.unavailable_from is not None:
            latest = min(latest, v.unavailable_from)
        here, home = coords[start_loc], coords[depot_index[v.depot_id]]
        latest = max(latest, ready + travel_seconds(haversine_m(*here, *home), v.speed_kmh))
        fleet_ids.append(v.id)
        fleet.append(
            FleetVehicle(
                id=v.id,
                start=start_loc,
                end=depot_index[v.depot_id],
                capacity=v.capacity,
                ready=ready,
                latest_end=latest,
                skills=v.skills,
                profile=0,
                cost_per_distance=max(1, round(v.cost_per_km * 1000)),
                fixed_cost=round(v.fixed_cost * 10**6),
                max_duration=v.max_route_duration_s,
                initial_load=min(load, v.capacity),
            )
        )
    fleet_index = {vid: i for i, vid in enumerate(fleet_ids)}
    on_road = frozenset(fleet_index[vid] for vid in fleet_ids if frozen[vid].started)
    everyone = frozenset(range(len(fleet)))
    fixed: list[Stop] = []
    for s in stops:
        if s.allowed_vehicles is not None:  # carried or pinned: translate world index to fleet index
            vid = vehicles[next(iter(s.allowed_vehicles))].id
            s = replace(s, allowed_vehicles=frozenset({fleet_index[vid]}))
        elif s.delivery and s.id not in onboard_on and on_road:
            # goods waiting at the depot cannot join a vehicle that has already left
            s = replace(s, allowed_vehicles=everyone - on_road)
        fixed.append(s)
    stops = fixed

    speeds = sorted({v.speed_kmh for v in vehicles}) or [1.0]
    profile_of = {s: i for i, s in enumerate(speeds)}
    speed_of = {v.id: v.speed_kmh for v in vehicles}
    fleet = [replace(f, profile=profile_of[speed_of[f.id]]) for f in fleet]
    n = len(coords)
    dist = tuple(tuple(haversine_m(*coords[i], *coords[j]) if i != j else 0 for j in range(n)) for i in range(n))
    durations = tuple(tuple(tuple(travel_seconds(d, s) for d in row) for row in dist) for s in speeds)
    onboard = [stop_of[oid] for oid in onboard_on if oid in stop_of]
    warm: tuple[tuple[int, ...], ...] | None = None
    if warm_start and committed is not None:
        warm = tuple(
            tuple(stop_of[oid] for oid in committed.orders_of_vehicle(vid) if oid in stop_of and _may_serve(stops[stop_of[oid]], fleet[k]))
            for k, vid in enumerate(fleet_ids)
        )
        if not any(warm):
            warm = None
    problem = RoutingProblem(
        distance=dist,
        durations=durations,
        stops=tuple(stops),
        vehicles=tuple(fleet),
        pairs=tuple(pairs),
        name=world.name,
        warm_start=warm,
        meta={"onboard_stops": onboard} if onboard else {},
    )
    return ProblemMap(problem, tuple(stop_orders), tuple(fleet_ids), tuple(coords), frozen, excluded)


def _may_serve(stop: Stop, vehicle: FleetVehicle) -> bool:
    return stop.skill is None or stop.skill in vehicle.skills


def plan_world(
    world: World,
    deps: PlanningDeps,
    settings: PlanSettings | None = None,
    *,
    clock: int | None = None,
    committed: Plan | None = None,
    pins: Mapping[str, str] | None = None,
) -> Plan:
    """Plan (or re-plan from ``clock``) the world; the result is checked by the independent checker."""
    settings = settings or PlanSettings()
    pm = build_problem(world, settings, clock=clock, committed=committed, pins=pins)
    options = SolveOptions(time_limit_s=settings.time_limit_s, seed=settings.seed, iterations=settings.iterations, engine=settings.engine)
    solution = deps.solver.solve(pm.problem, options)
    routes: list[Route] = []
    new_by_vehicle = {pm.vehicle_ids[vi]: [pm.stop_orders[i] for i in seq] for vi, seq in enumerate(solution.routes)}
    for v in world.vehicles:
        fz = pm.frozen[v.id]
        new_ids = new_by_vehicle.get(v.id, [])
        if fz.visits or new_ids:
            routes.append(time_route(world, v, fz, new_ids))
    assigned = {oid for r in routes for oid in r.order_ids}
    unassigned: list[Unassigned] = [Unassigned(oid, why) for oid, why in pm.excluded.items()]
    for si in solution.dropped:
        oid = pm.stop_orders[si]
        if oid not in assigned:
            unassigned.append(Unassigned(oid, explain_unassigned(world, world.order(oid), pm, vi_hint=None)))
    engine = solution.engine + (f" ({'; '.join(solution.notes)})" if solution.notes else "")
    plan = Plan(tuple(routes), tuple(unassigned), solver=engine, clock=clock)
    problems = deps.checker.check_plan(world, plan, clock)
    if problems:
        raise RuntimeError("the solver returned a plan that fails the independent check: " + "; ".join(map(str, problems[:5])))
    return plan


def time_route(world: World, vehicle: Vehicle, frozen: _Frozen, new_ids: list[str]) -> Route:
    """Time a route: frozen visits as they were, then new visits at their earliest start."""
    depot = world.depot(vehicle.depot_id)
    orders = {o.id: o for o in world.orders}
    visits = list(frozen.visits)
    seq = [orders[v.order_id] for v in visits] + [orders[i] for i in new_ids]
    unpaired_deliveries = sum(o.demand for o in seq[len(visits):] if o.kind is OrderKind.DELIVERY and o.pair_id is None)
    if frozen.started:
        start = frozen.start_time if frozen.start_time is not None else frozen.ready
        start_load = frozen.start_load
        load = frozen.load
        t = frozen.ready
        here = (seq[len(visits) - 1].location.lat, seq[len(visits) - 1].location.lng) if visits else (depot.location.lat, depot.location.lng)
    else:
        start_load = unpaired_deliveries
        load = start_load
        t = frozen.ready
        here = (depot.location.lat, depot.location.lng)
        start = t
    for k, o in enumerate(seq[len(visits):]):
        arrive = t + travel_seconds(haversine_m(*here, o.location.lat, o.location.lng), vehicle.speed_kmh)
        begin = _earliest_start(o, arrive)
        if k == 0 and not frozen.started and not visits:
            start += begin - arrive  # leave later instead of waiting at the first stop
            arrive = begin
        load += o.demand if o.kind is OrderKind.PICKUP else -o.demand
        visits.append(Visit(o.id, arrive, begin, begin + o.service_s, load))
        t = begin + o.service_s
        here = (o.location.lat, o.location.lng)
    end = t + travel_seconds(haversine_m(*here, depot.location.lat, depot.location.lng), vehicle.speed_kmh)
    pts = [(depot.location.lat, depot.location.lng)] + [(o.location.lat, o.location.lng) for o in seq] + [(depot.location.lat, depot.location.lng)]
    distance = sum(haversine_m(*a, *b) for a, b in itertools.pairwise(pts))
    return Route(vehicle.id, start, end, tuple(visits), distance, start_load)


def _earliest_start(order: Order, arrive: int) -> int:
    if not order.windows:
        return arrive
    for w in order.windows:
        if arrive <= w.end:
            return max(arrive, w.start)
    return arrive  # late: the checker reports it


def explain_unassigned(world: World, order: Order, pm: ProblemMap, vi_hint: int | None) -> str:
    """Why an order is not served, per vehicle, from direct computation (no solver)."""
    reasons: list[str] = []
    could = []
    for fv in pm.problem.vehicles:
        v = world.vehicle(fv.id)
        if not v.available and v.unavailable_from is not None and v.unavailable_from <= fv.ready:
            reasons.append(f"{v.id}: unavailable")
            continue
        if order.required_skill and order.required_skill not in v.skills:
            reasons.append(f"{v.id}: lacks skill {order.required_skill}")
            continue
        if order.demand > v.capacity:
            reasons.append(f"{v.id}: demand {order.demand} exceeds capacity {v.capacity}")
            continue
        lat, lng = pm.coords[fv.start]
        go = travel_seconds(haversine_m(lat, lng, order.location.lat, order.location.lng), v.speed_kmh)
        begin = _earliest_start(order, fv.ready + go)
        depot = world.depot(v.depot_id)
        back = travel_seconds(haversine_m(order.location.lat, order.location.lng, depot.location.lat, depot.location.lng), v.speed_kmh)
        late = bool(order.windows) and not any(w.start <= begin <= w.end for w in order.windows)
        if late:
            reasons.append(f"{v.id}: cannot arrive inside the time window")
            continue
        if begin + order.service_s + back > fv.latest_end:
            reasons.append(f"{v.id}: cannot serve it and return before its shift ends")
            continue
        could.append(v.id)
    if could:
        return "no room left in the routes of " + ", ".join(could) + " (their capacity or time is taken by other orders)"
    return "no vehicle can serve it: " + "; ".join(reasons) if reasons else "no vehicle available"
