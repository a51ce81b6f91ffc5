"""Explanations grounded in computation: why an order is where it is, why it is not served, what a move costs.

Every number comes from re-timing routes with :func:`tools.planning.time_route` at the world's clock
(see :mod:`tools.routes`); a stated move can be reproduced with :func:`tools.routes.apply_move`, which is
re-exported here. Nothing is written to the store.

Conventions: distance deltas are total plan distance after the move minus the committed plan's (so
``apply_move(...).distance_m - committed.distance_m``); time deltas are the change of the summed route
durations (return minus departure) against the same routes re-timed from the clock without the move;
"old" service times of shifted stops are from that re-timed route (equal to the committed times when
no clock is set or it has not passed them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Literal

from pydantic import BaseModel, Field

from copilot.core.domain import Order, OrderKind, Plan, World
from copilot.core.errors import InputError
from copilot.core.units import format_clock
from tools.context import RequestModel, ToolContext, find_order, find_vehicle
from tools.insertion import InsertionOption, ShiftedStop, VehicleReason, committed_plan, option_out, shifted_out
from tools.routes import Insertion, PlanState, Problem, RouteBase, Shift, apply_move, check_movable, route_time, shifts_between

__all__ = [
    "Alternative",
    "ConstraintOut",
    "MoveCost",
    "MoveCostRequest",
    "WhyOnVehicle",
    "WhyOnVehicleRequest",
    "WhyUnassigned",
    "WhyUnassignedRequest",
    "apply_move",
    "cost_of_move",
    "vehicle_options",
    "why_on_vehicle",
    "why_unassigned",
]

TIGHT_MIN = 15  # a window or shift with at most this many minutes of slack is called tight
TIGHT_LOAD_SHARE = 0.10  # spare capacity at most this share of capacity is called tight


class WhyOnVehicleRequest(RequestModel):
    """Which order to explain."""

    order_id: str = Field(description="an order routed in the committed plan")


class ConstraintOut(BaseModel):
    """One constraint at the order's place in its route, with the numbers."""

    name: Literal["window", "capacity", "skill", "shift_end", "max_duration", "pinned", "paired", "started"]
    binding: bool = Field(description="True when it is tight or restricts the choice of vehicle")
    detail: str


class Alternative(BaseModel):
    """The best other place for an order, as the move would leave the plan."""

    vehicle_id: str
    position: int = Field(description="1-based index of the order in that vehicle's stop list after the move")
    insert_after: str = Field(description="order id of the stop before it, or 'depot'")
    cost_delta_m: int = Field(description="total plan distance after the move minus before, metres (negative: the move saves distance)")
    cost_delta_km: float = Field(description="the same in km")
    time_delta_s: int = Field(description="change of the summed route durations, seconds")
    time_delta_min: float = Field(description="the same in minutes")
    eta: str = Field(description="service start of the order after the move, HH:MM local")
    shifted_stops: list[ShiftedStop] = Field(description="other stops whose service start moves (both routes)")


class WhyOnVehicle(BaseModel):
    """Where an order is, what holds it there, and the best alternative."""

    order_id: str
    vehicle_id: str
    position: int = Field(description="1-based index of the order in the vehicle's stop list")
    stops_on_route: int
    started: bool = Field(description="True when its service started before the clock (it cannot move)")
    arrival: str = Field(description="HH:MM local, as the route stands at the clock")
    eta: str = Field(description="service start, HH:MM local")
    window: str | None = Field(description="its time window(s), HH:MM-HH:MM")
    window_slack_min: float | None = Field(description="minutes between service start and the end of its window (negative: late)")
    waited_min: float = Field(description="minutes the vehicle waits there for the window to open")
    load_after: int = Field(description="load on board after its service")
    peak_load: int = Field(description="highest load while its goods are on board")
    capacity: int
    required_skill: str | None
    vehicles_with_skill: list[str] = Field(description="vehicles that have the required skill (empty when none is needed)")
    route_end: str = Field(description="return to the depot, HH:MM local")
    must_be_back_by: str = Field(description="shift end / depot closing / unavailability, whichever is first, HH:MM local")
    shift_end_slack_min: float = Field(description="minutes between the return and must_be_back_by")
    constraints: list[ConstraintOut]
    alternative: Alternative | None = Field(description="best feasible placement on another vehicle, or None")
    alternative_reasons: list[VehicleReason] = Field(description="for each other vehicle without a feasible placement: why")
    summary: str


class WhyUnassignedRequest(RequestModel):
    """Which order to explain."""

    order_id: str = Field(description="an order not routed in the committed plan")


class WhyUnassigned(BaseModel):
    """Why an order is not in the committed plan, vehicle by vehicle."""

    order_id: str
    status: Literal["cancelled", "unassigned", "not_in_plan"] = Field(
        description="cancelled: the order is cancelled; unassigned: the plan lists it as unassigned; not_in_plan: added after the plan was made")
    plan_reason: str | None = Field(description="the reason the plan gave when it left the order out")
    vehicles: list[VehicleReason] = Field(description="for each vehicle that cannot take it now: the constraint that excludes it")
    could_insert: list[InsertionOption] = Field(description="vehicles that could take it now, best feasible position each, least extra distance first")
    summary: str


class MoveCostRequest(RequestModel):
    """A manual move to cost."""

    order_id: str
    vehicle_id: str = Field(description="the vehicle to move it to (may be its own, to change its position)")
    position: int | None = Field(default=None, ge=1, description="1-based index in that vehicle's stop list after the move; None: the best one")


class MoveCost(BaseModel):
    """What a manual move would do to the plan."""

    order_id: str
    from_vehicle_id: str | None = Field(description="the vehicle it is on now (None when unassigned)")
    from_position: int | None
    vehicle_id: str
    position: int | None = Field(description="1-based index after the move (None when no position is feasible)")
    insert_after: str | None
    feasible: bool
    code: str | None = Field(description="why not (a VehicleReason code), None when feasible")
    reason: str | None
    cost_delta_m: int | None = Field(description="total plan distance after the move minus before, metres")
    cost_delta_km: float | None
    time_delta_s: int | None = Field(description="change of the summed route durations, seconds")
    time_delta_min: float | None
    eta: str | None = Field(description="service start of the order after the move, HH:MM local")
    shifted_stops: list[ShiftedStop] = Field(description="other stops whose service start moves")
    notes: list[str]
    summary: str


# --------------------------------------------------------------------------------------------------


def _order_blocker(order: Order, target: str, source: RouteBase | None) -> Problem | None:
    """Order-level rules that keep it off ``target`` (pairs, pins, goods on board, started)."""
    if order.pair_id is not None:
        return "paired", f"{order.id} is paired with {order.pair_id}: both halves must be on one vehicle, pickup first; move them together"
    if order.pinned_vehicle is not None and order.pinned_vehicle != target:
        return "pinned", f"{order.id} is pinned to {order.pinned_vehicle}"
    if source is not None and source.vehicle_id != target and order.kind is OrderKind.DELIVERY and source.frozen.started:
        return "onboard", f"{order.id}'s goods are on board {source.vehicle_id}, which has left the depot"
    return None


def _shifts_of_move(state: PlanState, after: Plan, vids: list[str], moved: str) -> list[Shift]:
    routes = {r.vehicle_id: r for r in after.routes}
    out: list[Shift] = []
    for vid in vids:
        new = routes.get(vid)
        if new is not None:
            out.extend(shifts_between(vid, state.base(vid).route, new, skip=[moved]))
    return out


def _move_numbers(state: PlanState, order_id: str, vehicle_id: str, position: int) -> tuple[Plan, int, int, int, list[Shift]]:
    """The moved plan, its distance delta (m), time delta (s), the order's service start and the shifted stops."""
    after = apply_move(state.world, state.plan, order_id, vehicle_id, position, state.clock)
    here = state.located(order_id)
    vids = [vehicle_id] if here is None or here[0].vehicle_id == vehicle_id else [here[0].vehicle_id, vehicle_id]
    routes = {r.vehicle_id: r for r in after.routes}
    d_dist = after.distance_m - state.plan.distance_m
    d_time = sum(route_time(routes.get(v)) - state.base(v).duration_s for v in vids)
    start = routes[vehicle_id].visits[position - 1].start
    return after, d_dist, d_time, start, _shifts_of_move(state, after, vids, order_id)


def _hhmm(world: World, t: int) -> str:
    return format_clock(t, world.utc_offset_s)


def why_on_vehicle(ctx: ToolContext, req: WhyOnVehicleRequest) -> WhyOnVehicle:
    """Why the order is on its vehicle: its binding constraints and the best alternative placement."""
    plan, _pid = committed_plan(ctx)
    world = ctx.world()
    clock = ctx.clock()
    order = find_order(world, req.order_id)
    state = PlanState(world, plan, clock)
    here = state.located(order.id)
    if here is None:
        status = "cancelled" if order.cancelled else "not routed"
        raise InputError(f"order {order.id} is {status} in the committed plan; ask why it is unassigned instead")
    route, idx = here
    vid = route.vehicle_id
    base = state.base(vid)
    vehicle = base.vehicle
    visit = base.route.visits[idx]
    started = idx < base.n_frozen
    off = world.utc_offset_s
    constraints: list[ConstraintOut] = []

    window_txt: str | None = None
    slack_min: float | None = None
    if order.windows:
        window_txt = ", ".join(f"{_hhmm(world, w.start)}-{_hhmm(world, w.end)}" for w in order.windows)
        inside = [w for w in order.windows if w.start <= visit.start <= w.end]
        end = inside[0].end if inside else max((w.end for w in order.windows if w.end < visit.start), default=order.windows[0].end)
        slack_min = round((end - visit.start) / 60, 1)
        waited = visit.start - visit.arrival
        detail = f"service at {_hhmm(world, visit.start)}, window {window_txt}: {slack_min:.0f} min slack"
        if waited > 0:
            detail += f"; waits {waited / 60:.0f} min for it to open"
        constraints.append(ConstraintOut(name="window", binding=slack_min <= TIGHT_MIN or waited > 0, detail=detail))
    loads = [base.route.start_load, *[v.load_after for v in base.route.visits]]
    if order.kind is OrderKind.PICKUP:
        peak = max(loads[idx + 1:])
        carried = "from here to the depot"
    else:
        peak = max(loads[: idx + 1])
        carried = "from the depot to here"
    spare = vehicle.capacity - peak
    constraints.append(ConstraintOut(
        name="capacity", binding=spare <= TIGHT_LOAD_SHARE * vehicle.capacity,
        detail=f"load {visit.load_after} after its service; peak {peak} of {vehicle.capacity} while its {order.demand} unit(s) are on board "
               f"({carried}), {spare} spare"))
    with_skill: list[str] = []
    if order.required_skill is not None:
        with_skill = sorted(v.id for v in world.vehicles if order.required_skill in v.skills)
        constraints.append(ConstraintOut(name="skill", binding=True, detail=f"needs {order.required_skill!r}: only {', '.join(with_skill)} have it"))
    shift_slack = base.limit_end - base.route.end
    constraints.append(ConstraintOut(
        name="shift_end", binding=shift_slack <= TIGHT_MIN * 60,
        detail=f"{vid} is back at {_hhmm(world, base.route.end)}, must be back by {_hhmm(world, base.limit_end)}: {shift_slack / 60:.0f} min slack"))
    if vehicle.max_route_duration_s is not None:
        dur_slack = vehicle.max_route_duration_s - route_time(base.route)
        constraints.append(ConstraintOut(name="max_duration", binding=dur_slack <= TIGHT_MIN * 60,
                                         detail=f"route takes {route_time(base.route) / 60:.0f} min of at most {vehicle.max_route_duration_s / 60:.0f}"))
    if order.pinned_vehicle is not None:
        constraints.append(ConstraintOut(name="pinned", binding=True, detail=f"pinned to {order.pinned_vehicle}"))
    if order.pair_id is not None:
        constraints.append(ConstraintOut(name="paired", binding=True, detail=f"paired with {order.pair_id}: same vehicle, pickup first"))
    if started:
        constraints.append(ConstraintOut(name="started", binding=True,
                                         detail=f"service started at {_hhmm(world, visit.start)}, before the clock {_hhmm(world, clock or 0)}"))

    alternative: Alternative | None = None
    reasons: list[VehicleReason] = []
    others = [v for v in world.vehicles if v.id != vid]
    if started:
        why = f"{order.id} already started at {_hhmm(world, visit.start)}; a started visit cannot be moved"
        reasons = [VehicleReason(vehicle_id=v.id, code="started", reason=why) for v in others]
    else:
        reduced = state.without(vid, order.id)
        found: list[tuple[int, int, str, Insertion]] = []
        for v in others:
            blocked = _order_blocker(order, v.id, base)
            if blocked is None and reduced.problem is not None:
                blocked = "route_infeasible", f"without {order.id}, {vid}'s route is still infeasible: {reduced.problem[1]}"
            if blocked is not None:
                reasons.append(VehicleReason(vehicle_id=v.id, code=blocked[0], reason=blocked[1]))
                continue
            ins, why_not = state.base(v.id).best(order)
            if ins is None:
                assert why_not is not None
                reasons.append(VehicleReason(vehicle_id=v.id, code=why_not[0], reason=why_not[1]))
                continue
            delta = state.base(v.id).distance_m + ins.extra_m - state.committed_distance(v.id)
            found.append((delta, ins.extra_s, v.id, ins))
        if found:
            best = min(found, key=lambda x: x[:3])[3]
            _after, d_dist, d_time, start, shifts = _move_numbers(state, order.id, best.vehicle_id, best.position)
            alternative = Alternative(
                vehicle_id=best.vehicle_id, position=best.position, insert_after=best.insert_after, cost_delta_m=d_dist,
                cost_delta_km=round(d_dist / 1000, 3), time_delta_s=d_time, time_delta_min=round(d_time / 60, 1), eta=_hhmm(world, start),
                shifted_stops=shifted_out(shifts, off))

    binding = [c.name for c in constraints if c.binding]
    summary = f"{order.id} is stop {idx + 1} of {len(base.route.visits)} on {vid} (service {_hhmm(world, visit.start)})"
    summary += f"; binding: {', '.join(binding)}" if binding else "; no constraint is tight"
    if alternative is not None:
        summary += (f"; best alternative: {alternative.vehicle_id} as stop {alternative.position} after {alternative.insert_after}, "
                    f"{alternative.cost_delta_km:+.2f} km, {alternative.time_delta_min:+.0f} min route time")
    else:
        summary += "; no feasible alternative"
    return WhyOnVehicle(
        order_id=order.id, vehicle_id=vid, position=idx + 1, stops_on_route=len(base.route.visits), started=started,
        arrival=_hhmm(world, visit.arrival), eta=_hhmm(world, visit.start), window=window_txt, window_slack_min=slack_min,
        waited_min=round((visit.start - visit.arrival) / 60, 1), load_after=visit.load_after, peak_load=peak, capacity=vehicle.capacity,
        required_skill=order.required_skill, vehicles_with_skill=with_skill, route_end=_hhmm(world, base.route.end),
        must_be_back_by=_hhmm(world, base.limit_end), shift_end_slack_min=round(shift_slack / 60, 1), constraints=constraints,
        alternative=alternative, alternative_reasons=reasons, summary=summary,
    )


def vehicle_options(state: PlanState, order: Order, bases: Iterable[RouteBase] | None = None) -> tuple[list[VehicleReason], list[Insertion]]:
    """For an order not on the plan: why each vehicle cannot take it now, and the best insertion on each that can
    (least extra distance first). ``order`` may differ from the world's (a hypothetical window, say), and ``bases``
    (default: every vehicle's route in ``state``) may be routes of hypothetical vehicles."""
    reasons: list[VehicleReason] = []
    options: list[Insertion] = []
    for b in state.bases() if bases is None else bases:
        blocked = _order_blocker(order, b.vehicle_id, None)
        if blocked is None:
            ins, why_not = b.best(order)
            if ins is not None:
                options.append(ins)
                continue
            blocked = why_not
        assert blocked is not None
        reasons.append(VehicleReason(vehicle_id=b.vehicle_id, code=blocked[0], reason=blocked[1]))
    options.sort(key=lambda x: (x.extra_m, x.extra_s, x.vehicle_id))
    return reasons, options


def why_unassigned(ctx: ToolContext, req: WhyUnassignedRequest) -> WhyUnassigned:
    """Why an order is not served: the constraint that excludes each vehicle, or where it could go now."""
    plan, _pid = committed_plan(ctx)
    world = ctx.world()
    clock = ctx.clock()
    order = find_order(world, req.order_id)
    off = world.utc_offset_s
    state = PlanState(world, plan, clock)
    here = state.located(order.id)
    listed = {u.order_id: u.reason for u in plan.unassigned}
    if order.cancelled:
        still = f"; it is still stop {here[1] + 1} on {here[0].vehicle_id} in the committed plan until a re-plan is approved" if here is not None else ""
        return WhyUnassigned(order_id=order.id, status="cancelled", plan_reason=listed.get(order.id), vehicles=[], could_insert=[],
                             summary=f"{order.id} is cancelled, so it is not served{still}")
    if here is not None:
        raise InputError(f"order {order.id} is stop {here[1] + 1} on {here[0].vehicle_id} in the committed plan; ask why it is on that vehicle instead")
    status: Literal["unassigned", "not_in_plan"] = "unassigned" if order.id in listed else "not_in_plan"
    reasons, options = vehicle_options(state, order)
    head = f"{order.id} is {'unassigned' if status == 'unassigned' else 'not in the committed plan (added after it was made)'}"
    if options:
        o = options[0]
        summary = (f"{head}; it fits now: best on {o.vehicle_id} as stop {o.position} after {o.insert_after}, "
                   f"+{o.extra_m / 1000:.2f} km; {len(reasons)} vehicle(s) cannot take it")
    else:
        summary = f"{head}; no vehicle can take it: " + "; ".join(f"{r.vehicle_id}: {r.reason}" for r in reasons)
    return WhyUnassigned(order_id=order.id, status=status, plan_reason=listed.get(order.id), vehicles=reasons,
                         could_insert=[option_out(x, off) for x in options], summary=summary)


def cost_of_move(ctx: ToolContext, req: MoveCostRequest) -> MoveCost:
    """The cost of moving an order to a vehicle (best position there when none is given); changes nothing."""
    plan, _pid = committed_plan(ctx)
    world = ctx.world()
    clock = ctx.clock()
    order = check_movable(world, plan, req.order_id, clock)
    vehicle = find_vehicle(world, req.vehicle_id)
    state = PlanState(world, plan, clock)
    here = state.located(order.id)
    source = state.base(here[0].vehicle_id) if here is not None else None
    same = source is not None and source.vehicle_id == vehicle.id
    target = state.without(vehicle.id, order.id) if same else state.base(vehicle.id)
    reduced = state.without(source.vehicle_id, order.id) if source is not None and not same else None
    notes: list[str] = []
    if order.pinned_vehicle is not None and order.pinned_vehicle != vehicle.id:
        notes.append(f"{order.id} is pinned to {order.pinned_vehicle}; the move replaces the pin")
    blocked = _order_blocker(replace_pin(order), vehicle.id, source)
    if blocked is None:
        blocked = target.screen(order)
    ins: Insertion | None = None
    if req.position is not None:
        lo, hi = target.n_frozen + 1, target.n_frozen + len(target.tail) + 1
        if not lo <= req.position <= hi:
            started = f"; stops 1..{target.n_frozen} have already started" if target.n_frozen else ""
            raise InputError(f"position {req.position} on {vehicle.id} is not possible: choose {lo}..{hi}{started}")
        ins = target.insert(order, req.position - lo)
        if blocked is None and not ins.feasible:
            blocked = ins.code, ins.reason
    elif blocked is None:
        ins, blocked = target.best(order)
    if blocked is None and reduced is not None and reduced.problem is not None:
        blocked = "route_infeasible", f"without {order.id}, {reduced.vehicle_id}'s route is still infeasible: {reduced.problem[1]}"
    from_vid = source.vehicle_id if source is not None else None
    from_pos = here[1] + 1 if here is not None else None
    out = MoveCost(order_id=order.id, from_vehicle_id=from_vid, from_position=from_pos, vehicle_id=vehicle.id, position=None, insert_after=None,
                   feasible=blocked is None, code=blocked[0] if blocked else None, reason=blocked[1] if blocked else None, cost_delta_m=None,
                   cost_delta_km=None, time_delta_s=None, time_delta_min=None, eta=None, shifted_stops=[], notes=notes, summary="")
    if ins is not None:
        _after, d_dist, d_time, start, shifts = _move_numbers(state, order.id, vehicle.id, ins.position)
        out.position, out.insert_after = ins.position, ins.insert_after
        out.cost_delta_m, out.cost_delta_km = d_dist, round(d_dist / 1000, 3)
        out.time_delta_s, out.time_delta_min = d_time, round(d_time / 60, 1)
        out.eta = _hhmm(world, start)
        out.shifted_stops = shifted_out(shifts, world.utc_offset_s)
    where = f"{order.id} from {from_vid or 'unassigned'} to {vehicle.id}"
    if out.position is not None:
        where += f" as stop {out.position} after {out.insert_after}"
    if out.cost_delta_km is not None:
        where += f": {out.cost_delta_km:+.2f} km, {out.time_delta_min:+.0f} min route time, {len(out.shifted_stops)} stop(s) re-timed"
    out.summary = where + ("" if blocked is None else f"; not feasible: {blocked[1]}")
    return out


def replace_pin(order: Order) -> Order:
    """The order as a manual move sees it: its pin is what the move replaces."""
    return replace(order, pinned_vehicle=None)
