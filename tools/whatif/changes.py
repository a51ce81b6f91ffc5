"""The changes a what-if can make, and :func:`apply_changes`, which makes them on a copy of the world.

Each change is a request model (``kind`` tells them apart in :data:`Change`); applying one returns the changed
copy and the change in words. What the current time freezes (work started, routes on the road) follows the
planner's own rule (:func:`tools.planning.frozen_state`).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from typing import Annotated, Literal

from pydantic import Field, model_validator

from copilot.core.domain import MAX_UNITS, Location, Order, OrderKind, Plan, TimeWindow, Vehicle, World
from copilot.core.errors import InputError
from copilot.core.units import format_clock, haversine_m, travel_seconds
from tools.context import RequestModel, find_order, find_vehicle, parse_user_time
from tools.planning import frozen_state

NEW_VEHICLE_PREFIX = "WHATIF-"
MAX_RESAMPLED_ORDERS = 3000  # a what-if day is planned within one request: a bounded amount of work
NEW_ORDER_PREFIX = "WHATIF-O"

# --------------------------------------------------------------------------------------------------
# The changes
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
