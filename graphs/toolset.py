"""The agent's actions: what the model may choose, the arguments it fills, and the catalogue tools each one calls.

Each :class:`Action` pairs a one-line description (what the model sees) with a small arguments model
(every field optional, so the model can say "not given" with ``null``) and a runner that validates the
arguments against the store and calls one typed tool from ``tools``. Nothing here computes a number a
dispatcher acts on: the runners only translate and call. What the model fills is checked by
:func:`ground`: ids must exist and appear in what the dispatcher wrote, numbers and times must appear in
it; a required value that is missing or not grounded becomes a question back to the dispatcher.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

from copilot.core.errors import InputError
from graphs.grounding import MODEL_FILLS, PERIOD_FIELDS, Grounded, args_from_text, future_only, ground, ids_in_text, known_ids, new_ids_in_text, priority_in
from tools import events, explain, forecast, insertion, kpis, listings, order_edits, query, remedies, undo, vehicle_edits, whatif
from tools.catalog import call
from tools.context import ToolContext

__all__ = [  # grounding lives in graphs.grounding; these names are kept importable from here
    "ACTIONS", "MODEL_FILLS", "PERIOD_FIELDS", "Action", "Grounded", "Outcome", "args_from_text", "future_only", "ground", "ids_in_text", "known_ids", "new_ids_in_text",
    "priority_in",
]

Kind = Literal["read", "event", "plan", "dispatch", "discard", "confirm", "chat"]


@dataclass
class Outcome:
    """What running an action produced: the tool's output (a pydantic model or dict) and the facts for the reply."""

    action: str
    data: Any = None
    draft_id: int | None = None
    """A draft plan the action saved (it then waits for the dispatcher's approval)."""
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Action:
    """One thing the agent can do."""

    name: str
    summary: str
    kind: Kind
    args: type[BaseModel] | None = None
    required: tuple[str, ...] = ()
    run: Callable[[ToolContext, Any], Outcome] | None = None
    grounded: tuple[str, ...] = ()
    """Optional fields whose values must appear in the dispatcher's words (else they are dropped)."""
    code_filled: tuple[str, ...] = ()
    """Fields the model never fills: :func:`ground` reads them from the dispatcher's words (dates)."""
    tools: tuple[str, ...] = ()
    """The catalogue tools (:mod:`tools.catalog`) the action calls, through :func:`tools.catalog.call`: the same
    entries, scopes and models the HTTP API and MCP serve."""


# --------------------------------------------------------------------------------------------------
# Argument models (what the model fills; every field may be null)
# --------------------------------------------------------------------------------------------------


class OrderArg(BaseModel):
    order_id: str | None = Field(default=None, description="order id as written by the dispatcher, e.g. P546630")


class VehicleArg(BaseModel):
    vehicle_id: str | None = Field(default=None, description="vehicle id, e.g. HZ-V3")


class OrderVehicleArg(BaseModel):
    order_id: str | None = Field(default=None, description="order id")
    vehicle_id: str | None = Field(default=None, description="vehicle id")


class DelayArg(BaseModel):
    vehicle_id: str | None = Field(default=None, description="vehicle id")
    minutes: int | None = Field(default=None, description="how many minutes late")


class WindowArg(BaseModel):
    order_id: str | None = Field(default=None, description="order id")
    tw_start: str | None = Field(default=None, description="new window start, HH:MM")
    tw_end: str | None = Field(default=None, description="new window end, HH:MM")


class NewOrderArg(BaseModel):
    order_id: str | None = Field(default=None, description="the new order's id if the dispatcher gave one")
    kind: Literal["pickup", "delivery"] | None = Field(default=None, description="pickup or delivery")
    customer: str | None = Field(default=None, description="customer name")
    lat: float | None = Field(default=None, description="latitude")
    lng: float | None = Field(default=None, description="longitude")
    demand: int | None = Field(default=None, description="number of parcels")
    tw_start: str | None = Field(default=None, description="window start, HH:MM")
    tw_end: str | None = Field(default=None, description="window end, HH:MM")
    skill: str | None = Field(default=None, description="a vehicle skill the dispatcher says it needs (e.g. bulky), else null")


class AdviseArg(BaseModel):
    lat: float | None = Field(default=None, description="latitude")
    lng: float | None = Field(default=None, description="longitude")
    demand: int | None = Field(default=None, description="number of parcels")
    tw_start: str | None = Field(default=None, description="window start, HH:MM")
    tw_end: str | None = Field(default=None, description="window end, HH:MM")


class WhatIfArg(BaseModel):
    vehicles: int | None = Field(default=None, description="how many vehicles in the hypothetical fleet")
    remove_vehicle: str | None = Field(default=None, description="a vehicle id to take off the road")
    add_vehicles: int | None = Field(default=None, description="how many vehicles to add")
    demand_percent: float | None = Field(default=None, description="demand change in percent, e.g. 20 for +20%")


class SeriesArg(BaseModel):
    region: str | None = Field(default=None, description="region or series name, e.g. 31")
    days: int | None = Field(default=None, description="how many days ahead")


class EditOrderArg(BaseModel):
    order_id: str | None = Field(default=None, description="order id")
    demand: int | None = Field(default=None, description="new number of parcels")
    priority: Literal["high", "normal"] | None = Field(default=None, description="new priority: high (urgent) or normal")
    required_skill: str | None = Field(default=None, description="a vehicle skill the order now needs (e.g. bulky, cold)")
    service_min: int | None = Field(default=None, description="new minutes of service at the customer")
    kind: Literal["pickup", "delivery"] | None = Field(default=None, description="new kind: pickup or delivery")
    tw_start: str | None = Field(default=None, description="new window start, HH:MM")
    tw_end: str | None = Field(default=None, description="new window end, HH:MM")


class EditVehicleArg(BaseModel):
    vehicle_id: str | None = Field(default=None, description="vehicle id")
    shift_start: str | None = Field(default=None, description="new shift start, HH:MM")
    shift_end: str | None = Field(default=None, description="new shift end (the driver must stop by then), HH:MM")
    capacity: int | None = Field(default=None, description="new capacity in parcels")
    add_skill: str | None = Field(default=None, description="a skill the vehicle now has (e.g. bulky, cold)")
    back_in_service: bool | None = Field(default=None, description="true when the vehicle works again after a breakdown or delay")


class UndoArg(BaseModel):
    vehicle_id: str | None = Field(default=None, description="the vehicle whose reported fact is wrong")
    order_id: str | None = Field(default=None, description="the order whose reported fact is wrong")


class QueryArg(BaseModel):
    source: Literal["history", "orders"] | None = Field(default=None, description="history: past daily volumes per region; orders: today's orders and their vans")
    metric: Literal["sum", "count", "mean", "max", "min"] | None = Field(
        default=None, description="sum of volume (how many were delivered), count of orders, mean, max or min"
    )
    group_by: Literal["region", "date", "weekday", "month", "vehicle", "kind", "status", "priority"] | None = Field(
        default=None, description="one value per region, per day (date), per weekday, per month, per van (vehicle), ... ; null: one total"
    )
    region: str | None = Field(default=None, description="only this region, if the dispatcher names one")
    order: Literal["desc", "asc"] | None = Field(default=None, description="desc for the most/busiest/largest, asc for the least/quietest")
    top_k: int | None = Field(default=None, description="how many groups to keep: 1 for 'which region/day was busiest'")
    vehicle_id: str | None = Field(default=None, description="orders only: only this van's orders")
    status: Literal["assigned", "unassigned", "cancelled"] | None = Field(default=None, description="orders only: keep this plan state")
    kind: Literal["pickup", "delivery"] | None = Field(default=None, description="orders only: keep pickups or deliveries")
    date_from: str | None = None
    date_to: str | None = None
    compare_from: str | None = None
    compare_to: str | None = None


class BulkArg(BaseModel):
    what: Literal["orders", "vehicles", "everything"] | None = Field(default=None, description="what to cancel or delete")


# --------------------------------------------------------------------------------------------------
# Runners
# --------------------------------------------------------------------------------------------------


def _event(name: str, result: events.EventResult) -> Outcome:
    return Outcome(name, data=result, draft_id=result.draft.plan_id, facts={"event": result.event, "order_id": result.order_id, "vehicle_id": result.vehicle_id})


def _plan(ctx: ToolContext, _: Any) -> Outcome:
    summary = call("plan_day", ctx)
    return Outcome("plan", data=summary, draft_id=summary.plan_id)


def _plan_kpis(ctx: ToolContext) -> tuple[Any, kpis.Kpis]:
    """The plan a question is about (read once) and its key figures."""
    figures = call("get_kpis", ctx, kpis.KpiRequest(plan=_which(ctx)))
    return call("get_plan", ctx, listings.PlanLookup(plan=figures.plan_id)), figures


def _kpis(ctx: ToolContext, _: Any) -> Outcome:
    plan, data = _plan_kpis(ctx)
    longest = max(plan.routes, key=lambda r: r.distance_km, default=None)
    facts = {"longest": (longest.vehicle_id, round(longest.distance_km, 1)) if longest else None}
    return Outcome("kpis", data=data, facts=facts)


def _which(ctx: ToolContext) -> Literal["committed", "draft"]:
    """The committed plan when there is one, else the latest draft (else "committed", which reads as "no plan")."""
    if ctx.committed() is not None:
        return "committed"
    has_draft = any(p.status.value == "draft" for p in ctx.store.plans(ctx.world_name))
    return "draft" if has_draft else "committed"


def _latest_draft(ctx: ToolContext) -> Any:
    """The most recent draft newer than the committed plan, or None."""
    return ctx.latest_draft(newer_than_committed=True)


def _draft_cost(ctx: ToolContext, _: Any) -> Outcome:
    return Outcome("draft_cost", data=call("compare_plans", ctx))


def _order_status(ctx: ToolContext, a: OrderArg) -> Outcome:
    return Outcome("order_status", data=call("order_status", ctx, kpis.OrderLookup(order_id=str(a.order_id), plan=_which(ctx))))


def _vehicle_route(ctx: ToolContext, a: VehicleArg) -> Outcome:
    return Outcome("vehicle_route", data=call("vehicle_stops", ctx, kpis.VehicleLookup(vehicle_id=str(a.vehicle_id), plan=_which(ctx))))


def _why_vehicle(ctx: ToolContext, a: OrderArg) -> Outcome:
    return Outcome("why_vehicle", data=call("why_on_vehicle", ctx, explain.WhyOnVehicleRequest(order_id=str(a.order_id))))


FIX_BUDGET_S = 6.0
"""Solver seconds a chat answer about unassigned orders may spend verifying fixes."""


def _unassigned(ctx: ToolContext, _: Any) -> Outcome:
    plan, data = _plan_kpis(ctx)
    facts: dict[str, Any] = {"unassigned": [(u.order_id, u.reason) for u in plan.unassigned]}
    if plan.unassigned:
        facts["fixes"] = call("fix_unassigned", ctx.read_only(), remedies.RemedyRequest(plan=data.plan_id, budget_s=FIX_BUDGET_S, solve_s=1.0))
    return Outcome("unassigned", data=data, facts=facts)


def _notes(ctx: ToolContext, a: OrderArg) -> Outcome:
    return Outcome("notes", data=call("order_notes", ctx, kpis.NotesRequest(order_id=a.order_id)))


def _breakdown(ctx: ToolContext, a: VehicleArg) -> Outcome:
    return _event("breakdown", call("vehicle_unavailable", ctx, events.VehicleUnavailableRequest(vehicle_id=str(a.vehicle_id))))


def _delay(ctx: ToolContext, a: DelayArg) -> Outcome:
    return _event("delay", call("vehicle_delayed", ctx, events.VehicleDelayRequest(vehicle_id=str(a.vehicle_id), minutes=int(a.minutes or 0))))


def _new_order(ctx: ToolContext, a: NewOrderArg) -> Outcome:
    req = events.NewOrderRequest(
        order_id=a.order_id,
        kind=a.kind or "pickup",
        customer=a.customer or "",
        lat=float(a.lat or 0),
        lng=float(a.lng or 0),
        demand=a.demand if a.demand is not None else 1,
        tw_start=a.tw_start,
        tw_end=a.tw_end,
        required_skill=a.skill,
    )
    return _event("new_order", call("add_order", ctx, req))


def _cancel(ctx: ToolContext, a: OrderArg) -> Outcome:
    return _event("cancel_order", call("cancel_order", ctx, events.OrderRef(order_id=str(a.order_id))))


def _restore(ctx: ToolContext, a: OrderArg) -> Outcome:
    return _event("restore_order", call("uncancel_order", ctx, events.OrderRef(order_id=str(a.order_id))))


def _window(ctx: ToolContext, a: WindowArg) -> Outcome:
    req = events.WindowChangeRequest(order_id=str(a.order_id), tw_start=str(a.tw_start), tw_end=str(a.tw_end))
    return _event("change_window", call("change_window", ctx, req))


def _pin(ctx: ToolContext, a: OrderVehicleArg) -> Outcome:
    return _event("pin", call("pin_order", ctx, events.VehicleOrderRequest(order_id=str(a.order_id), vehicle_id=str(a.vehicle_id))))


def _move(ctx: ToolContext, a: OrderVehicleArg) -> Outcome:
    return _event("move", call("move_order", ctx, events.VehicleOrderRequest(order_id=str(a.order_id), vehicle_id=str(a.vehicle_id))))


def _move_cost(ctx: ToolContext, a: OrderVehicleArg) -> Outcome:
    draft = _latest_draft(ctx)
    if draft is not None and ctx.committed() is not None:
        route = draft.plan.route_of(str(a.order_id))
        if route is not None and route.vehicle_id == a.vehicle_id:  # the move was already made into a draft: cost that draft
            return Outcome("draft_cost", data=call("compare_plans", ctx, kpis.CompareRequest(plan=draft.id)))
    return Outcome("move_cost", data=call("cost_of_move", ctx, explain.MoveCostRequest(order_id=str(a.order_id), vehicle_id=str(a.vehicle_id))))


def _what_if(ctx: ToolContext, a: WhatIfArg) -> Outcome:
    changes: list[Any] = []
    if a.vehicles is not None:
        changes.append(whatif.FleetSize(count=a.vehicles))
    if a.remove_vehicle:
        changes.append(whatif.RemoveVehicles(vehicle_ids=[a.remove_vehicle]))
    if a.add_vehicles:
        like = ctx.world().vehicles[0].id
        changes.append(whatif.AddVehicles(count=a.add_vehicles, like=like))
    if a.demand_percent:
        changes.append(whatif.ScaleDemand(factor=1 + a.demand_percent / 100))
    if not changes:
        raise InputError("which change should I try: a number of vehicles, a vehicle to remove, vehicles to add, or a demand change in percent?")
    facts = {"vehicles": a.vehicles, "remove_vehicle": a.remove_vehicle, "add_vehicles": a.add_vehicles, "demand_percent": a.demand_percent}
    return Outcome("what_if", data=call("what_if", ctx, whatif.WhatIfRequest(changes=changes)), facts=facts)


def _advise(ctx: ToolContext, a: AdviseArg) -> Outcome:
    req = insertion.InsertionRequest(lat=float(a.lat or 0), lng=float(a.lng or 0), demand=a.demand if a.demand is not None else 1, tw_start=a.tw_start, tw_end=a.tw_end)
    return Outcome("advise", data=call("advise_insertion", ctx, req))


def _forecast(ctx: ToolContext, a: SeriesArg) -> Outcome:
    days = a.days if a.days is not None else 7
    return Outcome("forecast", data=call("forecast_demand", ctx, forecast.ForecastRequest(series=str(a.region), days=days)))


def _edit_order(ctx: ToolContext, a: EditOrderArg) -> Outcome:
    fields = {k: v for k, v in a.model_dump().items() if k != "order_id" and v is not None}
    if not fields:
        raise InputError(f"what should change on {a.order_id}: parcels, priority, a required skill, service minutes, its kind or its window?")
    result = call("update_order", ctx, order_edits.OrderUpdateRequest(order_id=str(a.order_id), **fields))
    draft = result.draft.plan_id if result.draft is not None else None
    return Outcome("edit_order", data=result, draft_id=draft or None, facts={"order_id": result.order.order_id})


def _edit_vehicle(ctx: ToolContext, a: EditVehicleArg) -> Outcome:
    req = vehicle_edits.VehicleUpdateRequest(
        vehicle_id=str(a.vehicle_id),
        shift_start=a.shift_start,
        shift_end=a.shift_end,
        capacity=a.capacity,
        add_skills=[a.add_skill] if a.add_skill else None,
        back_in_service=a.back_in_service or None,
    )
    result = call("update_vehicle", ctx, req)
    return Outcome("edit_vehicle", data=result, draft_id=result.draft.plan_id or None, facts={"vehicle_id": result.vehicle_id})


def _undo(ctx: ToolContext, a: UndoArg) -> Outcome:
    result = call("undo_fact", ctx, undo.UndoRequest(vehicle_id=a.vehicle_id, order_id=None if a.vehicle_id else a.order_id))
    draft = result.draft.plan_id if result.draft is not None else None
    return Outcome("undo", data=result, draft_id=draft, facts={"discarded": result.discarded_drafts})


def _query(ctx: ToolContext, a: QueryArg) -> Outcome:
    source = a.source or ("orders" if a.vehicle_id or a.status or a.group_by in ("vehicle", "kind", "status", "priority") else "history")
    spec: dict[str, Any] = {"source": source, "metric": a.metric or ("count" if source == "orders" else "sum")}
    if a.group_by:
        spec["group_by"] = [a.group_by]
    if source == "history":
        if a.region:
            spec["regions"] = [a.region]
        spec.update({k: v for k, v in (("date_from", a.date_from), ("date_to", a.date_to), ("compare_from", a.compare_from), ("compare_to", a.compare_to)) if v})
    else:
        spec.update({k: v for k, v in (("vehicle", a.vehicle_id), ("status", a.status), ("kind", a.kind)) if v})
    if a.group_by:
        if a.order:
            spec["order"] = a.order
        if a.top_k:
            spec["top_k"] = a.top_k
    return Outcome("query", data=call("query_data", ctx, query.QuerySpec.model_validate(spec)))


def _bulk(ctx: ToolContext, a: BulkArg) -> Outcome:
    world = ctx.world()
    active = [o.id for o in world.orders if not o.cancelled]
    return Outcome("cancel_all", facts={"what": a.what or "everything", "orders": active, "vehicles": [v.id for v in world.vehicles]})


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action("plan", "make new routes for the whole day (a draft to approve)", "plan", run=_plan, tools=("plan_day",)),
        Action("kpis", "figures of today's plan: vehicles used, total km, number of orders, which vehicle has the longest route", "read", run=_kpis,
            tools=("get_kpis", "get_plan")),
        Action("order_status", "one order: its vehicle, arrival time (ETA), status, customer notes", "read", OrderArg, ("order_id",), _order_status,
            tools=("order_status",)),
        Action("vehicle_route", "one vehicle's stop list in order", "read", VehicleArg, ("vehicle_id",), _vehicle_route, tools=("vehicle_stops",)),
        Action("why_vehicle", "explain why an order is on its vehicle and not another", "read", OrderArg, ("order_id",), _why_vehicle, tools=("why_on_vehicle",)),
        Action("unassigned", "orders we cannot serve today and why", "read", run=_unassigned, tools=("get_kpis", "get_plan", "fix_unassigned")),
        Action("notes", "customer notes or special handling of orders", "read", OrderArg, (), _notes, grounded=("order_id",), tools=("order_notes",)),
        Action("breakdown", "a vehicle broke down or its driver is off: take it out and re-plan", "event", VehicleArg, ("vehicle_id",), _breakdown,
            tools=("vehicle_unavailable",)),
        Action("delay", "a vehicle is running late by some minutes: re-plan", "event", DelayArg, ("vehicle_id", "minutes"), _delay, tools=("vehicle_delayed",)),
        Action(
            "new_order",
            "add a new order and fit it into the plan",
            "event",
            NewOrderArg,
            ("lat", "lng"),
            _new_order,
            grounded=("order_id", "customer", "demand", "tw_start", "tw_end", "skill"),
            tools=("add_order",),
        ),
        Action("cancel_order", "a customer cancelled one order", "event", OrderArg, ("order_id",), _cancel, tools=("cancel_order",)),
        Action("restore_order", "undo a cancellation: the customer wants the order after all", "event", OrderArg, ("order_id",), _restore, tools=("uncancel_order",)),
        Action("change_window", "an order's time window changed", "event", WindowArg, ("order_id", "tw_start", "tw_end"), _window, tools=("change_window",)),
        Action("pin", "keep an order on a given vehicle, then re-plan", "event", OrderVehicleArg, ("order_id", "vehicle_id"), _pin, tools=("pin_order",)),
        Action(
            "edit_order",
            "change an order's parcels (demand), priority, required vehicle skill, service minutes, kind or time window",
            "event",
            EditOrderArg,
            ("order_id",),
            _edit_order,
            grounded=("demand", "service_min", "required_skill"),
            tools=("update_order",),
        ),
        Action(
            "edit_vehicle",
            "change a vehicle's shift (start, or the time the driver must stop), capacity or skills, or put it back in service",
            "event",
            EditVehicleArg,
            ("vehicle_id",),
            _edit_vehicle,
            grounded=("shift_start", "shift_end", "capacity", "add_skill"),
            tools=("update_vehicle",),
        ),
        Action("undo", "a fact just reported was wrong (false alarm, it's fixed, forget that): reverse it", "event", UndoArg, (), _undo, tools=("undo_fact",)),
        Action("move", "move an order to another vehicle", "event", OrderVehicleArg, ("order_id", "vehicle_id"), _move, tools=("move_order",)),
        Action("move_cost", "extra km of moving an order to another vehicle", "read", OrderVehicleArg, ("order_id", "vehicle_id"), _move_cost,
            tools=("compare_plans", "cost_of_move")),
        Action("draft_cost", "how the draft awaiting approval compares with the dispatched plan (extra km, vehicles)", "read", run=_draft_cost, tools=("compare_plans",)),
        Action(
            "what_if",
            "try a hypothetical change (fewer or more vehicles, more demand) without changing anything",
            "read",
            WhatIfArg,
            (),
            _what_if,
            grounded=("vehicles", "remove_vehicle", "add_vehicles", "demand_percent"),
            tools=("what_if",),
        ),
        Action("advise", "which vehicle could take a possible new order and the extra distance, without adding it", "read", AdviseArg, ("lat", "lng"), _advise,
            tools=("advise_insertion",)),
        Action("forecast", "expected future order volume of a region", "read", SeriesArg, ("region",), _forecast, grounded=("days",), tools=("forecast_demand",)),
        Action(
            "query",
            "questions over past volumes (history per region and day) or today's orders: totals, per region/day/van, busiest, comparisons",
            "read",
            QueryArg,
            (),
            _query,
            grounded=("vehicle_id",),
            code_filled=PERIOD_FIELDS,
            tools=("query_data",),
        ),
        Action("dispatch", "the dispatcher approves the draft: send it to the drivers", "dispatch", tools=("approve_plan",)),
        Action("discard", "the dispatcher rejects the draft", "discard", tools=("discard_draft",)),
        Action("cancel_all", "cancel or delete many or all orders or vehicles", "confirm", BulkArg, (), _bulk),
        Action("chat", "greetings, thanks, or anything not about routes, orders or volumes (weather, news, jokes)", "chat"),
    )
}
