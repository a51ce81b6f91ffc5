"""Route timing and feasibility of modified stop sequences, shared by the insertion and explanation tools.

Everything here follows the timing rules of :func:`tools.planning.time_route` (haversine metres from
:mod:`copilot.core.units` at the vehicle's speed, service at the earliest moment inside a window, the first
stop of a route that has not left yet sets the departure) and the clock rules of
:func:`tools.planning.build_problem` (visits that started before the clock are frozen; the vehicle is
ready at its last started visit, or at its depot, at the latest of its shift start, the depot opening,
that visit's departure, the clock and a reported delay).

A :class:`RouteBase` is one vehicle's route at the clock with the per-stop data needed to evaluate an
insertion at any position in time proportional to the stops it delays (usually a few): departures,
legs, loads and their prefix/suffix maxima. :func:`apply_move` builds the modified plan itself with
:func:`~tools.planning.time_route`, so that what the tools state can be reproduced.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from copilot.core.domain import Order, OrderKind, Plan, Route, Vehicle, World
from copilot.core.errors import InputError
from copilot.core.units import format_clock, haversine_m, travel_seconds
from tools.context import find_order, find_vehicle
from tools.planning import frozen_state, time_route

_NO_LIMIT = 10**15

ReasonCode = Literal["", "unavailable", "skill", "capacity", "window", "later_window", "shift_end", "max_duration", "depot_goods",
                     "onboard", "pinned", "paired", "route_infeasible", "started"]
Problem = tuple[ReasonCode, str]

# reason codes, in the words a dispatcher reads
REASON_CODES: dict[str, str] = {
    "unavailable": "vehicle unavailable",
    "skill": "skill missing",
    "capacity": "capacity",
    "window": "the order's time window cannot be reached",
    "later_window": "a later stop would miss its time window",
    "shift_end": "shift end / return to depot",
    "max_duration": "maximum route duration",
    "depot_goods": "delivery goods wait at the depot but the vehicle has left",
    "onboard": "the goods are on board another vehicle",
    "pinned": "pinned to another vehicle",
    "paired": "one half of a pickup-and-delivery pair",
    "route_infeasible": "the vehicle's current route is already infeasible",
    "started": "already started",
}


@dataclass(frozen=True, slots=True)
class Shift:
    """A stop whose service start moves: ``old_start`` -> ``new_start`` (epoch s)."""

    vehicle_id: str
    order_id: str
    old_start: int
    new_start: int


@dataclass(frozen=True, slots=True)
class Insertion:
    """The result of putting one order at one position of one route.

    ``position`` is the 1-based index of the order in the vehicle's new stop list, ``tail_index`` the
    index among the stops not yet started. ``extra_m`` is new distance minus the route's current one;
    ``extra_s`` the change of the route's duration (return minus departure). ``code`` is empty when
    the insertion is feasible, else a key of :data:`REASON_CODES` and ``reason`` says what breaks.
    """

    vehicle_id: str
    position: int
    tail_index: int
    insert_after: str
    code: ReasonCode
    reason: str
    extra_m: int
    extra_s: int
    arrival: int
    start: int
    route_start: int
    route_end: int
    shifts: tuple[Shift, ...]

    @property
    def feasible(self) -> bool:
        """True when no rule breaks."""
        return self.code == ""


def _earliest_start(order: Order, arrive: int) -> int | None:
    """Earliest service start at or after ``arrive`` inside a window (None when every window has closed)."""
    if not order.windows:
        return arrive
    for w in order.windows:
        if arrive <= w.end:
            return max(arrive, w.start)
    return None


def _windows_text(order: Order, offset: int) -> str:
    return ", ".join(f"{format_clock(w.start, offset)}-{format_clock(w.end, offset)}" for w in order.windows)


def _late_text(order: Order, arrive: int, offset: int) -> str:
    """``order`` reached at ``arrive``, after every window: by how much."""
    late = arrive - order.windows[-1].end
    by = f"{late} s" if late < 60 else f"{late / 60:.0f} min"
    return f"{order.id} would be reached at {format_clock(arrive, offset)}, {by} after its window {_windows_text(order, offset)} closes"


def route_time(route: Route | None) -> int:
    """Return minus departure; 0 for a route without visits (plans keep no such route)."""
    return route.end - route.start if route is not None and route.visits else 0


class RouteBase:
    """One vehicle's route at the clock: frozen visits, the stops still to do, and insertion evaluation."""

    def __init__(self, world: World, vehicle: Vehicle, route: Route | None, clock: int | None, tail_ids: Sequence[str] | None = None,
                 orders: Mapping[str, Order] | None = None) -> None:
        self.world = world
        self.vehicle = vehicle
        self.depot = world.depot(vehicle.depot_id)
        self.clock = clock
        self.committed = route
        self.orders = orders if orders is not None else {o.id: o for o in world.orders}
        self.frozen = frozen_state(world, vehicle, route, clock)
        n_frozen = len(self.frozen.visits)
        if tail_ids is None:
            tail_ids = [v.order_id for v in route.visits[n_frozen:]] if route is not None else []
        self.tail: list[Order] = [self.orders[i] for i in tail_ids]
        self.route: Route = time_route(world, vehicle, self.frozen, list(tail_ids))
        self.n_frozen = n_frozen
        self.tail_visits = self.route.visits[n_frozen:]
        speed = vehicle.speed_kmh
        dep = (self.depot.location.lat, self.depot.location.lng)
        if n_frozen:
            last = self.orders[self.frozen.visits[-1].order_id].location
            here0 = (last.lat, last.lng)
        else:
            here0 = dep
        self.points: list[tuple[float, float]] = [here0, *[(o.location.lat, o.location.lng) for o in self.tail], dep]
        self.leg_m = [haversine_m(*a, *b) for a, b in zip(self.points, self.points[1:], strict=False)]
        self.leg_s = [travel_seconds(d, speed) for d in self.leg_m]
        self.first_shift = not self.frozen.started and n_frozen == 0
        self.t0 = self.frozen.ready
        # loads before each tail stop (index j) and after the last one (index m)
        first_load = self.frozen.load if self.frozen.started else self.route.start_load
        self.loads = [first_load, *[v.load_after for v in self.tail_visits]]
        self.prefix_max: list[int] = []
        best = -_NO_LIMIT
        for x in self.loads:
            best = max(best, x)
            self.prefix_max.append(best)
        self.suffix_max = [0] * len(self.loads)
        best = -_NO_LIMIT
        for i in range(len(self.loads) - 1, -1, -1):
            best = max(best, self.loads[i])
            self.suffix_max[i] = best
        limit = min(vehicle.shift.end, self.depot.hours.end)
        if vehicle.unavailable_from is not None:
            limit = min(limit, vehicle.unavailable_from)
        self.limit_end = limit
        self.unavailable = vehicle.unavailable_from is not None and vehicle.unavailable_from <= self.t0
        self.problem = self._own_problem()

    # ---------------------------------------------------------------------------------------------
    @property
    def vehicle_id(self) -> str:
        """The vehicle's id."""
        return self.vehicle.id

    @property
    def distance_m(self) -> int:
        """Distance of the (re-timed) route."""
        return self.route.distance_m

    @property
    def duration_s(self) -> int:
        """Return minus departure of the (re-timed) route (0 without visits: no route is kept then)."""
        return route_time(self.route)

    @property
    def stop_ids(self) -> list[str]:
        """Every stop id, frozen ones first."""
        return [v.order_id for v in self.route.visits]

    def _fmt(self, t: int) -> str:
        return format_clock(t, self.world.utc_offset_s)

    def _stop_problem(self, order: Order, start: int) -> Problem | None:
        """What is wrong with serving ``order`` at ``start`` (None when fine)."""
        v = self.vehicle
        if v.unavailable_from is not None and start > v.unavailable_from:
            return "unavailable", f"{order.id} would start at {self._fmt(start)}, after {v.id} is unavailable from {self._fmt(v.unavailable_from)}"
        if start > v.shift.end:
            return "shift_end", f"{order.id} would start at {self._fmt(start)}, after the shift ends at {self._fmt(v.shift.end)}"
        return None

    def _end_problem(self, route_start: int, end: int) -> Problem | None:
        if end > self.limit_end:
            return "shift_end", f"back at the depot at {self._fmt(end)}, must be back by {self._fmt(self.limit_end)}"
        mx = self.vehicle.max_route_duration_s
        if mx is not None and end - route_start > mx:
            return "max_duration", f"route would take {(end - route_start) / 60:.0f} min, the limit is {mx / 60:.0f} min"
        return None

    def _own_problem(self) -> Problem | None:
        """A rule the re-timed route already breaks without any change (None when feasible)."""
        for o, vis in zip(self.tail, self.tail_visits, strict=True):
            if o.required_skill is not None and o.required_skill not in self.vehicle.skills:
                return "route_infeasible", f"{o.id} needs skill {o.required_skill}"
            if o.windows and not any(w.start <= vis.start <= w.end for w in o.windows):
                return "route_infeasible", _late_text(o, vis.arrival, self.world.utc_offset_s).replace("would be reached", "is reached")
            bad = self._stop_problem(o, vis.start)
            if bad is not None:
                return "route_infeasible", bad[1]
        if self.tail:
            bad = self._end_problem(self.route.start, self.route.end)
            if bad is not None:
                return "route_infeasible", bad[1]
        for x in self.loads:
            if not 0 <= x <= self.vehicle.capacity:
                return "route_infeasible", f"load {x} outside 0..{self.vehicle.capacity}"
        return None

    # ---------------------------------------------------------------------------------------------
    def screen(self, order: Order) -> Problem | None:
        """Vehicle-level reasons that rule out every position (None when positions must be tried)."""
        v = self.vehicle
        if self.unavailable:
            assert v.unavailable_from is not None
            return "unavailable", f"{v.id} is unavailable from {self._fmt(v.unavailable_from)}"
        if order.required_skill is not None and order.required_skill not in v.skills:
            have = sorted(x.id for x in self.world.vehicles if order.required_skill in x.skills)
            return "skill", f"{v.id} lacks skill {order.required_skill!r} (vehicles with it: {', '.join(have) or 'none'})"
        if order.demand > v.capacity:
            return "capacity", f"demand {order.demand} exceeds {v.id}'s capacity {v.capacity}"
        if order.kind is OrderKind.DELIVERY and self.frozen.started:
            return "depot_goods", f"{v.id} has left the depot; the delivery's goods wait there"
        if order.windows and self.t0 > order.windows[-1].end:
            return "window", (f"its window {_windows_text(order, self.world.utc_offset_s)} has closed; {v.id} is ready for new work "
                              f"at {self._fmt(self.t0)} at the earliest")
        if self.problem is not None:
            return self.problem
        return None

    def direct_reason(self, order: Order) -> Problem | None:
        """Why the order cannot be served even going there straight from where the vehicle is ready (a reason, not a proof)."""
        lat, lng = self.points[0]
        arrive = self.t0 + travel_seconds(haversine_m(lat, lng, order.location.lat, order.location.lng), self.vehicle.speed_kmh)
        begin = _earliest_start(order, arrive)
        if begin is None:
            return "window", f"{self.vehicle.id}: " + _late_text(order, arrive, self.world.utc_offset_s).replace("would be reached", "can be reached at the earliest")
        bad = self._stop_problem(order, begin)
        if bad is not None:
            return bad
        dep = self.points[-1]
        back = begin + order.service_s + travel_seconds(haversine_m(order.location.lat, order.location.lng, *dep), self.vehicle.speed_kmh)
        if back > self.limit_end:
            return "shift_end", f"{self.vehicle.id} cannot serve it (at {self._fmt(begin)} at the earliest) and be back by {self._fmt(self.limit_end)}"
        return None

    def insert(self, order: Order, j: int) -> Insertion:
        """Evaluate ``order`` inserted before tail stop ``j`` (``j == len(tail)``: last), with time_route's rules."""
        m = len(self.tail)
        if not 0 <= j <= m:
            raise InputError(f"insertion index {j} outside 0..{m}")
        v = self.vehicle
        vid = v.id
        position = self.n_frozen + j + 1
        after = "depot" if position == 1 else self.tail[j - 1].id if j > 0 else self.frozen.visits[-1].order_id
        prev = self.points[j]
        nxt = self.points[j + 1]
        loc = order.location
        d1 = haversine_m(prev[0], prev[1], loc.lat, loc.lng)
        d2 = haversine_m(loc.lat, loc.lng, nxt[0], nxt[1])
        extra_m = d1 + d2 - self.leg_m[j]
        speed = v.speed_kmh
        t_prev = self.t0 if j == 0 else self.tail_visits[j - 1].departure
        arrive = t_prev + travel_seconds(d1, speed)
        begin = _earliest_start(order, arrive)
        route_start = self.route.start
        code: ReasonCode = ""
        reason = ""
        if begin is None:
            code, reason = "window", _late_text(order, arrive, self.world.utc_offset_s)
            begin = arrive
        if j == 0 and self.first_shift:
            route_start = self.t0 + (begin - arrive)
            arrive = begin
        if not code:
            bad = self._stop_problem(order, begin)
            if bad is not None:
                code, reason = bad
        cap = v.capacity
        if not code:
            if order.kind is OrderKind.PICKUP:
                peak = self.loads[j] + order.demand
                if j < m:
                    peak = max(peak, self.suffix_max[j + 1] + order.demand)
            else:
                peak = self.prefix_max[j] + order.demand
                if self.frozen.started:
                    code, reason = "depot_goods", f"{vid} has left the depot; the delivery's goods wait there"
            if not code and peak > cap:
                code, reason = "capacity", f"load would reach {peak}, capacity is {cap}"
        # push the delay forward until it is absorbed by waiting
        shifts: list[Shift] = []
        t = begin + order.service_s
        end = self.route.end
        absorbed = False
        for i in range(j, m):
            o = self.tail[i]
            a = t + (travel_seconds(d2, speed) if i == j else self.leg_s[i])
            old = self.tail_visits[i].start
            b = _earliest_start(o, a)
            if b == old:
                absorbed = True
                break
            if b is None:
                if not code:
                    code, reason = "later_window", _late_text(o, a, self.world.utc_offset_s)
                b = a
            elif not code:
                bad = self._stop_problem(o, b)
                if bad is not None:
                    code, reason = bad
            shifts.append(Shift(vid, o.id, old, b))
            t = b + o.service_s
        if not absorbed:
            end = t + (travel_seconds(d2, speed) if j == m else self.leg_s[m])
        if not code:
            bad = self._end_problem(route_start, end)
            if bad is not None:
                code, reason = bad
        extra_s = (end - route_start) - self.duration_s
        return Insertion(vid, position, j, after, code, reason, extra_m, extra_s, arrive, begin, route_start, end, tuple(shifts))

    def best(self, order: Order) -> tuple[Insertion | None, Problem | None]:
        """The feasible insertion with the least extra distance (then time), or the reason there is none."""
        screened = self.screen(order)
        if screened is not None:
            return None, screened
        tries = [self.insert(order, j) for j in range(len(self.tail) + 1)]
        ok = [x for x in tries if x.feasible]
        if ok:
            return min(ok, key=lambda x: (x.extra_m, x.extra_s, x.position)), None
        return None, self.explain_failures(order, tries)

    def explain_failures(self, order: Order, tries: Sequence[Insertion]) -> Problem:
        """One reason for a vehicle where every position fails."""
        direct = self.direct_reason(order)
        if direct is not None:
            return direct
        counts: Counter[ReasonCode] = Counter(x.code for x in tries if not x.feasible)
        code = counts.most_common(1)[0][0]
        example = next(x for x in tries if x.code == code)
        parts = ", ".join(f"{REASON_CODES[c]} at {n}" for c, n in counts.most_common())
        return code, f"no position on {self.vehicle.id} works ({len(tries)} tried: {parts}); e.g. after {example.insert_after}: {example.reason}"


class PlanState:
    """Every vehicle's :class:`RouteBase` for one plan at one clock (built lazily)."""

    def __init__(self, world: World, plan: Plan, clock: int | None) -> None:
        self.world = world
        self.plan = plan
        self.clock = clock
        self.orders = {o.id: o for o in world.orders}
        self.routes = {r.vehicle_id: r for r in plan.routes}
        self._bases: dict[str, RouteBase] = {}

    def base(self, vehicle_id: str) -> RouteBase:
        """The vehicle's route at the clock, unchanged."""
        b = self._bases.get(vehicle_id)
        if b is None:
            v = find_vehicle(self.world, vehicle_id)
            b = RouteBase(self.world, v, self.routes.get(vehicle_id), self.clock, orders=self.orders)
            self._bases[vehicle_id] = b
        return b

    def bases(self) -> list[RouteBase]:
        """Every vehicle's route, in world order."""
        return [self.base(v.id) for v in self.world.vehicles]

    def without(self, vehicle_id: str, order_id: str) -> RouteBase:
        """The vehicle's route with ``order_id`` taken out (the others keep their order and are re-timed)."""
        b = self.base(vehicle_id)
        tail = [o.id for o in b.tail if o.id != order_id]
        return RouteBase(self.world, b.vehicle, self.routes.get(vehicle_id), self.clock, tail, orders=self.orders)

    def committed_distance(self, vehicle_id: str) -> int:
        """The route's distance as stated in the plan (0 when the vehicle has none)."""
        r = self.routes.get(vehicle_id)
        return r.distance_m if r is not None else 0

    def located(self, order_id: str) -> tuple[Route, int] | None:
        """The route and 0-based index of a routed order."""
        for r in self.plan.routes:
            for i, v in enumerate(r.visits):
                if v.order_id == order_id:
                    return r, i
        return None


def shifts_between(vehicle_id: str, before: Route, after: Route, skip: Iterable[str] = ()) -> list[Shift]:
    """Stops of ``before`` still on ``after`` whose service start changed."""
    old = {v.order_id: v.start for v in before.visits}
    skipped = set(skip)
    return [Shift(vehicle_id, v.order_id, old[v.order_id], v.start) for v in after.visits
            if v.order_id in old and v.order_id not in skipped and old[v.order_id] != v.start]


def check_movable(world: World, plan: Plan, order_id: str, clock: int | None) -> Order:
    """The order, if it may be moved: known, not cancelled, not started before the clock."""
    order = find_order(world, order_id)
    if order.cancelled:
        raise InputError(f"order {order.id} is cancelled; there is nothing to move")
    if clock is not None:
        vehicles = {v.id: v for v in world.vehicles}
        for r in plan.routes:
            for v in r.visits:
                if v.order_id != order.id:
                    continue
                off = world.utc_offset_s
                if v.start < clock:
                    raise InputError(f"order {order.id} already started at {format_clock(v.start, off)} on {r.vehicle_id} "
                                     f"(clock {format_clock(clock, off)}); a started visit cannot be moved")
                if r.vehicle_id in vehicles and any(f.order_id == order.id for f in frozen_state(world, vehicles[r.vehicle_id], r, clock).visits):
                    raise InputError(f"order {order.id} is under way: {r.vehicle_id} is already driving there "
                                     f"(due {format_clock(v.start, off)}); it cannot be moved")
    return order


def apply_move(world: World, plan: Plan, order_id: str, vehicle_id: str, position: int, clock: int | None) -> Plan:
    """The plan with ``order_id`` served by ``vehicle_id`` as stop ``position`` (1-based, in the new stop list).

    The order is taken out of its route (or out of the unassigned list; an order in neither, e.g. one just
    added, is simply inserted). Both routes are re-timed with :func:`tools.planning.time_route` from the
    vehicles' state at ``clock``; every other route is kept as it is. Feasibility is not checked here:
    pass the result to the checker. Raises InputError for a started or cancelled order or a position
    outside the stops not yet started.
    """
    order = check_movable(world, plan, order_id, clock)
    vehicle = find_vehicle(world, vehicle_id)
    state = PlanState(world, plan, clock)
    here = state.located(order.id)
    source_id = here[0].vehicle_id if here is not None else None
    new_routes: dict[str, Route | None] = {}
    if source_id is not None:
        reduced = state.without(source_id, order.id)
        new_routes[source_id] = reduced.route
    target = state.without(vehicle.id, order.id) if source_id == vehicle.id else state.base(vehicle.id)
    lo, hi = target.n_frozen + 1, target.n_frozen + len(target.tail) + 1
    if not lo <= position <= hi:
        started = f"; stops 1..{target.n_frozen} have already started" if target.n_frozen else ""
        raise InputError(f"position {position} on {vehicle.id} is not possible: choose {lo}..{hi}{started}")
    tail = [o.id for o in target.tail]
    tail.insert(position - lo, order.id)
    new_routes[vehicle.id] = time_route(world, vehicle, target.frozen, tail)
    return rebuild_plan(world, plan, new_routes, order.id, note=f"manual move: {order.id} to {vehicle.id} as stop {position}", clock=clock)


def rebuild_plan(world: World, plan: Plan, changed: Mapping[str, Route | None], placed: str | None, *, note: str, clock: int | None) -> Plan:
    """``plan`` with the routes in ``changed`` replaced (routes without visits dropped), ``placed`` no longer unassigned."""
    routes = {r.vehicle_id: r for r in plan.routes}
    for vid, r in changed.items():
        if r is None or not r.visits:
            routes.pop(vid, None)
        else:
            routes[vid] = r
    order_of = {v.id: i for i, v in enumerate(world.vehicles)}
    ordered = sorted(routes.values(), key=lambda r: order_of.get(r.vehicle_id, len(order_of)))
    unassigned = tuple(u for u in plan.unassigned if u.order_id != placed)
    return Plan(tuple(ordered), unassigned, solver=plan.solver, clock=clock, note=note)


assert set(get_args(ReasonCode)) == {"", *REASON_CODES}
