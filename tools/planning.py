"""Plan a world: build the routing problem (clock, pins, breakdowns, warm start), solve, time and check.

The solver and the feasibility checker come in through :class:`PlanningDeps` (the core's ports), so
this module knows no engine. Work that started before the clock is frozen and kept as it was.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from copilot.core.domain import Order, OrderKind, Plan, Priority, Route, Unassigned, Vehicle, Visit, World
from copilot.core.errors import InputError
from copilot.core.ports import FeasibilityChecker, RoutingSolver
from copilot.core.routing import FleetVehicle, Pair, RoutingProblem, SolveOptions, Stop
from copilot.core.units import haversine_m, travel_matrices, travel_seconds


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
    move_penalty_m: int = 1500  # re-planning: a stop moves to another vehicle only if that saves more than this many metres

    def __post_init__(self) -> None:
        if self.time_limit_s <= 0:
            raise InputError(f"time limit must be positive seconds, got {self.time_limit_s}")


@dataclass(slots=True)
class _Frozen:
    """What a vehicle has already done (or is doing) at the clock."""

    visits: list[Visit] = field(default_factory=list)
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


def frozen_state(world: World, vehicle: Vehicle, route: Route | None, clock: int | None) -> _Frozen:
    """What ``vehicle`` has done, or is doing, at ``clock`` on its committed ``route``, and when it is free.

    Visits that started before the clock are done or in service. A vehicle that has left for its
    next visit is under way to it, and that visit is kept too, unless the vehicle is broken down or
    delayed at the clock, or the order was cancelled (then it stays where it last was). Without a
    clock nothing is frozen.
    """
    fz = _Frozen()
    if route is not None and clock is not None:
        # a vehicle that broke down before the clock did nothing after the breakdown
        cut = clock if vehicle.unavailable_from is None else min(clock, vehicle.unavailable_from)
        fz.started = route.start < cut and bool(route.visits)
        fz.start_time, fz.start_load, fz.load = route.start, route.start_load, route.start_load
        for vis in route.visits:
            if vis.start < cut:
                fz.visits.append(vis)
                fz.load = vis.load_after
        working = (vehicle.unavailable_from is None or vehicle.unavailable_from > clock) and (
            vehicle.delayed_until is None or vehicle.delayed_until <= clock
        )
        k = len(fz.visits)
        if fz.started and working and k < len(route.visits):
            left = fz.visits[-1].departure if fz.visits else route.start
            heading = next((o for o in world.orders if o.id == route.visits[k].order_id), None)
            if left < clock and heading is not None and not heading.cancelled:
                # not started yet: its service time and parcels are the order's as they are now (it may have
                # been changed since the route was committed); kept only while the vehicle can still carry it
                nxt = route.visits[k]
                load = fz.load + (heading.demand if heading.kind is OrderKind.PICKUP else -heading.demand)
                if 0 <= load <= vehicle.capacity:
                    fz.visits.append(replace(nxt, departure=nxt.start + heading.service_s, load_after=load))
                    fz.load = load
    depot = world.depot(vehicle.depot_id)
    ready = max(vehicle.shift.start, depot.hours.start)
    if fz.started:
        ready = max(ready, fz.visits[-1].departure) if fz.visits else max(ready, fz.start_time or ready)
    if clock is not None:
        ready = max(ready, clock)
    if vehicle.delayed_until is not None:
        ready = max(ready, vehicle.delayed_until)
    fz.ready = ready
    return fz


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
    pins = {o.id: o.pinned_vehicle for o in world.orders if o.pinned_vehicle is not None} | dict(pins or {})
    depots = {d.id: d for d in world.depots}
    coords: list[tuple[float, float]] = [(d.location.lat, d.location.lng) for d in world.depots]
    depot_index = {d.id: i for i, d in enumerate(world.depots)}
    orders = {o.id: o for o in world.orders}
    vehicles = list(world.vehicles)
    vindex = {v.id: i for i, v in enumerate(vehicles)}
    for oid, vid in pins.items():
        world.order(oid)
        world.vehicle(vid)

    by_vehicle = {r.vehicle_id: r for r in committed.routes} if committed is not None else {}
    frozen = {v.id: frozen_state(world, v, by_vehicle.get(v.id), clock) for v in vehicles}
    done = {vis.order_id for fz in frozen.values() for vis in fz.visits}
    onboard_on: dict[str, str] = {}  # order id -> vehicle carrying its goods
    for vid, fz in frozen.items():
        if fz.started:
            for vis in by_vehicle[vid].visits[len(fz.visits):]:
                o = orders.get(vis.order_id)
                if o is not None and o.kind is OrderKind.DELIVERY and (o.pair_id is None or o.pair_id in done):
                    onboard_on[o.id] = vid

    stops: list[Stop] = []
    stop_orders: list[str] = []
    excluded: dict[str, str] = {}
    active = [o for o in world.orders if not o.cancelled and o.id not in done]
    def off_now(vid: str) -> bool:
        v = vehicles[vindex[vid]]
        return v.unavailable_from is not None and v.unavailable_from <= frozen[vid].ready

    for o in active:
        carrier = onboard_on.get(o.id) or (pins.get(o.id) if o.id in pins else None)
        if o.id in onboard_on and off_now(onboard_on[o.id]):
            excluded[o.id] = f"its goods are on board {onboard_on[o.id]}, which is unavailable"
            continue
        if carrier is not None and off_now(carrier):
            excluded[o.id] = f"pinned to {carrier}, which is unavailable"
            continue
        if (carrier is not None and o.id not in onboard_on and frozen[carrier].started
                and o.kind is OrderKind.DELIVERY and o.pair_id is None):
            excluded[o.id] = f"pinned to {carrier}, which has already left the depot (its goods wait there)"
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
        load = 0
        ready = fz.ready
        if fz.started:
            load = fz.load
            if fz.visits:
                o = orders[fz.visits[-1].order_id]
                coords.append((o.location.lat, o.location.lng))
                start_loc = len(coords) - 1
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
                max_duration=_remaining_duration(v, fz),
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
        elif s.delivery and s.id not in onboard_on and orders[s.id].pair_id is None and on_road:
            # goods waiting at the depot cannot join a vehicle that has already left
            s = replace(s, allowed_vehicles=everyone - on_road)
        fixed.append(s)
    stops = fixed
    move_penalty = 0
    if committed is not None and settings.move_penalty_m > 0:
        previous = {oid: fleet_index[r.vehicle_id] for r in committed.routes if r.vehicle_id in fleet_index for oid in r.order_ids}
        stops = [replace(s, previous_vehicle=previous.get(s.id)) for s in stops]
        coef = max((f.cost_per_distance for f in fleet), default=1)
        move_penalty = settings.move_penalty_m * coef

    speeds = sorted({v.speed_kmh for v in vehicles}) or [1.0]
    profile_of = {s: i for i, s in enumerate(speeds)}
    speed_of = {v.id: v.speed_kmh for v in vehicles}
    fleet = [replace(f, profile=profile_of[speed_of[f.id]]) for f in fleet]
    dist, durations = travel_matrices(coords, speeds)
    onboard = [stop_of[oid] for oid in onboard_on if oid in stop_of]
    warm: tuple[tuple[int, ...], ...] | None = None
    if warm_start and committed is not None:
        warm = tuple(
            tuple(stop_of[oid] for oid in committed.orders_of_vehicle(vid) if oid in stop_of and _may_serve(stops[stop_of[oid]], fleet[k], k))
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
        move_penalty=move_penalty,
        meta={"onboard_stops": onboard} if onboard else {},
    )
    return ProblemMap(problem, tuple(stop_orders), tuple(fleet_ids), tuple(coords), frozen, excluded)


def _may_serve(stop: Stop, vehicle: FleetVehicle, index: int) -> bool:
    return (stop.skill is None or stop.skill in vehicle.skills) and (stop.allowed_vehicles is None or index in stop.allowed_vehicles)


def _remaining_duration(vehicle: Vehicle, fz: _Frozen) -> int | None:
    """A started route's maximum duration counts from when it left, not from the clock."""
    limit = vehicle.max_route_duration_s
    if limit is None or not fz.started or fz.start_time is None:
        return limit
    return max(0, limit - (fz.ready - fz.start_time))


def plan_world(
    world: World,
    deps: PlanningDeps,
    settings: PlanSettings | None = None,
    *,
    clock: int | None = None,
    committed: Plan | None = None,
    pins: Mapping[str, str] | None = None,
    warm_start: bool = True,
) -> Plan:
    """Plan (or re-plan from ``clock``) the world; the result is checked by the independent checker.

    With ``committed``, work started before ``clock`` is kept, the search starts from the committed
    routes (unless ``warm_start`` is False) and moving a stop to another vehicle costs
    ``settings.move_penalty_m`` metres.
    """
    settings = settings or PlanSettings()
    pm = build_problem(world, settings, clock=clock, committed=committed, pins=pins, warm_start=warm_start)
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
            unassigned.append(Unassigned(oid, explain_unassigned(world, world.order(oid), pm)))
    engine = solution.engine + (f" ({'; '.join(solution.notes)})" if solution.notes else "")
    plan = Plan(tuple(routes), tuple(unassigned), solver=engine, clock=clock)
    problems = deps.checker.check_plan(world, plan, clock)
    if problems:
        raise RuntimeError("the solver returned a plan that fails the independent check: " + "; ".join(map(str, problems[:5])))
    return plan


def time_route(world: World, vehicle: Vehicle, frozen: _Frozen, new_ids: list[str]) -> Route:
    """Time a route: frozen visits as they were, then new visits at their earliest start.

    A vehicle that has not left yet departs so that it does not wait at its first stop; when it has
    a maximum route duration, it departs as late as the windows allow (waiting less on the road).
    A vehicle with no new stops drives home from its last visit as planned.
    """
    depot = world.depot(vehicle.depot_id)
    home = (depot.location.lat, depot.location.lng)
    orders = {o.id: o for o in world.orders}
    frozen_visits = list(frozen.visits)
    new = [orders[i] for i in new_ids]
    seq = [orders[v.order_id] for v in frozen_visits] + new
    if frozen.started:
        start = frozen.start_time if frozen.start_time is not None else frozen.ready
        start_load = frozen.start_load
        last = seq[len(frozen_visits) - 1] if frozen_visits else None
        here = (last.location.lat, last.location.lng) if last is not None else home
        # without new stops it simply drives home from its last visit
        t0 = frozen.ready if new else (frozen_visits[-1].departure if frozen_visits else start)
        visits, end = _forward(vehicle, new, here, t0, frozen.load, home)
        visits = frozen_visits + visits
    else:
        start_load = sum(o.demand for o in new if o.kind is OrderKind.DELIVERY and o.pair_id is None)
        start = frozen.ready
        visits, end = _forward(vehicle, new, home, start, start_load, home)
        if visits:  # leave later instead of waiting at the first stop
            start += visits[0].start - visits[0].arrival
            visits, end = _forward(vehicle, new, home, start, start_load, home)
        limit = vehicle.max_route_duration_s
        if limit is not None and end - start > limit and visits:
            start += _departure_slack(new, visits, end, min(vehicle.shift.end, depot.hours.end))
            visits, end = _forward(vehicle, new, home, start, start_load, home)
    pts = [home] + [(o.location.lat, o.location.lng) for o in seq] + [home]
    distance = sum(haversine_m(*a, *b) for a, b in itertools.pairwise(pts))
    return Route(vehicle.id, start, end, tuple(visits), distance, start_load)


def _forward(vehicle: Vehicle, new: list[Order], here: tuple[float, float], t: int, load: int, home: tuple[float, float]) -> tuple[list[Visit], int]:
    """Earliest-start schedule of ``new`` leaving ``here`` at ``t``; returns the visits and the return time."""
    visits: list[Visit] = []
    for o in new:
        arrive = t + travel_seconds(haversine_m(*here, o.location.lat, o.location.lng), vehicle.speed_kmh)
        begin = _earliest_start(o, arrive)
        load += o.demand if o.kind is OrderKind.PICKUP else -o.demand
        visits.append(Visit(o.id, arrive, begin, begin + o.service_s, load))
        t = begin + o.service_s
        here = (o.location.lat, o.location.lng)
    return visits, t + travel_seconds(haversine_m(*here, *home), vehicle.speed_kmh)


def _departure_slack(new: list[Order], visits: list[Visit], end: int, latest_end: int) -> int:
    """How much later the vehicle can leave without any service leaving its window (forward time slack)."""
    waited = 0
    slack = latest_end - end
    total_wait = 0
    for o, v in zip(new, visits, strict=True):
        waited += v.start - v.arrival
        total_wait = waited
        window_end = next((w.end for w in o.windows if w.start <= v.start <= w.end), None)
        if window_end is not None:
            slack = min(slack, waited + window_end - v.start)
    return max(0, min(slack, total_wait))


def _earliest_start(order: Order, arrive: int) -> int:
    if not order.windows:
        return arrive
    for w in order.windows:
        if arrive <= w.end:
            return max(arrive, w.start)
    return arrive  # late: the checker reports it


def explain_unassigned(world: World, order: Order, pm: ProblemMap) -> str:
    """Why an order is not served, per vehicle, from direct computation (no solver)."""
    reasons: list[str] = []
    could = []
    stop = pm.problem.stops[pm.stop_orders.index(order.id)] if order.id in pm.stop_orders else None
    for fi, fv in enumerate(pm.problem.vehicles):
        v = world.vehicle(fv.id)
        if stop is not None and stop.allowed_vehicles is not None and fi not in stop.allowed_vehicles:
            if order.pinned_vehicle is not None and order.pinned_vehicle != v.id:
                reasons.append(f"{v.id}: the order is pinned to {order.pinned_vehicle}")
            elif order.kind is OrderKind.DELIVERY and order.pair_id is None and pm.frozen[v.id].started:
                reasons.append(f"{v.id}: has left the depot, where the goods wait")
            else:
                reasons.append(f"{v.id}: may not serve it")
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
