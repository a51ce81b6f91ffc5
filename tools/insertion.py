"""Insertion advice: where a prospective order fits best into the committed plan, computed, not guessed.

Every (vehicle, position) after the visits already started at the world's clock is evaluated with the
timing rules of :func:`tools.planning.time_route` (see :mod:`tools.routes`); the best feasible options by
extra distance are returned, or, when none is feasible, the reason for every vehicle. Nothing is written.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Literal

from pydantic import BaseModel, Field

from copilot.core.domain import MAX_UNITS, Location, Order, OrderKind, Plan, TimeWindow, World
from copilot.core.errors import InputError
from copilot.core.units import format_clock
from tools.context import RequestModel, ToolContext, parse_user_time
from tools.routes import Insertion, PlanState, ReasonCode, Shift

NEW_ORDER_ID = "NEW"


class InsertionRequest(RequestModel):
    """A prospective order to fit into the committed plan."""

    lat: float = Field(ge=-90, le=90, description="latitude of the customer, degrees (WGS84)")
    lng: float = Field(ge=-180, le=180, description="longitude of the customer, degrees (WGS84)")
    demand: int = Field(ge=0, le=MAX_UNITS, description="parcel units picked up or delivered")
    service_min: float = Field(default=0.0, ge=0, le=24 * 60, description="minutes spent at the customer")
    tw_start: str | None = Field(default=None, description="window opens: HH:MM on the world's day or ISO 8601 with offset")
    tw_end: str | None = Field(default=None, description="window closes: HH:MM on the world's day or ISO 8601 with offset")
    kind: Literal["pickup", "delivery"] = Field(default="pickup", description="pickup: goods loaded at the customer; delivery: loaded at the depot")
    required_skill: str | None = Field(default=None, description="a skill the vehicle must have, e.g. 'bulky'")
    k: int = Field(default=3, ge=1, le=50, description="how many options to return at most")


class ShiftedStop(BaseModel):
    """An existing stop whose service start moves because of the change."""

    vehicle_id: str
    order_id: str
    old_eta: str = Field(description="service start before the change, HH:MM local")
    new_eta: str = Field(description="service start after the change, HH:MM local")
    minutes_later: float = Field(description="new minus old service start in minutes (negative: earlier)")


class VehicleReason(BaseModel):
    """Why a vehicle cannot take the order."""

    vehicle_id: str
    code: ReasonCode = Field(
        description="skill: skill missing; capacity: demand or load over capacity; window: the order's window cannot be reached; "
                    "later_window: a later stop would miss its window; shift_end: not back before the shift ends / depot closes; "
                    "max_duration: route too long; unavailable: vehicle broken down or off duty; depot_goods: a delivery cannot join a "
                    "vehicle that has left the depot; onboard: goods on board another vehicle; pinned: pinned to another vehicle; "
                    "paired: half of a pickup-and-delivery pair; route_infeasible: the route already breaks a rule; started: already started")
    reason: str = Field(description="what breaks, with the numbers")


class InsertionOption(BaseModel):
    """One feasible place for the order."""

    vehicle_id: str
    position: int = Field(description="1-based index of the new stop in the vehicle's stop list after insertion")
    insert_after: str = Field(description="order id of the stop before it, or 'depot'")
    extra_m: int = Field(description="extra route distance in metres")
    extra_km: float = Field(description="extra route distance in km")
    extra_s: int = Field(description="extra route time (return minus departure) in seconds")
    extra_min: float = Field(description="extra route time in minutes")
    arrival: str = Field(description="arrival at the new stop, HH:MM local")
    eta: str = Field(description="service start at the new stop, HH:MM local")
    route_end: str = Field(description="the vehicle's return to the depot after the change, HH:MM local")
    shifted_stops: list[ShiftedStop] = Field(description="existing stops whose service start moves")


class InsertionAdvice(BaseModel):
    """The best places for a prospective order, or why it fits nowhere."""

    feasible: bool = Field(description="True when at least one option exists")
    options: list[InsertionOption] = Field(description="best feasible options, least extra distance first (at most k)")
    reasons: list[VehicleReason] = Field(description="for every vehicle without a feasible position: why")
    plan_id: int = Field(description="the committed plan the advice is based on")
    clock: str | None = Field(description="the world's clock, HH:MM local; visits that started before it are kept in place")
    positions_tried: int = Field(description="(vehicle, position) pairs evaluated")
    summary: str = Field(description="one line for a dispatcher, built from the numbers above")


def shifted_out(shifts: list[Shift] | tuple[Shift, ...], offset: int) -> list[ShiftedStop]:
    """Pydantic view of stop shifts."""
    return [
        ShiftedStop(vehicle_id=s.vehicle_id, order_id=s.order_id, old_eta=format_clock(s.old_start, offset), new_eta=format_clock(s.new_start, offset),
                    minutes_later=round((s.new_start - s.old_start) / 60, 1))
        for s in shifts
    ]


def option_out(ins: Insertion, offset: int) -> InsertionOption:
    """Pydantic view of a feasible insertion."""
    return InsertionOption(
        vehicle_id=ins.vehicle_id,
        position=ins.position,
        insert_after=ins.insert_after,
        extra_m=ins.extra_m,
        extra_km=round(ins.extra_m / 1000, 3),
        extra_s=ins.extra_s,
        extra_min=round(ins.extra_s / 60, 1),
        arrival=format_clock(ins.arrival, offset),
        eta=format_clock(ins.start, offset),
        route_end=format_clock(ins.route_end, offset),
        shifted_stops=shifted_out(ins.shifts, offset),
    )


def _day_end(world: World) -> int:
    tz = timezone(timedelta(seconds=world.utc_offset_s))
    day = datetime.fromisoformat(world.date).replace(tzinfo=tz)
    return int((day + timedelta(days=1)).timestamp()) - 1


def prospective_order(world: World, req: InsertionRequest, order_id: str = NEW_ORDER_ID) -> Order:
    """The domain order the request describes (a window given by one end only runs from midnight / to the end of the day)."""
    windows: tuple[TimeWindow, ...] = ()
    if req.tw_start is not None or req.tw_end is not None:
        start = parse_user_time(req.tw_start, world) if req.tw_start is not None else 0
        end = parse_user_time(req.tw_end, world) if req.tw_end is not None else max(_day_end(world), start)
        if end < start:
            raise InputError(f"the time window ends ({req.tw_end}) before it starts ({req.tw_start})")
        windows = (TimeWindow(start, end),)
    skill = req.required_skill.strip() if req.required_skill is not None and req.required_skill.strip() else None
    return Order(
        id=order_id,
        kind=OrderKind(req.kind),
        location=Location(req.lat, req.lng),
        demand=req.demand,
        service_s=round(req.service_min * 60),
        windows=windows,
        required_skill=skill,
    )


def committed_plan(ctx: ToolContext) -> tuple[Plan, int]:
    """The committed plan and its id, or the InputError that says to plan first."""
    stored = ctx.committed()
    if stored is None:
        raise InputError("no committed plan; plan and approve the day first")
    return stored.plan, stored.id


def advise_insertion(ctx: ToolContext, req: InsertionRequest) -> InsertionAdvice:
    """Best k feasible (vehicle, position) options for a prospective order against the committed plan; changes nothing."""
    plan, plan_id = committed_plan(ctx)
    world = ctx.world()
    clock = ctx.clock()
    order = prospective_order(world, req)
    off = world.utc_offset_s
    state = PlanState(world, plan, clock)
    found: list[Insertion] = []
    reasons: list[VehicleReason] = []
    tried = 0
    for base in state.bases():
        screened = base.screen(order)
        if screened is not None:
            reasons.append(VehicleReason(vehicle_id=base.vehicle_id, code=screened[0], reason=screened[1]))
            continue
        tries = [base.insert(order, j) for j in range(len(base.tail) + 1)]
        tried += len(tries)
        ok = [x for x in tries if x.feasible]
        if ok:
            found.extend(ok)
        else:
            code, why = base.explain_failures(order, tries)
            reasons.append(VehicleReason(vehicle_id=base.vehicle_id, code=code, reason=why))
    found.sort(key=lambda x: (x.extra_m, x.extra_s, x.vehicle_id, x.position))
    options = [option_out(x, off) for x in found[: req.k]]
    if options:
        best = options[0]
        summary = (f"best: {best.vehicle_id} as stop {best.position} after {best.insert_after}, +{best.extra_km:.2f} km, "
                   f"{best.extra_min:+.0f} min, service at {best.eta}; {len(best.shifted_stops)} stop(s) move later")
    else:
        summary = "no vehicle can take it: " + "; ".join(f"{r.vehicle_id}: {r.reason}" for r in reasons)
    return InsertionAdvice(
        feasible=bool(options),
        options=options,
        reasons=reasons,
        plan_id=plan_id,
        clock=format_clock(clock, off) if clock is not None else None,
        positions_tried=tried,
        summary=summary,
    )
