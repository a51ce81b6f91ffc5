"""An independent feasibility checker for engine routes and domain plans.

This module shares no code with any solver or with :mod:`copilot.core.units`: it recomputes distances,
travel times, schedules and loads from the raw data on its own, so that a bug in a solver or in the
shared helpers cannot hide itself. It reports every broken rule it finds as a
:class:`~copilot.core.ports.Violation`; an empty list means feasible.

Rules reported by :func:`check_solution` (matrix problems):

``unknown_vehicle``   more routes than problem vehicles (and the extra ones visit stops)
``unknown_stop``      a stop index outside the problem
``duplicate_visit``   a stop visited twice (the repeat is left out of the simulation)
``missing_mandatory`` a stop without penalty that no route visits
``time_window``       no window of the stop is still open at arrival
``shift_end``         the vehicle is back after ``latest_end``
``max_duration``      even with the latest possible departure the route lasts too long
``capacity``          the load leaves ``[0, capacity]`` at the depot or at a stop
``pair``              a pickup-and-delivery pair split, half served or served delivery first;
                      goods on board of one vehicle delivered by another
``skill``             the stop needs a skill the vehicle lacks
``allowed_vehicle``   the stop is pinned to other vehicles

:func:`check_plan` (domain plans) reports, besides ``unknown_vehicle``, ``duplicate_visit``,
``time_window``, ``shift_end``, ``max_duration``, ``capacity``, ``pair`` and ``skill``:

``unknown_order``        a visit or an unassigned entry names an order the world lacks
``duplicate_route``      two routes for one vehicle
``routed_and_unassigned`` an order both routed and listed as unassigned
``missing_order``        an active order neither routed nor listed as unassigned
``cancelled_order``      a cancelled order is routed
``shift_start``          the route or a service starts before the driver's shift
``depot_hours``          the route leaves before the depot opens or returns after it closes
``travel_time``          an arrival (or the return) earlier than driving allows (1 s tolerance per leg)
``schedule``             a service starts before arrival or departure is not start + service time
``distance``             stated route distance off the recomputed one by more than 0.5 % + 1 m
``load``                 stated start load or load after a visit differs from the recomputed one
``unavailable_vehicle``  a service starts after the vehicle's ``unavailable_from``

Load conventions follow :mod:`copilot.core.routing`: unpaired delivery goods are loaded at the depot and
unloaded at their stop; pickups are loaded at their stop. Goods of paired stops are never loaded at
the depot. ``problem.meta["onboard_stops"]`` may name delivery stops (indices or ids) whose goods are
already on board, counted in ``initial_load``: either a collection of stops, or a mapping from vehicle
(index or id) to the stops whose goods that vehicle carries (those must then be served by it).

``clock`` in :func:`check_plan` (``plan.clock`` when not given) marks a re-plan. The plan is a whole day
plan, visits that started before the clock included. With a clock, and only then:

* a pickup routed with its service started before the clock may have its delivery unassigned (or
  cancelled): the goods were picked up and stay on board;
* a route that left before the clock may start with more load than its routed unpaired deliveries, by
  at most the goods of unpaired deliveries no route serves any more (unassigned or cancelled): they were
  loaded at the depot before being dropped; loads are then followed from the stated start load;
* a visit that started before the clock is history: its window, service time (departure minus start) and
  parcels handed over (its load after) are taken as stated, since the order may have been changed since;
  a route that left before the clock keeps the start load it left with (within its capacity);
* a paired delivery may be routed while its pickup is left out of the plan altogether (neither routed
  nor unassigned): the pickup is taken as done before the clock, its goods count as on board of that
  route from the start, and it is not reported as missing.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import SupportsIndex

from copilot.core.domain import Order, OrderKind, Plan, Route, Vehicle, World
from copilot.core.ports import Violation
from copilot.core.routing import RoutingProblem, Stop

__all__ = ["PlanChecker", "check_plan", "check_solution", "drive_seconds", "great_circle_m"]

_EARTH_RADIUS_M = 6_371_008.8
_LEG_TOLERANCE_S = 1
_DISTANCE_REL_TOLERANCE = 0.005
_DISTANCE_ABS_TOLERANCE_M = 1


# --------------------------------------------------------------------------------------------------
# Own arithmetic (deliberately not shared with copilot.core.units)
# --------------------------------------------------------------------------------------------------


def great_circle_m(lat_a: float, lng_a: float, lat_b: float, lng_b: float) -> int:
    """Haversine distance between two points in whole metres (Earth radius 6371008.8 m)."""
    phi_a = lat_a * math.pi / 180.0
    phi_b = lat_b * math.pi / 180.0
    half_dphi = (phi_b - phi_a) / 2.0
    half_dlam = (lng_b - lng_a) * math.pi / 360.0
    h = math.sin(half_dphi) ** 2 + math.cos(phi_a) * math.cos(phi_b) * math.sin(half_dlam) ** 2
    h = min(1.0, max(0.0, h))
    return round(2.0 * _EARTH_RADIUS_M * math.asin(math.sqrt(h)))


def drive_seconds(metres: int, speed_kmh: float) -> int:
    """Whole seconds (rounded up) to drive ``metres`` at ``speed_kmh``."""
    exact = metres * 3.6 / speed_kmh
    # a hair of slack so that 900.0000000001 s is not rounded up to 901 s
    return max(0, math.ceil(exact - 1e-9))


# --------------------------------------------------------------------------------------------------
# Matrix problems
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Schedule:
    """Earliest schedule of one route for one departure time."""

    departure: int
    return_time: int
    misses: tuple[int, ...]  # positions in the route where no window was open at arrival
    arrivals: tuple[int, ...]


def _earliest_service(arrival: int, windows: Sequence[tuple[int, int]]) -> int | None:
    """Earliest service start at or after ``arrival`` inside some window; None when all are closed."""
    if not windows:
        return arrival
    best: int | None = None
    for a, b in windows:
        if b >= arrival:
            s = arrival if arrival > a else a
            if best is None or s < best:
                best = s
    return best


def _simulate(problem: RoutingProblem, vehicle: int, seq: Sequence[int], departure: int, ignore: frozenset[int] = frozenset()) -> _Schedule:
    """Earliest schedule from ``departure``; windows of the positions in ``ignore`` are left out."""
    veh = problem.vehicles[vehicle]
    dur = problem.durations[veh.profile]
    t = departure
    here = veh.start
    misses: list[int] = []
    arrivals: list[int] = []
    for pos, i in enumerate(seq):
        stop = problem.stops[i]
        arrival = t + dur[here][stop.location]
        arrivals.append(arrival)
        start = arrival if pos in ignore else _earliest_service(arrival, stop.windows)
        if start is None:
            misses.append(pos)
            start = arrival  # keep going as if served on arrival
        t = start + stop.service
        here = stop.location
    return _Schedule(departure, t + dur[here][veh.end], tuple(misses), tuple(arrivals))


def _shortest_duration(problem: RoutingProblem, vehicle: int, seq: Sequence[int], base: _Schedule) -> int:
    """Shortest depot-to-depot duration over every departure that keeps the route as feasible as ``base``.

    Stops whose windows ``base`` (the schedule from ``ready``) misses are treated as having no window, so
    that a window violation is not reported a second time as a duration violation.

    The earliest schedule from a departure ``D`` is evaluated for ``D = ready`` and for every ``D`` at which,
    driving without waiting, some stop would be reached exactly at the end of one of its windows or the
    vehicle would be back exactly at its latest return. One of these is always a best departure: from any
    feasible departure, delaying up to the first such point moves only the stops before the first wait,
    keeps every chosen window and never lengthens the route.
    """
    veh = problem.vehicles[vehicle]
    dur = problem.durations[veh.profile]
    ignore = frozenset(base.misses)
    best = base.return_time - base.departure
    limit = max(veh.latest_end, base.return_time)
    candidates: set[int] = set()
    offset = 0
    here = veh.start
    for pos, i in enumerate(seq):
        stop = problem.stops[i]
        offset += dur[here][stop.location]
        if pos not in ignore:
            for _a, b in stop.windows:
                candidates.add(b - offset)
        offset += stop.service
        here = stop.location
    offset += dur[here][veh.end]
    candidates.add(limit - offset)
    for d in sorted(candidates):
        if d <= base.departure:
            continue
        sched = _simulate(problem, vehicle, seq, d, ignore)
        if sched.misses or sched.return_time > limit:
            continue
        best = min(best, sched.return_time - d)
    return best


def _onboard(problem: RoutingProblem) -> tuple[frozenset[int], dict[int, int]]:
    """Stops whose goods are on board from the start, and (where known) which vehicle carries them."""
    raw = problem.meta.get("onboard_stops")
    if raw is None:
        return frozenset(), {}
    stop_by_id = {s.id: n for n, s in enumerate(problem.stops)}
    vehicle_by_id = {v.id: n for n, v in enumerate(problem.vehicles)}

    def stop_index(x: object) -> int | None:
        if isinstance(x, bool):
            return None
        if isinstance(x, int):
            return x if 0 <= x < len(problem.stops) else None
        if isinstance(x, str):
            return stop_by_id.get(x)
        return None

    def stops_of(value: object) -> list[int]:
        if isinstance(value, str | int):
            value = [value]
        if not isinstance(value, Iterable):
            return []
        return [n for n in (stop_index(x) for x in value) if n is not None]

    carrier: dict[int, int] = {}
    flat: set[int] = set()
    if isinstance(raw, Mapping):
        for key, value in raw.items():
            k: int | None
            if isinstance(key, bool):
                k = None
            elif isinstance(key, int):
                k = key if 0 <= key < len(problem.vehicles) else None
            elif isinstance(key, str):
                k = vehicle_by_id.get(key)
            else:
                k = None
            for n in stops_of(value):
                flat.add(n)
                if k is not None:
                    carrier[n] = k
    else:
        flat.update(stops_of(raw))
    return frozenset(flat), carrier


def _as_index(x: object) -> int | None:
    """A whole-number stop index (numpy integers too), or None for anything else (bools included)."""
    if isinstance(x, bool) or not isinstance(x, SupportsIndex):
        return None
    return operator.index(x)


def _stop_name(problem: RoutingProblem, i: int) -> str:
    return f"stop {i} ({problem.stops[i].id})"


def check_solution(problem: RoutingProblem, routes: Sequence[Sequence[int]]) -> list[Violation]:
    """Every violation of raw engine routes: one stop sequence per problem vehicle, in vehicle order.

    A shorter list leaves the remaining vehicles unused. Unknown and repeated stop indices are reported
    and left out of the time and load simulation.
    """
    out: list[Violation] = []
    n_stops = len(problem.stops)
    paired = frozenset(i for p in problem.pairs for i in (p.pickup, p.delivery))
    pickup_of = {p.delivery: p.pickup for p in problem.pairs}
    onboard, carrier = _onboard(problem)

    seen: dict[int, tuple[int, int]] = {}  # stop -> (vehicle, position in the cleaned route)
    cleaned: list[list[int]] = []
    for k, raw_seq in enumerate(routes):
        if k >= len(problem.vehicles):
            if len(raw_seq) > 0:
                out.append(Violation("unknown_vehicle", f"route {k}", f"the problem has only {len(problem.vehicles)} vehicles"))
            continue
        seq: list[int] = []
        for pos, raw in enumerate(raw_seq):
            i = _as_index(raw)
            if i is None or not 0 <= i < n_stops:
                out.append(Violation("unknown_stop", f"vehicle {k} position {pos}", f"stop index {raw!r} is not in 0..{n_stops - 1}"))
                continue
            if i in seen:
                other = seen[i][0]
                out.append(
                    Violation(
                        "duplicate_visit", f"vehicle {k} position {pos}", f"{_stop_name(problem, i)} already visited by vehicle {other}"
                    )
                )
                continue
            seen[i] = (k, len(seq))
            seq.append(i)
        cleaned.append(seq)

    for i, stop in enumerate(problem.stops):
        if stop.penalty is None and i not in seen:
            out.append(Violation("missing_mandatory", _stop_name(problem, i), "mandatory stop is not visited"))

    for k, seq in enumerate(cleaned):
        if seq:
            out.extend(_check_route(problem, k, seq, paired, pickup_of, onboard))

    for p in problem.pairs:
        where = f"pair {_stop_name(problem, p.pickup)} -> {_stop_name(problem, p.delivery)}"
        a, b = seen.get(p.pickup), seen.get(p.delivery)
        if a is None and b is None:
            continue
        if a is None or b is None:
            half = "pickup" if a is not None else "delivery"
            out.append(Violation("pair", where, f"only the {half} is served"))
        elif a[0] != b[0]:
            out.append(Violation("pair", where, f"pickup on vehicle {a[0]}, delivery on vehicle {b[0]}"))
        elif a[1] > b[1]:
            out.append(Violation("pair", where, f"delivery before pickup on vehicle {a[0]}"))

    for i, k in sorted(carrier.items()):
        got = seen.get(i)
        if got is not None and got[0] != k:
            out.append(Violation("pair", _stop_name(problem, i), f"goods on board of vehicle {k} but served by vehicle {got[0]}"))
    return out


def _check_route(
    problem: RoutingProblem,
    k: int,
    seq: list[int],
    paired: frozenset[int],
    pickup_of: Mapping[int, int],
    onboard: frozenset[int],
) -> list[Violation]:
    out: list[Violation] = []
    veh = problem.vehicles[k]
    vname = f"vehicle {k} ({veh.id})"

    for i in seq:
        stop = problem.stops[i]
        if stop.skill is not None and stop.skill not in veh.skills:
            out.append(
                Violation("skill", f"{vname} at {_stop_name(problem, i)}", f"needs skill {stop.skill!r}, vehicle has {sorted(veh.skills)}")
            )
        if stop.allowed_vehicles is not None and k not in stop.allowed_vehicles:
            out.append(
                Violation(
                    "allowed_vehicle", f"{vname} at {_stop_name(problem, i)}", f"stop allows only vehicles {sorted(stop.allowed_vehicles)}"
                )
            )

    base = _simulate(problem, k, seq, veh.ready)
    for pos in base.misses:
        i = seq[pos]
        out.append(
            Violation(
                "time_window",
                f"{vname} at {_stop_name(problem, i)}",
                f"arrives at {base.arrivals[pos]}, every window is closed by then: {list(problem.stops[i].windows)}",
            )
        )
    if base.return_time > veh.latest_end:
        out.append(Violation("shift_end", vname, f"back at {base.return_time}, shift ends at {veh.latest_end}"))
    if veh.max_duration is not None:
        shortest = _shortest_duration(problem, k, seq, base)
        if shortest > veh.max_duration:
            out.append(Violation("max_duration", vname, f"route takes at least {shortest} s, the limit is {veh.max_duration} s"))

    load = veh.initial_load + sum(problem.stops[i].delivery for i in seq if i not in paired and i not in onboard)
    if not 0 <= load <= veh.capacity:
        out.append(Violation("capacity", f"{vname} at departure", f"load {load} outside 0..{veh.capacity}"))
    for i in seq:
        stop = problem.stops[i]
        load -= _unloaded(problem, stop, i, pickup_of)
        if load < 0:
            out.append(Violation("capacity", f"{vname} at {_stop_name(problem, i)}", f"unloads more than is on board (load {load})"))
        load += stop.pickup
        if load > veh.capacity:
            out.append(Violation("capacity", f"{vname} at {_stop_name(problem, i)}", f"load {load} exceeds capacity {veh.capacity}"))
    return out


def _unloaded(problem: RoutingProblem, stop: Stop, i: int, pickup_of: Mapping[int, int]) -> int:
    """Goods unloaded at a stop: its delivery, or for a paired delivery without one, the pickup's amount."""
    if stop.delivery == 0 and i in pickup_of:
        return problem.stops[pickup_of[i]].pickup
    return stop.delivery


# --------------------------------------------------------------------------------------------------
# Domain plans
# --------------------------------------------------------------------------------------------------


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


class PlanChecker:
    """The independent :class:`~copilot.core.ports.FeasibilityChecker`."""

    name = "independent"

    def check_plan(self, world: World, plan: Plan, clock: int | None = None) -> list[Violation]:
        """Every violation of a domain plan (see :func:`check_plan`)."""
        return check_plan(world, plan, clock)

    def check_solution(self, problem: RoutingProblem, routes: Sequence[Sequence[int]]) -> list[Violation]:
        """Every violation of raw engine routes (see :func:`check_solution`)."""
        return check_solution(problem, routes)
