"""Why unassigned, with the fix: for each order a plan leaves out, its cause and the smallest change that serves it.

The plan is the one asked for (default: the committed plan, else the latest draft). Each unassigned order gets
a cause from the per-vehicle reasons of :func:`tools.explain.vehicle_options` (the constraint that keeps it off
each vehicle), and candidate changes are searched cheapest first:

1. ``extend_shift`` - a vehicle's shift ends later (or starts earlier) by the fewest minutes of :data:`STEPS_MIN`;
2. ``add_skill`` - a vehicle without the order's skill gets it;
3. ``add_capacity`` - a vehicle gets the fewest extra parcels of capacity;
4. ``move_window`` - the order's window ends later (or starts earlier) by the fewest minutes of :data:`STEPS_MIN`;
5. ``add_vehicle`` - one more vehicle like an existing one (:class:`tools.whatif.AddVehicles`; a broken-down
   vehicle is copied first: the copy is available).

An order that fits the plan's routes as they are gets ``replan`` (no change). A candidate is found with the
insertion check of :mod:`tools.routes` (the plan's routes stay, the order goes where it fits best: no solver);
a pickup-and-delivery pair, which that check cannot place, gets an extra vehicle to try. Orders are grouped by
cause and candidate (same kind, vehicle, skill and direction; the group's amount is the largest its orders need).

Each group's change is then *verified*: a copy of the world with the change is planned exactly as a what-if is
(:func:`tools.whatif.plan_changes`: from the clock, keeping work that has started), with the orders the plan
serves and the group's orders only (the other unassigned orders would compete for the room the change makes),
and the fix is verified only when the group's orders are served and every order the plan serves still is. A
group that fails is retried with a larger amount (two steps), then with an extra vehicle. Groups are verified
largest first within a solver-time budget (each re-plan is charged at least its search time); the result says
which fixes were verified, which failed, and which were not tried. Each group's fix is verified on its own, not
together with the others'. Nothing is written to the store.
"""

from __future__ import annotations

import itertools
import math
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, Field

from copilot.core.domain import EPOCH_MAX, EPOCH_MIN, MAX_UNITS, Order, Plan, TimeWindow, Vehicle, World
from copilot.core.errors import InputError
from copilot.core.ports import StoredPlan
from copilot.core.units import format_clock
from tools.context import RequestModel, ToolContext
from tools.explain import vehicle_options
from tools.kpis import resolve_plan
from tools.routes import Insertion, PlanState, RouteBase, apply_move
from tools.whatif import NEW_VEHICLE_PREFIX, AddVehicles, apply_changes, plan_changes

__all__ = ["STEPS_MIN", "FixGroup", "FixOut", "RemedyRequest", "UnassignedFixes", "WindowChangeOut", "fix_unassigned"]

STEPS_MIN = (15, 30, 45, 60, 90, 120)  # minutes a shift or a window may move, smallest first
MAX_BUDGET_S = 120.0  # solver seconds one request may spend verifying
MAX_SOLVE_S = 10.0  # search seconds of one verifying re-plan
MAX_ORDERS = 500  # unassigned orders one request examines
MAX_EXTRA_VEHICLES = 3  # an add_vehicle fix grows to at most this many vehicles
PLAN_ID_MAX = 2**53

Cause = Literal["fits_now", "shift_end", "skill", "capacity", "window", "vehicle_unavailable", "no_room", "paired", "other"]
FixKind = Literal["replan", "extend_shift", "add_skill", "add_capacity", "move_window", "add_vehicle"]
FixStatus = Literal["verified", "not_served", "unserves_others", "not_tried", "no_candidate"]
Side = Literal["end_later", "start_earlier"]

CAUSES: tuple[Cause, ...] = ("fits_now", "shift_end", "skill", "capacity", "window", "vehicle_unavailable", "no_room", "paired", "other")
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

_CAUSE_DOC = (
    "fits_now: it fits the plan's routes as they are (a re-plan serves it); shift_end: no vehicle can serve it and be back before its shift "
    "ends; skill: no available vehicle with the required skill has room or time; capacity: its parcels exceed every vehicle's (remaining) "
    "capacity; window: no vehicle can reach it inside its time window; vehicle_unavailable: the vehicles that could serve it are broken down "
    "or off duty; no_room: the routes' time is taken (a later stop would miss its window); paired: half of a pickup-and-delivery pair; other"
)
_KIND_DOC = (
    "replan: no change, plan again; extend_shift: vehicle_id's shift ends later or starts earlier by minutes; add_skill: vehicle_id gets skill; "
    "add_capacity: vehicle_id gets capacity_added parcels more; move_window: the orders' windows move (windows); add_vehicle: count vehicles "
    "like vehicle_id are added (new_vehicle_ids); None: no candidate was found"
)
_STATUS_DOC = (
    "verified: a re-plan with the change serves the group's orders and every order the plan serves; not_served: the re-plan still leaves "
    "some of the group's orders out; unserves_others: it serves them but leaves out an order the plan serves; not_tried: the solver budget "
    "ran out first (the change is the insertion check's candidate); no_candidate: no change of the kinds above was found"
)


# --------------------------------------------------------------------------------------------------
# Request and result
# --------------------------------------------------------------------------------------------------


class RemedyRequest(RequestModel):
    """Which plan's unassigned orders to fix, and how much solving the verification may take."""

    plan: Literal["committed", "draft"] | Annotated[int, Field(strict=True, ge=1, le=PLAN_ID_MAX)] | None = Field(
        default=None, description="which plan: 'committed', 'draft' (the latest draft) or a plan id; default: the committed plan, else the latest draft"
    )
    budget_s: float = Field(
        default=20.0,
        gt=0,
        le=MAX_BUDGET_S,
        description="solver seconds for verifying fixes, all groups together (at most 120); a re-plan starts only while solve_s is left",
    )
    solve_s: float = Field(default=1.0, gt=0, le=MAX_SOLVE_S, description="search seconds of each verifying re-plan (at most 10)")
    max_orders: int = Field(default=50, ge=1, le=MAX_ORDERS, description="unassigned orders examined, in the plan's order (the rest are listed as not examined)")


class WindowChangeOut(BaseModel):
    """One order's time window as a move_window fix changes it (HH:MM local)."""

    order_id: str
    old_start: str
    old_end: str
    new_start: str
    new_end: str
    minutes: int = Field(description="minutes the window's end moves later (end_later) or its start earlier (start_earlier)")


class FixOut(BaseModel):
    """The change proposed for a group of orders, and whether a re-plan with it serves them."""

    kind: FixKind | None = Field(description=_KIND_DOC)
    status: FixStatus = Field(description=_STATUS_DOC)
    verified: bool = Field(description="True when status is verified")
    screened: bool = Field(description="True when the insertion check (no solver) found the change enough on the plan's own routes")
    vehicle_id: str | None = Field(default=None, description="the vehicle changed (extend_shift, add_skill, add_capacity) or copied (add_vehicle)")
    new_vehicle_ids: list[str] = Field(default_factory=list, description="add_vehicle: ids of the vehicles added")
    count: int | None = Field(default=None, description="add_vehicle: how many vehicles are added")
    minutes: int | None = Field(default=None, description="extend_shift: minutes the shift grows; move_window: the most minutes any window moves")
    side: Side | None = Field(default=None, description="extend_shift / move_window: end_later or start_earlier")
    shift_start: str | None = Field(default=None, description="extend_shift: the vehicle's new shift start, HH:MM local")
    shift_end: str | None = Field(default=None, description="extend_shift: the vehicle's new shift end, HH:MM local")
    skill: str | None = Field(default=None, description="add_skill: the skill the vehicle gets")
    capacity_added: int | None = Field(default=None, description="add_capacity: extra parcels of capacity")
    capacity: int | None = Field(default=None, description="add_capacity: the vehicle's new capacity")
    windows: list[WindowChangeOut] = Field(default_factory=list, description="move_window: each order's window before and after")
    attempts: int = Field(description="verifying re-plans run for this group (larger amounts and an extra vehicle are tried after a failure)")
    orders_served_before: int = Field(description="orders the plan serves")
    orders_served_after: int | None = Field(
        default=None, description="orders the re-plan with the change serves (it plans the plan's and the group's orders only; None: not re-planned)"
    )
    extra_km: float | None = Field(default=None, description="the re-plan's total distance minus the plan's, km (None: not re-planned)")
    orders_not_served: list[str] = Field(default_factory=list, description="the group's orders the last re-plan still left out")
    orders_lost: list[str] = Field(default_factory=list, description="orders the plan serves that the last re-plan left out")


class FixGroup(BaseModel):
    """Unassigned orders with one cause and one fix."""

    cause: Cause = Field(description=_CAUSE_DOC)
    orders: list[str]
    count: int
    fix: FixOut


class UnassignedFixes(BaseModel):
    """The plan's unassigned orders grouped by cause, each group with the smallest change found and its verification. Nothing was saved."""

    plan_id: int
    plan_status: str
    clock: str | None = Field(description="the current time the re-plans start from, HH:MM local (None: the whole day)")
    unassigned_count: int = Field(description="orders the plan lists as unassigned")
    examined: int = Field(description="unassigned orders examined (at most max_orders)")
    not_examined: list[str] = Field(description="unassigned orders beyond max_orders")
    skipped: list[str] = Field(description="listed as unassigned but cancelled or removed since")
    groups: list[FixGroup] = Field(description="largest group first (the order they were verified in)")
    verified_groups: int
    failed_groups: int = Field(description="groups whose re-plans did not verify the change (not_served, unserves_others)")
    not_tried_groups: int = Field(description="groups left unverified because the solver budget ran out")
    solves: int = Field(description="verifying re-plans run")
    solver_s: float = Field(description="solver seconds charged against the budget (each re-plan at least solve_s)")
    budget_s: float
    solve_s: float
    saved: bool = Field(default=False, description="always False: nothing is written")


# --------------------------------------------------------------------------------------------------
# Candidates
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# Applying and verifying
# --------------------------------------------------------------------------------------------------


def _changed_world(world: World, fix: _Fix, clock: int | None, committed: Plan | None) -> World:
    """A copy of ``world`` with the change (the stored world is not touched)."""
    if fix.kind == "add_vehicle":
        assert fix.vehicle_id is not None
        changed, _words = apply_changes(world, [AddVehicles(count=fix.count, like=fix.vehicle_id)], clock=clock, committed=committed)
        return changed
    if fix.kind == "move_window":
        assert fix.side is not None
        moves = dict(fix.windows)
        return replace(world, orders=tuple(_moved(o, fix.side, moves[o.id]) if o.id in moves else o for o in world.orders))

    def change(v: Vehicle) -> Vehicle:
        if fix.kind == "extend_shift":
            assert fix.side is not None
            return _shifted(v, fix.side, fix.minutes)
        if fix.kind == "add_skill":
            assert fix.skill is not None
            return replace(v, skills=v.skills | {fix.skill})
        if fix.kind == "add_capacity":
            return replace(v, capacity=min(MAX_UNITS, v.capacity + fix.capacity_added))
        return v

    return replace(world, vehicles=tuple(change(v) if v.id == fix.vehicle_id else v for v in world.vehicles))


@dataclass(frozen=True, slots=True)
class _Outcome:
    plan: Plan
    missing: tuple[str, ...]
    lost: tuple[str, ...]

    @property
    def verified(self) -> bool:
        return not self.missing and not self.lost


class _Budget:
    """Solver seconds: a re-plan starts only while a whole ``per_solve`` is left, and is charged at least that."""

    def __init__(self, total_s: float, per_solve_s: float) -> None:
        self.total_s = total_s
        self.per_solve_s = per_solve_s
        self.spent_s = 0.0
        self.solves = 0

    def allows(self) -> bool:
        return self.spent_s + self.per_solve_s <= self.total_s + 1e-9

    def charge(self, seconds: float) -> None:
        self.spent_s += max(seconds, self.per_solve_s)
        self.solves += 1


def _only(world: World, keep: set[str]) -> World:
    """The world with only the orders in ``keep`` active: a group's fix is verified without the other unassigned orders competing for the room it makes."""
    return replace(world, orders=tuple(o if o.id in keep or o.cancelled else replace(o, cancelled=True) for o in world.orders))


def _hhmm(world: World, t: int) -> str:
    return format_clock(t, world.utc_offset_s)


def _fix_out(world: World, changed: World, fix: _Fix | None, status: FixStatus, attempts: int, plan: Plan, outcome: _Outcome | None) -> FixOut:
    out = FixOut(kind=None, status=status, verified=status == "verified", screened=False, attempts=attempts, orders_served_before=len(plan.assigned_ids()))
    if outcome is not None:
        out.orders_served_after = len(outcome.plan.assigned_ids())
        out.extra_km = round((outcome.plan.distance_m - plan.distance_m) / 1000, 3)
        out.orders_not_served = list(outcome.missing)
        out.orders_lost = list(outcome.lost)
    if fix is None:
        return out
    out.kind, out.screened, out.vehicle_id = fix.kind, fix.screened, fix.vehicle_id
    if fix.kind == "extend_shift":
        assert fix.vehicle_id is not None
        v = changed.vehicle(fix.vehicle_id)
        out.minutes, out.side = fix.minutes, fix.side
        out.shift_start, out.shift_end = _hhmm(world, v.shift.start), _hhmm(world, v.shift.end)
    elif fix.kind == "add_skill":
        out.skill = fix.skill
    elif fix.kind == "add_capacity":
        assert fix.vehicle_id is not None
        out.capacity = changed.vehicle(fix.vehicle_id).capacity
        out.capacity_added = out.capacity - world.vehicle(fix.vehicle_id).capacity
    elif fix.kind == "move_window":
        out.minutes, out.side = fix.minutes, fix.side
        i = -1 if fix.side == "end_later" else 0
        for oid, m in fix.windows:
            old, new = world.order(oid).windows[i], changed.order(oid).windows[i]
            out.windows.append(
                WindowChangeOut(
                    order_id=oid,
                    old_start=_hhmm(world, old.start),
                    old_end=_hhmm(world, old.end),
                    new_start=_hhmm(world, new.start),
                    new_end=_hhmm(world, new.end),
                    minutes=m,
                )
            )
    elif fix.kind == "add_vehicle":
        known = {v.id for v in world.vehicles}
        out.count = fix.count
        out.new_vehicle_ids = [v.id for v in changed.vehicles if v.id not in known]
    return out


def _chosen_plan(ctx: ToolContext, which: Literal["committed", "draft"] | int | None) -> StoredPlan:
    """The plan asked for; by default the committed plan, else the latest draft."""
    if which is not None:
        return resolve_plan(ctx, which)
    committed = ctx.committed()
    if committed is not None:
        return committed
    try:
        return resolve_plan(ctx, "draft")
    except InputError:
        raise InputError(f"world {ctx.world_name!r} has no committed plan and no draft; plan the day first") from None


def fix_unassigned(ctx: ToolContext, req: RemedyRequest | None = None) -> UnassignedFixes:
    """Why each unassigned order of a plan is left out, grouped by cause, with the smallest change that serves it.

    The plan is ``req.plan`` (default: the committed plan, else the latest draft). For each unassigned order
    (up to ``req.max_orders``) the cause comes from the constraint each vehicle reports, and a change is searched
    cheapest first (extend a shift, give a vehicle the skill, add capacity, move the window, add a vehicle) with
    the insertion check on the plan's own routes. Each group's change is verified by planning a changed copy of
    the world as a what-if does (from the clock, keeping started work; ``req.solve_s`` seconds a search, within
    ``req.budget_s`` solver seconds in all, largest group first): verified means the group's orders are served and
    every order the plan serves still is. Reads the store only; nothing is written.
    """
    req = req or RemedyRequest()
    stored = _chosen_plan(ctx, req.plan)
    world = ctx.world()
    clock = ctx.clock()
    committed_stored = ctx.committed()
    committed = committed_stored.plan if committed_stored is not None else None
    plan = stored.plan
    state = PlanState(world, plan, clock)
    active = {o.id for o in world.active_orders()}
    listed = [u.order_id for u in plan.unassigned]
    wanted = [oid for oid in listed if oid in active]
    examined, rest = wanted[: req.max_orders], wanted[req.max_orders :]
    required = plan.assigned_ids() & active

    sandbox = _Sandbox(world, plan, clock, committed)
    buckets: dict[tuple[Cause, _Key | None], list[Order]] = {}
    for oid in examined:
        order = world.order(oid)
        buckets.setdefault(_diagnose(state, sandbox, order), []).append(order)
    first_seen = {oid: i for i, oid in enumerate(examined)}
    ordered = sorted(buckets.items(), key=lambda kv: (-len(kv[1]), CAUSES.index(kv[0][0]), first_seen[kv[1][0].id]))

    settings = replace(ctx.settings, time_limit_s=req.solve_s)
    budget = _Budget(req.budget_s, req.solve_s)
    groups: list[FixGroup] = []
    for (cause, key), orders in ordered:
        ids = [o.id for o in orders]
        if key is None:
            groups.append(FixGroup(cause=cause, orders=ids, count=len(ids), fix=_fix_out(world, world, None, "no_candidate", 0, plan, None)))
            continue
        proposed = sandbox.fixes.get(key, _Fix("replan"))
        if proposed.kind == "move_window":  # only this group's windows move
            windows = tuple(w for w in proposed.windows if w[0] in ids)
            proposed = replace(proposed, windows=windows, minutes=max(m for _oid, m in windows))

        def fallback(first: Order = orders[0]) -> _Fix | None:
            extra = _Sandbox(world, plan, clock, committed).add_vehicle(first)
            return replace(extra.fix, screened=False) if extra is not None else None

        keep = required | set(ids) | {o.pair_id for o in orders if o.pair_id is not None}
        try:
            shown_world = _changed_world(world, proposed, clock, committed)
        except InputError:
            shown_world = world  # a pair's vehicle to copy whose shift has ended: the attempts below skip it too
        shown: _Fix = proposed
        outcome: _Outcome | None = None
        attempts = 0
        for fix in _attempts(proposed, orders, fallback):
            if not budget.allows():
                break
            try:
                changed = _changed_world(world, fix, clock, committed)
            except InputError:
                continue  # e.g. a vehicle to copy whose shift ended before the clock
            t0 = time.perf_counter()
            try:
                _copy, after, _words = plan_changes(_only(changed, keep), [], ctx.planning, settings, clock=clock, committed=committed)
            finally:
                budget.charge(time.perf_counter() - t0)
            attempts += 1
            served = after.assigned_ids()
            shown, shown_world = fix, changed
            outcome = _Outcome(after, tuple(i for i in ids if i not in served), tuple(sorted(required - served)))
            if outcome.verified:
                break
        status: FixStatus
        if outcome is None:
            status = "not_tried"
        elif outcome.verified:
            status = "verified"
        else:
            status = "not_served" if outcome.missing else "unserves_others"
        groups.append(FixGroup(cause=cause, orders=ids, count=len(ids), fix=_fix_out(world, shown_world, shown, status, attempts, plan, outcome)))

    return UnassignedFixes(
        plan_id=stored.id,
        plan_status=stored.status.value,
        clock=_hhmm(world, clock) if clock is not None else None,
        unassigned_count=len(listed),
        examined=len(examined),
        not_examined=rest,
        skipped=[oid for oid in listed if oid not in active],
        groups=groups,
        verified_groups=sum(1 for g in groups if g.fix.status == "verified"),
        failed_groups=sum(1 for g in groups if g.fix.status in ("not_served", "unserves_others")),
        not_tried_groups=sum(1 for g in groups if g.fix.status == "not_tried"),
        solves=budget.solves,
        solver_s=round(budget.spent_s, 3),
        budget_s=req.budget_s,
        solve_s=req.solve_s,
    )
