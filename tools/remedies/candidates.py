"""Finding the smallest change that lets each unassigned order in, with the insertion check on the plan's routes (no solver).

:func:`_diagnose` gives an order its cause (from the constraint each vehicle reports) and the change found for
it, cheapest kind first (:class:`_Sandbox`: extend a shift, add a skill, add capacity, move the window, add a
vehicle); :func:`_attempts` lists the larger amounts a group's change is retried with when its re-plan fails.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from copilot.core.domain import EPOCH_MAX, EPOCH_MIN, MAX_UNITS, Order, Plan, TimeWindow, Vehicle, World
from copilot.core.errors import InputError
from tools.explain import vehicle_options
from tools.remedies.models import CAUSES, MAX_EXTRA_VEHICLES, STEPS_MIN, Cause, FixKind, Side
from tools.routes import Insertion, PlanState, RouteBase, apply_move
from tools.whatif import NEW_VEHICLE_PREFIX, AddVehicles, apply_changes

# the constraint a vehicle reports (tools.routes.ReasonCode) -> the cause it stands for
_CODE_CAUSE: dict[str, Cause] = {
    "shift_end": "shift_end",
    "max_duration": "shift_end",
    "capacity": "capacity",
    "window": "window",
    "later_window": "no_room",
    "unavailable": "vehicle_unavailable",
    "skill": "skill",
    "paired": "paired",
}
# ... and when the vehicle could serve it straight away, but not within its route
_ROUTE_CAUSE: dict[str, Cause] = {**_CODE_CAUSE, "window": "no_room"}


@dataclass(frozen=True, slots=True)
class _Fix:
    """A change, with its amount in total. ``windows``: (order id, minutes) per order of a move_window fix."""

    kind: FixKind
    vehicle_id: str | None = None
    skill: str | None = None
    side: Side | None = None
    minutes: int = 0
    capacity_added: int = 0
    count: int = 1
    windows: tuple[tuple[str, int], ...] = ()
    screened: bool = True

    @property
    def key(self) -> _Key:
        return self.kind, self.vehicle_id, self.skill, self.side


_Key = tuple[str, str | None, str | None, str | None]
_REPLAN: _Key = ("replan", None, None, None)


@dataclass(frozen=True, slots=True)
class _Found:
    """A change that lets an order in: the change (in total, with what earlier orders needed of it), the world with it, and where the order goes."""

    fix: _Fix
    world: World
    insertion: Insertion
    new_vehicle: str | None = None


S = TypeVar("S")


def _least(steps: Sequence[int], ok: Callable[[int], S | None]) -> tuple[int, S] | None:
    """The smallest step for which ``ok`` gives a result, by bisection (``ok`` must be monotone: more never hurts)."""
    if not steps:
        return None
    top = ok(steps[-1])
    if top is None:
        return None
    lo, hi, best = 0, len(steps) - 1, top
    while lo < hi:
        mid = (lo + hi) // 2
        got = ok(steps[mid])
        if got is not None:
            hi, best = mid, got
        else:
            lo = mid + 1
    return steps[hi], best


def _shifted(v: Vehicle, side: Side, minutes: int) -> Vehicle:
    if side == "end_later":
        return replace(v, shift=TimeWindow(v.shift.start, min(EPOCH_MAX, v.shift.end + minutes * 60)))
    return replace(v, shift=TimeWindow(max(EPOCH_MIN, v.shift.start - minutes * 60), v.shift.end))


def _moved(order: Order, side: Side, minutes: int) -> Order:
    ws = list(order.windows)
    if side == "end_later":
        ws[-1] = TimeWindow(ws[-1].start, min(EPOCH_MAX, ws[-1].end + minutes * 60))
    else:
        ws[0] = TimeWindow(max(EPOCH_MIN, ws[0].start - minutes * 60), ws[0].end)
    return replace(order, windows=tuple(ws))


def _with_vehicle(world: World, vehicle: Vehicle) -> World:
    return replace(world, vehicles=tuple(vehicle if v.id == vehicle.id else v for v in world.vehicles))


def _templates(world: World, orders: Sequence[Order]) -> list[Vehicle]:
    """Vehicles a copy of which could serve the orders by skill and capacity: broken-down ones first (the copy replaces it)."""
    if any(o.pinned_vehicle is not None for o in orders):
        return []  # only the pinned vehicle may serve it; a new one cannot
    skills = {o.required_skill for o in orders if o.required_skill is not None}
    demand = max(o.demand for o in orders)
    fit = [v for v in world.vehicles if skills <= v.skills and v.capacity >= demand]
    return sorted(fit, key=lambda v: v.available)


class _Sandbox:
    """The plan's routes with the orders placed so far, under the changes found so far: the insertion model, no solver.

    Orders are placed one after the other, so a change that lets one order in is sized for every order that
    needs it (a second order on an extended shift may need it longer), and an order that fits where an earlier
    change made room joins that change.
    """

    def __init__(self, world: World, plan: Plan, clock: int | None, committed: Plan | None) -> None:
        self.original = world
        self.world = world
        self.plan = plan
        self.clock = clock
        self.committed = committed
        self.fixes: dict[_Key, _Fix] = {}
        self.owner: dict[str, _Key] = {}  # vehicle id -> the change it carries (changed and added vehicles)
        self.state = PlanState(world, plan, clock)
        self.own = frozenset(v.id for v in world.vehicles)

    def base(self, vehicle: Vehicle, world: World | None = None) -> RouteBase:
        """The vehicle's route so far, with the vehicle as given (a hypothetical shift, skill or capacity)."""
        return RouteBase(world or self.world, vehicle, self.state.routes.get(vehicle.id), self.clock, orders=self.state.orders)

    def fits(self, order: Order, base: RouteBase) -> Insertion | None:
        _reasons, options = vehicle_options(self.state, order, [base])
        return options[0] if options else None

    def place(self, order: Order, ins: Insertion, found: _Found | None = None) -> None:
        """Put the order where ``ins`` says, under the change ``found`` (None: no new change)."""
        if found is not None:
            self.world = found.world
            self.fixes[found.fix.key] = found.fix
            owned = found.new_vehicle or found.fix.vehicle_id
            if owned is not None:
                self.owner[owned] = found.fix.key
        self.plan = apply_move(self.world, self.plan, order.id, ins.vehicle_id, ins.position, self.clock)
        self.state = PlanState(self.world, self.plan, self.clock)

    def current(self, key: _Key) -> _Fix | None:
        return self.fixes.get(key)

    def unchanged(self) -> list[RouteBase]:
        """The routes of the world's vehicles that carry no change (a change to an order may rely on no other change)."""
        return [b for b in self.state.bases() if b.vehicle_id in self.own and b.vehicle_id not in self.owner]

    def changeable(self, b: RouteBase, key: _Key) -> bool:
        """A vehicle of the world that is available and carries no other change (one change per vehicle keeps each fix one kind)."""
        vid = b.vehicle_id
        return not b.unavailable and vid in self.own and self.owner.get(vid, key) == key

    # -- candidates, cheapest kind first -------------------------------------------------------

    def extend_shift(self, order: Order, codes: Mapping[str, str]) -> _Found | None:
        found: list[tuple[int, int, int, _Found]] = []
        for i, b in enumerate(self.state.bases()):
            code = codes.get(b.vehicle_id)
            if code not in ("shift_end", "window"):
                continue  # a later end helps a vehicle that cannot be back in time, an earlier start one that is ready too late
            side: Side = "end_later" if code == "shift_end" else "start_earlier"
            key: _Key = ("extend_shift", b.vehicle_id, None, side)
            if not self.changeable(b, key):
                continue
            had = self.current(key)
            done = had.minutes if had is not None else 0
            v = b.vehicle

            def longer(m: int, v: Vehicle = v, side: Side = side, done: int = done) -> Insertion | None:
                return self.fits(order, self.base(_shifted(v, side, m - done)))

            got = _least([m for m in STEPS_MIN if m > done], longer)
            if got is not None:
                m, ins = got
                fix = _Fix("extend_shift", vehicle_id=v.id, side=side, minutes=m)
                found.append((m, ins.extra_m, i, _Found(fix, _with_vehicle(self.world, _shifted(v, side, m - done)), ins)))
        return min(found, key=lambda x: x[:3])[3] if found else None

    def add_skill(self, order: Order, codes: Mapping[str, str]) -> _Found | None:
        skill = order.required_skill
        if skill is None:
            return None
        found: list[tuple[int, int, _Found]] = []
        for i, b in enumerate(self.state.bases()):
            if codes.get(b.vehicle_id) != "skill" or not self.changeable(b, ("add_skill", b.vehicle_id, skill, None)):
                continue
            v = replace(b.vehicle, skills=b.vehicle.skills | {skill})
            ins = self.fits(order, self.base(v))
            if ins is not None:
                found.append((ins.extra_m, i, _Found(_Fix("add_skill", vehicle_id=v.id, skill=skill), _with_vehicle(self.world, v), ins)))
        return min(found, key=lambda x: x[:2])[2] if found else None

    def add_capacity(self, order: Order, codes: Mapping[str, str]) -> _Found | None:
        found: list[tuple[int, int, int, _Found]] = []
        for i, b in enumerate(self.state.bases()):
            v = b.vehicle
            top = min(order.demand, MAX_UNITS - v.capacity)
            if codes.get(v.id) != "capacity" or top < 1 or not self.changeable(b, ("add_capacity", v.id, None, None)):
                continue
            had = self.current(("add_capacity", v.id, None, None))
            done = had.capacity_added if had is not None else 0

            def larger(c: int, v: Vehicle = v) -> Insertion | None:
                return self.fits(order, self.base(replace(v, capacity=v.capacity + c)))

            got = _least(range(1, top + 1), larger)
            if got is not None:
                c, ins = got
                fix = _Fix("add_capacity", vehicle_id=v.id, capacity_added=done + c)
                found.append((c, ins.extra_m, i, _Found(fix, _with_vehicle(self.world, replace(v, capacity=v.capacity + c)), ins)))
        return min(found, key=lambda x: x[:3])[3] if found else None

    def move_window(self, order: Order) -> _Found | None:
        if not order.windows:
            return None
        found: list[tuple[int, int, int, _Found]] = []
        sides: tuple[Side, Side] = ("end_later", "start_earlier")
        for rank, side in enumerate(sides):

            def moved(m: int, side: Side = side) -> Insertion | None:
                return next(iter(vehicle_options(self.state, _moved(order, side, m), self.unchanged())[1]), None)

            got = _least(STEPS_MIN, moved)
            if got is not None:
                m, ins = got
                key: _Key = ("move_window", None, None, side)
                had = self.current(key)
                windows = (*(had.windows if had is not None else ()), (order.id, m))
                fix = _Fix("move_window", side=side, minutes=max(w for _oid, w in windows), windows=windows)
                changed = replace(self.world, orders=tuple(_moved(o, side, m) if o.id == order.id else o for o in self.world.orders))
                found.append((m, rank, ins.extra_m, _Found(fix, changed, ins)))
        return min(found, key=lambda x: x[:3])[3] if found else None

    def add_vehicle(self, order: Order) -> _Found | None:
        seen: set[tuple[object, ...]] = set()
        for tmpl in _templates(self.original, [order]):
            sig = (tmpl.depot_id, tmpl.capacity, tmpl.shift, tmpl.speed_kmh, tmpl.skills, tmpl.max_route_duration_s)
            if sig in seen:
                continue
            seen.add(sig)
            try:  # a copy of the vehicle as it is, not as earlier changes left it here
                copied, _words = apply_changes(self.original, [AddVehicles(like=tmpl.id)], clock=self.clock, committed=self.committed)
            except InputError:
                continue  # e.g. its shift has ended before the clock
            taken = {v.id for v in self.world.vehicles}
            new_id = next(f"{NEW_VEHICLE_PREFIX}{k}" for k in itertools.count(1) if f"{NEW_VEHICLE_PREFIX}{k}" not in taken)
            new = replace(copied.vehicles[-1], id=new_id)
            changed = replace(self.world, vehicles=(*self.world.vehicles, new))
            ins = self.fits(order, self.base(new, changed))
            if ins is not None:
                key: _Key = ("add_vehicle", tmpl.id, None, None)
                had = self.current(key)
                fix = _Fix("add_vehicle", vehicle_id=tmpl.id, count=(had.count + 1) if had is not None else 1)
                return _Found(fix, changed, ins, new_vehicle=new.id)
        return None


def _cause(state: PlanState, order: Order, codes: Mapping[str, str]) -> Cause:
    """The cause, from the constraint each vehicle reports (static ones first: unavailable, skill, capacity, window)."""
    world = state.world
    if order.pair_id is not None:
        return "paired"
    ids = [order.pinned_vehicle] if order.pinned_vehicle is not None else [v.id for v in world.vehicles]
    up = [vid for vid in ids if codes.get(vid) != "unavailable"]
    if not up:
        return "vehicle_unavailable"
    skill = order.required_skill
    skilled = [vid for vid in up if skill is None or skill in world.vehicle(vid).skills]
    if not skilled:
        return "skill"
    if all(order.demand > world.vehicle(vid).capacity for vid in skilled):
        return "capacity"
    direct = {vid: state.base(vid).direct_reason(order) for vid in skilled}
    if all(d is not None and d[0] == "window" for d in direct.values()):
        return "window"
    if len(skilled) < len(up):
        return "skill"  # the vehicles with the skill have no room or time; the others lack it
    # a vehicle that could serve it straight away but not within its route: its window or shift is taken by other stops
    votes = Counter(_CODE_CAUSE.get(d[0], "other") if d is not None else _ROUTE_CAUSE.get(codes.get(vid, ""), "other") for vid, d in direct.items())
    return max(votes, key=lambda c: (votes[c], -CAUSES.index(c)))


def _diagnose(original: PlanState, sandbox: _Sandbox, order: Order) -> tuple[Cause, _Key | None]:
    """The order's cause (against the plan as it is) and the change that lets it in (against the sandbox, where it is then placed)."""
    reasons, options = vehicle_options(original, order)
    codes = {r.vehicle_id: r.code for r in reasons}
    cause: Cause = "fits_now" if options else _cause(original, order, codes)
    if order.pair_id is not None:  # the insertion check places no pair: try one more vehicle for both halves
        pair = [order, *(o for o in original.world.orders if o.id == order.pair_id)]
        templates = _templates(original.world, pair)
        if not templates:
            return cause, None
        fix = _Fix("add_vehicle", vehicle_id=templates[0].id, screened=False)
        sandbox.fixes.setdefault(fix.key, fix)
        return cause, fix.key
    here = sandbox.state.world.order(order.id)
    reasons, options = vehicle_options(sandbox.state, here)
    if options:  # it fits: where no change is needed if it can, else where an earlier change made room
        ins = min(options, key=lambda x: (x.vehicle_id in sandbox.owner, x.extra_m, x.extra_s))
        sandbox.place(here, ins)
        return cause, sandbox.owner.get(ins.vehicle_id, _REPLAN)
    codes = {r.vehicle_id: r.code for r in reasons}
    searches: tuple[Callable[[], _Found | None], ...] = (
        lambda: sandbox.extend_shift(here, codes),
        lambda: sandbox.add_skill(here, codes),
        lambda: sandbox.add_capacity(here, codes),
        lambda: sandbox.move_window(here),
        lambda: sandbox.add_vehicle(here),
    )
    for search in searches:
        found = search()
        if found is not None:
            sandbox.place(found.world.order(order.id), found.insertion, found)
            return cause, found.fix.key
    return cause, None


def _next_step(minutes: int) -> int:
    return next((s for s in STEPS_MIN if s > minutes), minutes)


def _larger(fix: _Fix, orders: int) -> _Fix | None:
    """The same change with the next larger amount (None when there is none)."""
    if fix.kind == "extend_shift":
        bigger = replace(fix, minutes=_next_step(fix.minutes))
    elif fix.kind == "move_window":
        moved = tuple((oid, _next_step(m)) for oid, m in fix.windows)
        bigger = replace(fix, windows=moved, minutes=max(m for _oid, m in moved))
    elif fix.kind == "add_capacity":
        bigger = replace(fix, capacity_added=max(fix.capacity_added + 1, math.ceil(fix.capacity_added * 1.5)))
    elif fix.kind == "add_vehicle" and fix.count < min(MAX_EXTRA_VEHICLES, orders):
        bigger = replace(fix, count=fix.count + 1)
    else:
        return None
    return None if bigger == fix else replace(bigger, screened=False)


def _attempts(fix: _Fix, orders: Sequence[Order], fallback: Callable[[], _Fix | None]) -> Iterator[_Fix]:
    """The group's change, the same with two larger amounts, then (unless it adds vehicles already) one more vehicle."""
    yield fix
    cur: _Fix | None = fix
    for _ in range(2):
        cur = _larger(cur, len(orders)) if cur is not None else None
        if cur is None:
            break
        yield cur
    if fix.kind != "add_vehicle":
        extra = fallback()
        if extra is not None:
            yield extra
