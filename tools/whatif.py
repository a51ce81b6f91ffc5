"""What-if sandbox: apply hypothetical changes to a copy of the world, plan it, and compare with the baseline.

Nothing here writes to the store: the world is copied (frozen dataclasses, :func:`dataclasses.replace`),
planned in memory with the same planning code as a real re-plan (from the current time, keeping work
that has started), and measured with :func:`tools.kpis.plan_kpis`. The baseline is the committed plan,
or a fresh plan of the unchanged world when nothing is committed (the result says which).

Changes, applied in the order given:

* ``add_vehicles`` - copies of a template vehicle (new ids ``WHATIF-1``, ``WHATIF-2``, ...);
* ``remove_vehicles`` - the vehicles take no work (from the current time; started work stays done);
* ``change_shift`` - new shift start and/or end for some vehicles or all;
* ``scale_demand`` - every order not yet started carries ``factor`` times its parcels (rounded up, at least 1);
* ``remove_orders`` - the orders are dropped (a pickup-and-delivery pair goes as a whole);
* ``delay_vehicle`` - the vehicle starts nothing before the current time (or its shift start) + minutes;
* ``fleet_size`` - only ``count`` vehicles stay on the road;
* ``resample_orders`` - the day gets exactly ``count`` active orders: a seeded random choice of the orders
  not yet started is dropped, or copies of randomly drawn ones are added, each moved a random distance up
  to ``jitter_m`` (a smoothed bootstrap of the day's own orders: the count changes, where and when
  customers want service follows the day).

:func:`plan_changes` is the planning step of a what-if (apply the changes, plan the changed copy); scenario
scripts (:mod:`copilot.apps.scenario`) call it too, so their numbers are this tool's numbers.
:func:`forecast_day` turns a demand forecast (:mod:`tools.forecast`) into a ``resample_orders`` change.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, Field, PrivateAttr, model_validator

from copilot.core.domain import MAX_UNITS, Location, Order, OrderKind, Plan, TimeWindow, Vehicle, World
from copilot.core.errors import InputError
from copilot.core.forecasting import MAX_HORIZON_DAYS, parse_day
from copilot.core.units import format_clock, haversine_m, travel_seconds
from tools.context import RequestModel, ToolContext, UnassignedOut, find_order, find_vehicle, parse_user_time
from tools.forecast import ForecastRequest, HistoryRequest, forecast_demand, history_volume
from tools.kpis import Kpis, plan_kpis
from tools.planning import PlanningDeps, PlanSettings, frozen_state, plan_world

NEW_VEHICLE_PREFIX = "WHATIF-"
MAX_RESAMPLED_ORDERS = 3000  # a what-if day is planned within one request: a bounded amount of work
NEW_ORDER_PREFIX = "WHATIF-O"

# --------------------------------------------------------------------------------------------------
# Request
# --------------------------------------------------------------------------------------------------


class AddVehicles(RequestModel):
    """Add vehicles that copy a template vehicle (depot, speed, costs, skills), optionally with another capacity or shift."""

    kind: Literal["add_vehicles"] = "add_vehicles"
    count: int = Field(default=1, ge=1, le=50, description="how many vehicles to add")
    like: str = Field(description="id of the vehicle to copy, e.g. HZ-V1")
    capacity: int | None = Field(default=None, gt=0, le=MAX_UNITS, description="parcel capacity of the new vehicles (default: the template's)")
    shift_start: str | None = Field(default=None, description="shift start, HH:MM local (default: the template's)")
    shift_end: str | None = Field(default=None, description="shift end, HH:MM local (default: the template's)")


class RemoveVehicles(RequestModel):
    """Take vehicles off the road: they take no work (from the current time on; work already started stays done)."""

    kind: Literal["remove_vehicles"] = "remove_vehicles"
    vehicle_ids: list[str] = Field(min_length=1, description="ids of the vehicles to remove")


class ChangeShift(RequestModel):
    """Give vehicles a new shift start and/or end."""

    kind: Literal["change_shift"] = "change_shift"
    vehicles: list[str] | Literal["all"] = Field(default="all", description="vehicle ids, or 'all'")
    start: str | None = Field(default=None, description="new shift start, HH:MM local (unchanged when omitted)")
    end: str | None = Field(default=None, description="new shift end, HH:MM local (unchanged when omitted)")

    @model_validator(mode="after")
    def _something_changes(self) -> ChangeShift:
        if self.start is None and self.end is None:
            raise ValueError("change_shift needs a new start, a new end, or both (HH:MM)")
        if isinstance(self.vehicles, list) and not self.vehicles:
            raise ValueError("change_shift needs at least one vehicle id, or 'all'")
        return self


class ScaleDemand(RequestModel):
    """Multiply the parcels of the orders not yet started: whole parcels, at least 1 per order, the total follows the factor."""

    kind: Literal["scale_demand"] = "scale_demand"
    factor: float = Field(gt=0, le=100, description="multiplier greater than 0: 1.5 means 50% more parcels, 0.8 means 20% fewer")


class RemoveOrders(RequestModel):
    """Drop orders from the day (a pickup-and-delivery pair is dropped as a whole)."""

    kind: Literal["remove_orders"] = "remove_orders"
    order_ids: list[str] = Field(min_length=1, description="ids of the orders to drop")


class DelayVehicle(RequestModel):
    """A vehicle starts nothing before the current time (or its shift start, when no time is set) plus some minutes."""

    kind: Literal["delay_vehicle"] = "delay_vehicle"
    vehicle_id: str = Field(description="id of the delayed vehicle")
    minutes: int = Field(gt=0, le=24 * 60, description="delay in minutes")


class FleetSize(RequestModel):
    """Run with only ``count`` vehicles: the available vehicles with the least planned work (stops in the committed plan, then the highest id) are taken off."""

    kind: Literal["fleet_size"] = "fleet_size"
    count: int = Field(ge=1, le=500, description="how many vehicles to keep on the road")


class ResampleOrders(RequestModel):
    """The day gets exactly ``count`` active orders: orders not yet started are dropped at random, or copies of randomly drawn ones are added (seeded)."""

    kind: Literal["resample_orders"] = "resample_orders"
    count: int = Field(ge=0, le=MAX_RESAMPLED_ORDERS, description="active (not cancelled) orders the day should have")
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="seed of the random draw (same seed, same orders)")
    jitter_m: int = Field(default=300, ge=0, le=5000, description="a copy is placed uniformly within this many metres of the order it copies (0: at the same place)")


Change = Annotated[AddVehicles | RemoveVehicles | ChangeShift | ScaleDemand | RemoveOrders | DelayVehicle | FleetSize | ResampleOrders, Field(discriminator="kind")]


class WhatIfRequest(RequestModel):
    """Hypothetical changes to try on a copy of the world; nothing is saved."""

    changes: list[Change] = Field(min_length=1, max_length=20, description="changes, applied in this order")


# --------------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------------


class KpiDeltas(BaseModel):
    """Scenario minus baseline for every key figure (None where either side has no value)."""

    vehicles_total: int
    vehicles_available: int
    vehicles_used: int
    total_distance_km: float
    driving_time_min: float
    on_time_share: float | None
    late_visits: int
    utilisation: float | None
    peak_load_share: float | None
    orders_served: int
    parcels_served: int
    unassigned_count: int
    not_in_plan_count: int
    order_count: int
    cancelled_count: int


class WhatIfResult(BaseModel):
    """The scenario's key figures against the baseline's. Nothing was saved: the store is unchanged."""

    scenario: Kpis = Field(description="key figures of the scenario plan (not stored: plan_id is None)")
    baseline: Kpis = Field(description="key figures of the baseline plan")
    baseline_source: Literal["committed", "fresh_plan"] = Field(
        description="committed: the dispatched plan; fresh_plan: no plan is committed, so the unchanged world was planned the same way for comparison"
    )
    deltas: KpiDeltas = Field(description="scenario minus baseline")
    changes: list[str] = Field(description="the changes applied, in words")
    unassigned: list[UnassignedOut] = Field(description="orders the scenario plan leaves out, with the reason")
    stops_per_vehicle: dict[str, int] = Field(description="stops per vehicle in the scenario plan (vehicles with stops only)")
    clock: str | None = Field(default=None, description="the current time the scenario was planned from, HH:MM local (None: the whole day)")
    saved: bool = Field(default=False, description="always False: a what-if never changes the store")

    _scenario: Scenario | None = PrivateAttr(default=None)

    @property
    def scenario_world(self) -> World:
        """The changed world (not stored)."""
        assert self._scenario is not None, "result was not made by what_if"
        return self._scenario.world

    @property
    def scenario_plan(self) -> Plan:
        """The scenario plan (not stored)."""
        assert self._scenario is not None, "result was not made by what_if"
        return self._scenario.plan


@dataclass(frozen=True, slots=True)
class Scenario:
    """A planned scenario and its baseline, in domain objects."""

    world: World
    plan: Plan
    baseline_world: World
    baseline_plan: Plan
    baseline_source: Literal["committed", "fresh_plan"]
    baseline_plan_id: int | None
    changes: tuple[str, ...]
    clock: int | None


# --------------------------------------------------------------------------------------------------
# Applying changes
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Situation:
    """What the current time freezes: orders already started, routes already on the road."""

    clock: int | None
    started_orders: frozenset[str]
    on_road: dict[str, tuple[int, int, str | None]]  # vehicle id -> (route start, last started departure, last started order)
    aboard: frozenset[str]  # orders not yet started on a route that left before the clock (deliveries among them are loaded)
    under_way: frozenset[str] = frozenset()  # visits a vehicle is driving to at the clock (kept as planned unless cancelled)


def _situation(world: World, clock: int | None, committed: Plan | None) -> _Situation:
    """The planner's own rule (:func:`tools.planning.frozen_state`): started or under-way visits are frozen."""
    started: set[str] = set()
    under_way: set[str] = set()
    aboard: set[str] = set()
    on_road: dict[str, tuple[int, int, str | None]] = {}
    vehicles = {v.id: v for v in world.vehicles}
    if clock is not None and committed is not None:
        for r in committed.routes:
            done = frozen_state(world, vehicles[r.vehicle_id], r, clock).visits if r.vehicle_id in vehicles else []
            started.update(v.order_id for v in done if v.start < clock)
            under_way.update(v.order_id for v in done if v.start >= clock)
            if r.visits and r.start < clock:
                on_road[r.vehicle_id] = (r.start, done[-1].departure if done else r.start, done[-1].order_id if done else None)
                aboard.update(v.order_id for v in r.visits[len(done):])
    return _Situation(clock, frozenset(started), on_road, frozenset(aboard), frozenset(under_way))


def _hhmm(t: int, world: World) -> str:
    return format_clock(t, world.utc_offset_s)


def _with_vehicles(world: World, vehicles: list[Vehicle]) -> World:
    return replace(world, vehicles=tuple(vehicles))


def _add_vehicles(world: World, ch: AddVehicles, sit: _Situation) -> tuple[World, str]:
    tmpl = find_vehicle(world, ch.like)
    start = parse_user_time(ch.shift_start, world) if ch.shift_start is not None else tmpl.shift.start
    end = parse_user_time(ch.shift_end, world) if ch.shift_end is not None else tmpl.shift.end
    if end <= start:
        raise InputError(f"add_vehicles: the shift would end at {_hhmm(end, world)}, not after it starts at {_hhmm(start, world)}")
    if sit.clock is not None and end <= sit.clock:
        raise InputError(f"add_vehicles: the shift would end at {_hhmm(end, world)}, before the current time {_hhmm(sit.clock, world)}")
    taken = {v.id for v in world.vehicles}
    new: list[Vehicle] = []
    k = 0
    while len(new) < ch.count:
        k += 1
        vid = f"{NEW_VEHICLE_PREFIX}{k}"
        if vid in taken:
            continue
        new.append(
            replace(
                tmpl,
                id=vid,
                capacity=ch.capacity or tmpl.capacity,
                shift=TimeWindow(start, end),
                driver="",
                unavailable_from=None,
                delayed_until=None,
            )
        )
    cap = ch.capacity or tmpl.capacity
    words = f"added {ch.count} vehicle(s) like {tmpl.id} ({', '.join(v.id for v in new)}): capacity {cap}, shift {_hhmm(start, world)}-{_hhmm(end, world)}"
    return _with_vehicles(world, [*world.vehicles, *new]), words


def _remove_vehicles(world: World, ch: RemoveVehicles, sit: _Situation) -> tuple[World, str]:
    ids = list(dict.fromkeys(find_vehicle(world, vid).id for vid in ch.vehicle_ids))
    out: list[Vehicle] = []
    for v in world.vehicles:
        if v.id in ids:
            off_at = sit.clock if sit.clock is not None else v.shift.start
            if v.unavailable_from is not None:
                off_at = min(off_at, v.unavailable_from)
            v = replace(v, unavailable_from=off_at)
        out.append(v)
    if not any(v.available for v in out):
        raise InputError(f"remove_vehicles: removing {', '.join(ids)} would leave no vehicle available; keep at least one")
    when = f" from {_hhmm(sit.clock, world)} (work already started stays done)" if sit.clock is not None else ""
    return _with_vehicles(world, out), f"removed {', '.join(ids)}{when}"


def _change_shift(world: World, ch: ChangeShift, sit: _Situation) -> tuple[World, str]:
    ids = [v.id for v in world.vehicles] if ch.vehicles == "all" else list(dict.fromkeys(find_vehicle(world, vid).id for vid in ch.vehicles))
    new_start = parse_user_time(ch.start, world) if ch.start is not None else None
    new_end = parse_user_time(ch.end, world) if ch.end is not None else None
    orders = {o.id: o for o in world.orders}
    out: list[Vehicle] = []
    for v in world.vehicles:
        if v.id in ids:
            start = new_start if new_start is not None else v.shift.start
            end = new_end if new_end is not None else v.shift.end
            if end <= start:
                raise InputError(f"change_shift: {v.id}'s shift would end at {_hhmm(end, world)}, not after it starts at {_hhmm(start, world)}")
            if sit.clock is not None and end <= sit.clock:
                raise InputError(f"change_shift: {v.id}'s shift would end at {_hhmm(end, world)}, before the current time {_hhmm(sit.clock, world)}")
            road = sit.on_road.get(v.id)
            if road is not None:
                left, free_at, last = road
                if start > left:
                    raise InputError(f"change_shift: {v.id} already left the depot at {_hhmm(left, world)}; its shift cannot start later than that")
                depot = world.depot(v.depot_id).location
                here = orders[last].location if last is not None and last in orders else depot
                home = max(free_at, sit.clock or free_at) + travel_seconds(haversine_m(here.lat, here.lng, depot.lat, depot.lng), v.speed_kmh)
                if end < home:
                    raise InputError(f"change_shift: {v.id} is on the road and cannot be back before {_hhmm(home, world)}; its shift cannot end earlier")
            v = replace(v, shift=TimeWindow(start, end))
        out.append(v)
    who = "all vehicles" if ch.vehicles == "all" else ", ".join(ids)
    parts = [f"start {_hhmm(new_start, world)}" if new_start is not None else "", f"end {_hhmm(new_end, world)}" if new_end is not None else ""]
    return _with_vehicles(world, out), f"shift of {who} changed: " + ", ".join(p for p in parts if p)


def _scaled_demands(demands: list[int], factor: float) -> list[int]:
    """Whole-parcel demands whose total follows ``factor`` (largest remainders round up; at least 1 each)."""
    exact = [d * factor for d in demands]
    out = [max(1, math.floor(round(x, 9))) for x in exact]
    missing = round(sum(demands) * factor) - sum(out)
    if missing > 0:
        by_remainder = sorted(range(len(demands)), key=lambda i: (-(exact[i] - math.floor(round(exact[i], 9))), i))
        for i in by_remainder[:missing]:
            out[i] += 1
    return out


def _scale_demand(world: World, ch: ScaleDemand, sit: _Situation) -> tuple[World, str]:
    if not (ch.factor > 0 and math.isfinite(ch.factor)):
        raise InputError(f"scale_demand: factor must be a number greater than 0 (1.5 means 50% more parcels), got {ch.factor}")

    def frozen(o: Order) -> bool:
        if o.id in sit.started_orders or o.id in sit.under_way or (o.pair_id is not None and o.pair_id in sit.started_orders):
            return True
        # an unpaired delivery on a vehicle that has left was loaded at the depot already
        return o.kind is OrderKind.DELIVERY and o.pair_id is None and o.id in sit.aboard

    scalable = [o for o in world.orders if not o.cancelled and not frozen(o)]
    kept = sum(1 for o in world.orders if not o.cancelled and frozen(o))
    new_demand = _scaled_demands([o.demand for o in scalable], ch.factor)
    scaled = {o.id: d for o, d in zip(scalable, new_demand, strict=True)}
    before, after = sum(o.demand for o in scalable), sum(new_demand)
    out = [replace(o, demand=scaled[o.id]) if o.id in scaled else o for o in world.orders]
    words = f"demand scaled x{ch.factor:g} on {len(scalable)} order(s): {before} -> {after} parcels (whole parcels, at least 1 per order)"
    if kept:
        words += f"; {kept} order(s) already started or loaded keep their demand"
    return replace(world, orders=tuple(out)), words


def _remove_orders(world: World, ch: RemoveOrders, sit: _Situation) -> tuple[World, str]:
    wanted = list(dict.fromkeys(find_order(world, oid).id for oid in ch.order_ids))
    drop: set[str] = set()
    already: list[str] = []
    for oid in wanted:
        o = world.order(oid)
        if oid in sit.started_orders:
            raise InputError(f"remove_orders: order {oid} was already started before the current time {_hhmm(sit.clock or 0, world)}; it cannot be removed")
        if o.cancelled:
            already.append(oid)
            continue
        drop.add(oid)
        if o.pair_id is not None and o.pair_id not in sit.started_orders:
            drop.add(o.pair_id)
    out = [replace(o, cancelled=True) if o.id in drop else o for o in world.orders]
    words = f"removed order(s) {', '.join(sorted(drop))}" if drop else "removed no order"
    partners = sorted(drop - set(wanted))
    if partners:
        words += f" (with paired order(s) {', '.join(partners)})"
    if already:
        words += f"; already cancelled: {', '.join(already)}"
    return replace(world, orders=tuple(out)), words


def _delay_vehicle(world: World, ch: DelayVehicle, sit: _Situation) -> tuple[World, str]:
    v = find_vehicle(world, ch.vehicle_id)
    base = sit.clock if sit.clock is not None else v.shift.start
    until = base + ch.minutes * 60
    if v.delayed_until is not None:
        until = max(until, v.delayed_until)
    out = [replace(x, delayed_until=until) if x.id == v.id else x for x in world.vehicles]
    frm = "the current time" if sit.clock is not None else "its shift start"
    return _with_vehicles(world, out), f"{v.id} delayed {ch.minutes} min from {frm}: starts nothing before {_hhmm(until, world)}"


def _fleet_size(world: World, ch: FleetSize, sit: _Situation, committed: Plan | None) -> tuple[World, str]:
    available = [v for v in world.vehicles if v.available]
    if ch.count >= len(available):
        return world, f"fleet of {ch.count}: already {len(available)} vehicle(s) available, none removed"
    stops = {r.vehicle_id: len(r.visits) for r in committed.routes} if committed is not None else {}
    order = {v.id: i for i, v in enumerate(world.vehicles)}
    drop = sorted(available, key=lambda v: (stops.get(v.id, 0), -order[v.id]))[: len(available) - ch.count]
    world, words = _remove_vehicles(world, RemoveVehicles(vehicle_ids=[v.id for v in drop]), sit)
    return world, f"fleet of {ch.count} vehicles: {words}"


def _resample_orders(world: World, ch: ResampleOrders, sit: _Situation) -> tuple[World, str]:
    """Drop a seeded random choice of the free orders, or add copies of randomly drawn free orders (new ids ``WHATIF-O1``, ...).

    Free: not cancelled, not in a pickup-and-delivery pair, not started or under way at the clock, and
    not a delivery already loaded on a vehicle that has left. Copies keep windows, parcels, service time,
    priority and skill, lie uniformly within ``jitter_m`` metres of the original (a new address nearby,
    not a second stop at the same door), and carry no pin and no customer note.
    """
    active = [o for o in world.orders if not o.cancelled]

    def free(o: Order) -> bool:
        if o.pair_id is not None or o.id in sit.started_orders or o.id in sit.under_way:
            return False
        return not (o.kind is OrderKind.DELIVERY and o.id in sit.aboard)

    movable = [o for o in active if free(o)]
    fixed = len(active) - len(movable)
    rng = random.Random(ch.seed)
    if ch.count == len(active):
        return world, f"orders resampled to {ch.count}: the day already has {len(active)} active order(s), none changed"
    if ch.count < len(active):
        if ch.count < fixed:
            raise InputError(
                f"resample_orders: {fixed} order(s) must stay (started, under way, loaded, or in a pickup-and-delivery pair); the day cannot go down to {ch.count}"
            )
        drop = {o.id for o in rng.sample(movable, len(active) - ch.count)}
        out = [replace(o, cancelled=True) if o.id in drop else o for o in world.orders]
        words = f"orders resampled to {ch.count}: {len(drop)} of {len(active)} active order(s) dropped at random (seed {ch.seed})"
        return replace(world, orders=tuple(out)), words
    if not movable:
        raise InputError("resample_orders: the day has no order that may be copied (every order is started, loaded or paired)")
    taken = {o.id for o in world.orders}
    added: list[Order] = []
    k = 0
    while len(added) < ch.count - len(active):
        k += 1
        oid = f"{NEW_ORDER_PREFIX}{k}"
        if oid in taken:
            continue
        src = movable[rng.randrange(len(movable))]
        r = ch.jitter_m * math.sqrt(rng.random())
        theta = 2 * math.pi * rng.random()
        lat = src.location.lat + r * math.cos(theta) / 111_320.0
        lng = src.location.lng + r * math.sin(theta) / (111_320.0 * max(0.01, math.cos(math.radians(src.location.lat))))
        added.append(replace(src, id=oid, location=Location(lat, lng), pinned_vehicle=None, notes=""))
    near = f" within {ch.jitter_m} m of" if ch.jitter_m else " at the place of"
    words = f"orders resampled to {ch.count}: {len(active)} + {len(added)} new order(s){near} randomly drawn ones (seed {ch.seed})"
    return replace(world, orders=(*world.orders, *added)), words


def apply_changes(world: World, changes: list[Change], *, clock: int | None = None, committed: Plan | None = None) -> tuple[World, list[str]]:
    """A changed copy of ``world`` and the changes in words (``world`` itself is not touched)."""
    sit = _situation(world, clock, committed)
    words: list[str] = []
    for ch in changes:
        if isinstance(ch, AddVehicles):
            world, w = _add_vehicles(world, ch, sit)
        elif isinstance(ch, RemoveVehicles):
            world, w = _remove_vehicles(world, ch, sit)
        elif isinstance(ch, ChangeShift):
            world, w = _change_shift(world, ch, sit)
        elif isinstance(ch, ScaleDemand):
            world, w = _scale_demand(world, ch, sit)
        elif isinstance(ch, RemoveOrders):
            world, w = _remove_orders(world, ch, sit)
        elif isinstance(ch, DelayVehicle):
            world, w = _delay_vehicle(world, ch, sit)
        elif isinstance(ch, FleetSize):
            world, w = _fleet_size(world, ch, sit, committed)
        elif isinstance(ch, ResampleOrders):
            world, w = _resample_orders(world, ch, sit)
        else:  # pragma: no cover - the discriminated union admits nothing else
            raise InputError(f"unknown change {ch!r}")
        words.append(w)
    return world, words


# --------------------------------------------------------------------------------------------------
# Running a scenario
# --------------------------------------------------------------------------------------------------


def plan_changes(
    world: World, changes: Sequence[Change], deps: PlanningDeps, settings: PlanSettings, *, clock: int | None = None, committed: Plan | None = None
) -> tuple[World, Plan, list[str]]:
    """Apply ``changes`` to a copy of ``world`` and plan it: from ``clock`` continuing ``committed`` when a clock is set, else the whole day.

    The planning step of :func:`run_scenario`; returns the changed world, its plan and the changes in words.
    """
    changed, words = apply_changes(world, list(changes), clock=clock, committed=committed)
    plan = plan_world(changed, deps, settings, clock=clock, committed=committed if clock is not None else None)
    return changed, plan, words


def run_scenario(ctx: ToolContext, request: WhatIfRequest) -> Scenario:
    """Apply the changes to a copy of the world, plan it and plan (or read) the baseline; reads the store only."""
    world = ctx.world()
    clock = ctx.clock()
    stored = ctx.committed()
    committed = stored.plan if stored is not None else None
    changed, plan, words = plan_changes(world, request.changes, ctx.planning, ctx.settings, clock=clock, committed=committed)
    if stored is not None:
        return Scenario(changed, plan, world, stored.plan, "committed", stored.id, tuple(words), clock)
    baseline = plan_world(world, ctx.planning, ctx.settings, clock=clock)
    return Scenario(changed, plan, world, baseline, "fresh_plan", None, tuple(words), clock)


def _delta(a: float | None, b: float | None, digits: int) -> float | None:
    return None if a is None or b is None else round(a - b, digits)


def kpi_deltas(scenario: Kpis, baseline: Kpis) -> KpiDeltas:
    """Scenario minus baseline, field by field."""
    return KpiDeltas(
        vehicles_total=scenario.vehicles_total - baseline.vehicles_total,
        vehicles_available=scenario.vehicles_available - baseline.vehicles_available,
        vehicles_used=scenario.vehicles_used - baseline.vehicles_used,
        total_distance_km=round(scenario.total_distance_km - baseline.total_distance_km, 3),
        driving_time_min=round(scenario.driving_time_min - baseline.driving_time_min, 1),
        on_time_share=_delta(scenario.on_time_share, baseline.on_time_share, 3),
        late_visits=scenario.late_visits - baseline.late_visits,
        utilisation=_delta(scenario.utilisation, baseline.utilisation, 3),
        peak_load_share=_delta(scenario.peak_load_share, baseline.peak_load_share, 3),
        orders_served=scenario.orders_served - baseline.orders_served,
        parcels_served=scenario.parcels_served - baseline.parcels_served,
        unassigned_count=scenario.unassigned_count - baseline.unassigned_count,
        not_in_plan_count=scenario.not_in_plan_count - baseline.not_in_plan_count,
        order_count=scenario.order_count - baseline.order_count,
        cancelled_count=scenario.cancelled_count - baseline.cancelled_count,
    )


def what_if(ctx: ToolContext, request: WhatIfRequest) -> WhatIfResult:
    """Try hypothetical changes on a copy of the world and compare the resulting plan with the baseline. Saves nothing."""
    sc = run_scenario(ctx, request)
    scenario = plan_kpis(sc.world, sc.plan)
    baseline = plan_kpis(sc.baseline_world, sc.baseline_plan)
    if sc.baseline_plan_id is not None:
        baseline = baseline.model_copy(update={"plan_id": sc.baseline_plan_id, "plan_status": "committed"})
    result = WhatIfResult(
        scenario=scenario,
        baseline=baseline,
        baseline_source=sc.baseline_source,
        deltas=kpi_deltas(scenario, baseline),
        changes=list(sc.changes),
        unassigned=[UnassignedOut(order_id=u.order_id, reason=u.reason) for u in sc.plan.unassigned],
        stops_per_vehicle={r.vehicle_id: len(r.visits) for r in sc.plan.routes if r.visits},
        clock=format_clock(sc.clock, sc.world.utc_offset_s) if sc.clock is not None else None,
    )
    result._scenario = sc
    return result


# --------------------------------------------------------------------------------------------------
# A forecast-driven day
# --------------------------------------------------------------------------------------------------


class ForecastDayRequest(RequestModel):
    """A day whose number of orders follows the demand forecast of the world's history."""

    series: list[str] | None = Field(default=None, description="history series whose forecasts add up to the day's volume (default: every series)")
    day: str | None = Field(
        default=None, description="ISO date to forecast (default: the world's date when the history ends 1 to 28 days before it, else the day after the history)"
    )
    mode: Literal["volume", "relative"] = Field(
        default="volume",
        description="volume: the day gets as many orders as the forecast; relative: the day's orders are scaled by forecast / mean daily volume of the "
        "last window_days history days (for history that is not the station's own, or counts in other units)",
    )
    window_days: int = Field(default=28, ge=1, le=366, description="relative mode: how many of the last history days make the reference mean")
    seed: int = Field(default=0, description="seed of the resample_orders change")


class ForecastDayOut(BaseModel):
    """How many orders the forecast gives the day, and the change that makes the world so."""

    day: str = Field(description="the forecast day, ISO date")
    series: list[str]
    mode: Literal["volume", "relative"]
    forecast: float = Field(description="sum over the series of forecast_demand's point forecast for the day")
    reference: float | None = Field(default=None, description="relative mode: mean daily volume over the last window_days history days (sum over the series)")
    orders_before: int = Field(description="active orders of the world")
    count: int = Field(description="active orders of the forecast-driven day (rounded to a whole order)")
    models: list[str] = Field(description="the forecast model of each series")
    change: ResampleOrders = Field(description="the change to apply (a what-if or a scenario variant)")
    words: str


def forecast_day(ctx: ToolContext, request: ForecastDayRequest) -> ForecastDayOut:
    """The order count of a forecast-driven day from :func:`tools.forecast.forecast_demand`, as a ``resample_orders`` change.

    ``volume`` mode: count = round(sum of the series' point forecasts for the day). ``relative`` mode:
    count = round(active orders x forecast / reference), with reference the mean daily volume of the
    series over their last ``window_days`` history days (from :func:`tools.forecast.history_volume`).
    Reads only; the world itself is not changed.
    """
    world = ctx.world()
    reader = ctx.history_reader()
    known = {s.key: s for s in reader.series(ctx.world_name)}
    keys = list(dict.fromkeys(reader.resolve(ctx.world_name, s) for s in request.series)) if request.series else list(known)
    if not keys:
        raise InputError(f"world {ctx.world_name!r} has no history to forecast from; import history first (logistics-copilot forecast import)")
    ends = {k: date.fromisoformat(known[k].last) for k in keys}
    if request.day is not None:
        day = parse_day(request.day, "day")
    else:
        own = parse_day(world.date, "the world's date") if world.date else None
        fits = own is not None and all(1 <= (own - e).days <= MAX_HORIZON_DAYS for e in ends.values())
        day = own if fits and own is not None else max(ends.values()) + timedelta(days=1)
    total = 0.0
    models: list[str] = []
    for k in keys:
        h = (day - ends[k]).days
        if not 1 <= h <= MAX_HORIZON_DAYS:
            raise InputError(f"{day} is {h} day(s) after the history of series {k!r} ends ({ends[k]}); a forecast needs a day 1 to {MAX_HORIZON_DAYS} days after it")
        fc = forecast_demand(ctx, ForecastRequest(series=k, days=h))
        total += fc.days[-1].forecast
        models.append(f"{k}: {fc.model}")
    active = len(world.active_orders())
    reference: float | None = None
    if request.mode == "volume":
        count = round(total)
        how = f"forecast {total:.1f} order(s) for {day}"
    else:
        reference = 0.0
        for k in keys:
            start = ends[k] - timedelta(days=request.window_days - 1)
            reference += history_volume(ctx, HistoryRequest(series=k, start=start.isoformat(), end=ends[k].isoformat())).total / request.window_days
        if reference <= 0:
            raise InputError(f"the last {request.window_days} history day(s) of {', '.join(keys)} hold no volume; relative mode needs a positive reference")
        count = round(active * total / reference)
        how = f"forecast {total:.1f} for {day} against a mean of {reference:.1f} a day over the last {request.window_days} day(s)"
        how += f": x{total / reference:.3f} on {active} order(s)"
    change = ResampleOrders(count=count, seed=request.seed)
    return ForecastDayOut(
        day=day.isoformat(),
        series=keys,
        mode=request.mode,
        forecast=round(total, 1),
        reference=round(reference, 3) if reference is not None else None,
        orders_before=active,
        count=count,
        models=models,
        change=change,
        words=f"forecast-driven day ({', '.join(keys)}): {how} -> {count} order(s)",
    )
