"""Checking a domain plan against its world: :func:`check_plan` (the rules and the clock's allowances are listed in :mod:`solvers.checker`)."""

from __future__ import annotations

from collections.abc import Mapping

from copilot.core.domain import Order, OrderKind, Plan, Route, Vehicle, World
from copilot.core.ports import Violation
from solvers.checker.arithmetic import drive_seconds, great_circle_m

_LEG_TOLERANCE_S = 1
_DISTANCE_REL_TOLERANCE = 0.005
_DISTANCE_ABS_TOLERANCE_M = 1


def _in_windows(t: int, order: Order) -> bool:
    return not order.windows or any(w.start <= t <= w.end for w in order.windows)


def check_plan(world: World, plan: Plan, clock: int | None = None) -> list[Violation]:
    """Every violation of a domain plan against its world, everything recomputed from raw data."""
    if clock is None:
        clock = plan.clock
    out: list[Violation] = []
    orders = {o.id: o for o in world.orders}
    vehicles = {v.id: v for v in world.vehicles}
    depots = {d.id: d for d in world.depots}

    # where every order is routed: order id -> (route number, position)
    placed: dict[str, tuple[int, int]] = {}
    route_vehicles: set[str] = set()
    for r_no, route in enumerate(plan.routes):
        if route.vehicle_id in route_vehicles:
            out.append(Violation("duplicate_route", f"route {r_no} ({route.vehicle_id})", "vehicle has more than one route"))
        route_vehicles.add(route.vehicle_id)
        if route.vehicle_id not in vehicles:
            out.append(Violation("unknown_vehicle", f"route {r_no}", f"vehicle {route.vehicle_id!r} is not in world {world.name!r}"))
        for pos, visit in enumerate(route.visits):
            where = f"route {r_no} ({route.vehicle_id}) visit {pos} ({visit.order_id})"
            if visit.order_id not in orders:
                out.append(Violation("unknown_order", where, f"order {visit.order_id!r} is not in world {world.name!r}"))
                continue
            if visit.order_id in placed:
                other = plan.routes[placed[visit.order_id][0]].vehicle_id
                out.append(Violation("duplicate_visit", where, f"order already visited on the route of {other}"))
                continue
            placed[visit.order_id] = (r_no, pos)
            if orders[visit.order_id].cancelled and not (clock is not None and visit.start < clock):
                # (a visit made before the clock is history: the order may have been cancelled since)
                out.append(Violation("cancelled_order", where, "the order is cancelled"))

    unassigned: set[str] = set()
    for u in plan.unassigned:
        if u.order_id not in orders:
            out.append(Violation("unknown_order", f"unassigned {u.order_id}", f"order {u.order_id!r} is not in world {world.name!r}"))
            continue
        if u.order_id in placed:
            out.append(Violation("routed_and_unassigned", f"order {u.order_id}", "order is both routed and listed as unassigned"))
        unassigned.add(u.order_id)

    # pickups taken as done before the clock: left out of the plan, their delivery routed
    done_before_clock: dict[str, int] = {}  # pickup id -> route number of its delivery
    if clock is not None:
        for o in world.orders:
            if (
                o.kind is OrderKind.DELIVERY
                and o.pair_id is not None
                and o.id in placed
                and o.pair_id not in placed
                and o.pair_id not in unassigned
                and not orders[o.pair_id].cancelled
            ):
                done_before_clock[o.pair_id] = placed[o.id][0]

    for o in world.orders:
        if not o.cancelled and o.id not in placed and o.id not in unassigned and o.id not in done_before_clock:
            out.append(Violation("missing_order", f"order {o.id}", "order is neither routed nor listed as unassigned"))

    out.extend(_check_pairs(world, plan, placed, done_before_clock, clock))

    # depot-loaded goods of orders no route serves any more (dropped or cancelled after loading)
    stranded = sum(
        o.demand
        for o in world.orders
        if o.kind is OrderKind.DELIVERY and o.pair_id is None and o.id not in placed and (o.cancelled or o.id in unassigned)
    )
    for r_no, route in enumerate(plan.routes):
        vehicle = vehicles.get(route.vehicle_id)
        if vehicle is None or vehicle.depot_id not in depots:
            continue
        onboard = sum(orders[d_id].demand for d_id, p_id in _pairs_on_route(route, orders) if done_before_clock.get(p_id) == r_no)
        spare = stranded if clock is not None and route.start < clock else 0
        out.extend(_check_route_plan(world, route, r_no, vehicle, orders, placed, onboard, spare, clock))
    return out


def _pairs_on_route(route: Route, orders: Mapping[str, Order]) -> list[tuple[str, str]]:
    """(delivery id, pickup id) for every known paired delivery on the route."""
    found: list[tuple[str, str]] = []
    for v in route.visits:
        o = orders.get(v.order_id)
        if o is not None and o.kind is OrderKind.DELIVERY and o.pair_id is not None:
            found.append((o.id, o.pair_id))
    return found


def _check_pairs(
    world: World,
    plan: Plan,
    placed: Mapping[str, tuple[int, int]],
    done_before_clock: Mapping[str, int],
    clock: int | None,
) -> list[Violation]:
    out: list[Violation] = []
    for o in world.orders:
        if o.kind is not OrderKind.PICKUP or o.pair_id is None:
            continue
        where = f"pair {o.id} -> {o.pair_id}"
        if o.id in done_before_clock:
            continue
        a, b = placed.get(o.id), placed.get(o.pair_id)
        if a is None and b is None:
            continue
        if a is None or b is None:
            if a is not None and clock is not None and plan.routes[a[0]].visits[a[1]].start < clock:
                continue  # picked up before the clock, the delivery has since been dropped: goods stay on board
            half = "pickup" if a is not None else "delivery"
            out.append(Violation("pair", where, f"only the {half} is routed"))
        elif a[0] != b[0]:
            out.append(
                Violation(
                    "pair",
                    where,
                    f"pickup on the route of {plan.routes[a[0]].vehicle_id}, delivery on that of {plan.routes[b[0]].vehicle_id}",
                )
            )
        elif a[1] > b[1]:
            out.append(Violation("pair", where, f"delivery before pickup on the route of {plan.routes[a[0]].vehicle_id}"))
    return out


def _check_route_plan(
    world: World,
    route: Route,
    r_no: int,
    vehicle: Vehicle,
    orders: Mapping[str, Order],
    placed: Mapping[str, tuple[int, int]],
    onboard: int,
    spare: int,
    clock: int | None = None,
) -> list[Violation]:
    out: list[Violation] = []
    depot = next(d for d in world.depots if d.id == vehicle.depot_id)
    rname = f"route {r_no} ({vehicle.id})"
    shift = vehicle.shift

    if route.start < shift.start:
        out.append(Violation("shift_start", rname, f"leaves at {route.start}, shift starts at {shift.start}"))
    if route.start < depot.hours.start:
        out.append(Violation("depot_hours", rname, f"leaves at {route.start}, depot {depot.id} opens at {depot.hours.start}"))

    # the visits this route really owns (repeats and unknown orders are reported elsewhere)
    own = [(pos, v, orders[v.order_id]) for pos, v in enumerate(route.visits) if placed.get(v.order_id) == (r_no, pos)]

    here = depot.location
    t_prev = route.start
    distance = 0
    for pos, visit, order in own:
        where = f"{rname} visit {pos} ({order.id})"
        leg = great_circle_m(here.lat, here.lng, order.location.lat, order.location.lng)
        distance += leg
        earliest = t_prev + drive_seconds(leg, vehicle.speed_kmh)
        if earliest > visit.arrival + _LEG_TOLERANCE_S:
            out.append(Violation("travel_time", where, f"stated arrival {visit.arrival}, cannot arrive before {earliest}"))
        if visit.start < visit.arrival:
            out.append(Violation("schedule", where, f"service starts at {visit.start}, before arrival at {visit.arrival}"))
        history = clock is not None and visit.start < clock
        if history:
            # (a visit made before the clock is history: the order's service time may have been changed since)
            if visit.departure < visit.start:
                out.append(Violation("schedule", where, f"departure {visit.departure} before the start {visit.start}"))
        elif visit.departure != visit.start + order.service_s:
            out.append(
                Violation("schedule", where, f"departure {visit.departure} is not start {visit.start} + service {order.service_s} s")
            )
        if not _in_windows(visit.start, order) and not (clock is not None and visit.start < clock):
            # (a visit made before the clock is history: its window may have been changed since)
            spans = ", ".join(f"{w.start}-{w.end}" for w in order.windows)
            out.append(Violation("time_window", where, f"service starts at {visit.start}, outside every window ({spans})"))
        if visit.start < shift.start:
            out.append(Violation("shift_start", where, f"service starts at {visit.start}, shift starts at {shift.start}"))
        if visit.start > shift.end:
            out.append(Violation("shift_end", where, f"service starts at {visit.start}, shift ends at {shift.end}"))
        if vehicle.unavailable_from is not None and visit.start > vehicle.unavailable_from:
            out.append(
                Violation(
                    "unavailable_vehicle", where, f"service starts at {visit.start}, vehicle unavailable from {vehicle.unavailable_from}"
                )
            )
        if order.required_skill is not None and order.required_skill not in vehicle.skills:
            out.append(Violation("skill", where, f"needs skill {order.required_skill!r}, vehicle has {sorted(vehicle.skills)}"))
        here = order.location
        t_prev = visit.departure if history else max(visit.departure, visit.start + order.service_s)

    leg = great_circle_m(here.lat, here.lng, depot.location.lat, depot.location.lng)
    distance += leg
    back = t_prev + drive_seconds(leg, vehicle.speed_kmh)
    if back > route.end + _LEG_TOLERANCE_S:
        out.append(Violation("travel_time", rname, f"stated end {route.end}, cannot be back before {back}"))
    end = max(route.end, back)
    if end > shift.end:
        out.append(Violation("shift_end", rname, f"back at {end}, shift ends at {shift.end}"))
    if end > depot.hours.end:
        out.append(Violation("depot_hours", rname, f"back at {end}, depot {depot.id} closes at {depot.hours.end}"))
    if vehicle.max_route_duration_s is not None and end - route.start > vehicle.max_route_duration_s:
        out.append(Violation("max_duration", rname, f"route takes {end - route.start} s, the limit is {vehicle.max_route_duration_s} s"))
    if abs(route.distance_m - distance) > _DISTANCE_REL_TOLERANCE * distance + _DISTANCE_ABS_TOLERANCE_M:
        out.append(Violation("distance", rname, f"stated {route.distance_m} m, recomputed {distance} m"))

    load = onboard + sum(o.demand for _p, _v, o in own if o.kind is OrderKind.DELIVERY and o.pair_id is None)
    left_before_clock = clock is not None and route.start < clock
    if load <= route.start_load <= load + spare or (left_before_clock and 0 <= route.start_load <= vehicle.capacity):
        # a route started before the clock may still carry goods of dropped orders, or goods loaded as the
        # orders' demand was then (history: a delivery's demand may have been changed since it left)
        load = route.start_load
    else:
        extra = f" (up to {load + spare} with goods of dropped orders)" if spare else ""
        out.append(Violation("load", rname, f"stated start load {route.start_load}, recomputed {load}{extra}"))
    if not 0 <= load <= vehicle.capacity:
        out.append(Violation("capacity", f"{rname} at departure", f"load {load} outside 0..{vehicle.capacity}"))
    for pos, visit, order in own:
        where = f"{rname} visit {pos} ({order.id})"
        if clock is not None and visit.start < clock:
            load = visit.load_after  # history: the parcels handed over then, whatever the order says now
        else:
            load += order.demand if order.kind is OrderKind.PICKUP else -order.demand
        if visit.load_after != load:
            out.append(Violation("load", where, f"stated load after {visit.load_after}, recomputed {load}"))
        if not 0 <= load <= vehicle.capacity:
            out.append(Violation("capacity", where, f"load {load} outside 0..{vehicle.capacity}"))
    return out
