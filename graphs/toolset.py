"""The agent's actions: what the model may choose, the arguments it fills, and the tool each one calls.

Each :class:`Action` pairs a one-line description (what the model sees) with a small arguments model
(every field optional, so the model can say "not given" with ``null``) and a runner that validates the
arguments against the store and calls one typed tool from ``tools``. Nothing here computes a number a
dispatcher acts on: the runners only translate and call. What the model fills is checked by
:func:`ground`: ids must exist and appear in what the dispatcher wrote, numbers and times must appear in
it; a required value that is missing or not grounded becomes a question back to the dispatcher.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from copilot.core.domain import World
from copilot.core.errors import InputError
from tools import events, explain, forecast, insertion, kpis, listings, order_edits, query, remedies, timewords, undo, vehicle_edits, whatif
from tools.catalog import call
from tools.context import ToolContext

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


PERIOD_FIELDS = ("date_from", "date_to", "compare_from", "compare_to")
"""A query's dates: read by :func:`ground` from the dispatcher's words, never filled by the model."""


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


# --------------------------------------------------------------------------------------------------
# Grounding
# --------------------------------------------------------------------------------------------------


_ID_FIELDS = {"order_id": "order", "vehicle_id": "vehicle", "remove_vehicle": "vehicle"}
_NUM = re.compile(r"-?\d+(?:\.\d+)?")


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-]", "", text).lower()


@dataclass
class Grounded:
    """Validated arguments, or the question to ask instead."""

    args: BaseModel | None
    question: str | None = None
    missing: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    """Ids the dispatcher wrote that do not exist."""


_ZH_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_ZH_NUM = re.compile(r"[零一二两三四五六七八九十]+")
_WORD_NUMS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "a week": 7, "next week": 7}


def _zh_number(word: str) -> int | None:
    """A Chinese numeral up to 99 (三 -> 3, 十二 -> 12, 二十 -> 20)."""
    if "十" in word:
        tens, _, ones = word.partition("十")
        t = _ZH_DIGITS.get(tens, 1) if tens else 1
        o = _ZH_DIGITS.get(ones, 0) if ones else 0
        return t * 10 + o if (not tens or tens in _ZH_DIGITS) and (not ones or ones in _ZH_DIGITS) else None
    return _ZH_DIGITS[word] if len(word) == 1 else None


_ID_WORD = re.compile(r"\b[A-Za-z]+(?:[-_][A-Za-z]*)*\d+[A-Za-z0-9\-_]*\b")


def future_only(text: str, world: World) -> bool:
    """Whether every date or period the text states lies on or after the world's day (a question about the
    future is a forecast, not a question over the history)."""
    anchor = date.fromisoformat(world.date)
    found = timewords.periods(text, anchor)
    return bool(found) and all(p.start >= anchor and p.end > anchor for p in found)  # "today" alone is not the future


def _numbers(text: str) -> set[float]:
    """Numbers the text states: digits, Chinese numerals, and a few English number words (not the digits of an
    id such as HZ-V1 or P1001)."""
    text = _ID_WORD.sub(" ", text)
    found = {float(n) for n in _NUM.findall(text.replace(",", ""))}
    found |= {float(v) for w in _ZH_NUM.findall(text) if (v := _zh_number(w)) is not None}
    low = text.lower()
    found |= {float(v) for w, v in _WORD_NUMS.items() if re.search(rf"\b{w}\b", low)}
    return found


def _series(value: Any, text: str, world: World) -> str | None:
    """A history series key the dispatcher named: the model's value if it is one, else a known key inside it
    (``"region 53"``, ``"129 区"``), else the one known key the message mentions."""
    known = {h.series for h in world.history}
    if value is not None and str(value).strip() in known and _written(str(value).strip(), text):
        return str(value).strip()
    words = re.findall(r"[A-Za-z0-9_\-]+", str(value or ""))
    hits = [w for w in words if w in known and _written(w, text)]
    if len(hits) == 1:
        return str(hits[0])
    in_text = list(dict.fromkeys(w for w in re.findall(r"[A-Za-z0-9_\-]+", text) if w in known))
    if len(in_text) == 1:
        return str(in_text[0])
    return str(value).strip() if value and str(value).strip() not in known else None


def _written(value: str, text: str) -> bool:
    """Whether ``value`` stands as a whole word in the text (case-insensitive)."""
    return re.search(rf"(?<![A-Za-z0-9\-]){re.escape(value)}(?![A-Za-z0-9\-])", text, re.IGNORECASE) is not None


def known_ids(world: World, kind: str) -> dict[str, str]:
    """Normalised id -> id, for orders or vehicles."""
    items = world.orders if kind == "order" else world.vehicles
    return {_norm(x.id): x.id for x in items}


def ids_in_text(text: str, world: World, kind: str) -> list[str]:
    """Known ids of ``kind`` that the text mentions, in order of appearance."""
    ids = known_ids(world, kind)
    found: list[tuple[int, str]] = []
    for token in re.findall(r"[A-Za-z][A-Za-z0-9\-_]*\d|\d{5,}", text):
        hit = ids.get(_norm(token))
        if hit:
            found.append((text.find(token), hit))
    return list(dict.fromkeys(i for _, i in sorted(found)))


def new_ids_in_text(text: str, world: World) -> list[str]:
    """Id-like words (letters then digits, e.g. P900001) that are not yet an order or vehicle id."""
    taken = set(known_ids(world, "order")) | set(known_ids(world, "vehicle"))
    words = re.findall(r"\b[A-Za-z]{1,4}[-_]?\d{2,}\b", text)
    return list(dict.fromkeys(w for w in words if _norm(w) not in taken))


MODEL_FILLS = "_model_fills"
"""Key of :func:`args_from_text`'s answer naming the fields it leaves to the model."""

_COORDS = re.compile(r"(-?\d{1,2}\.\d{2,})\s*[,，/ ]\s*(-?\d{1,3}\.\d{2,})")
_PARCELS = re.compile(r"(\d+)\s*(?:parcels?|pieces?|packages?|boxes|box|items?|pcs|件|个包裹|个|箱|包)", re.IGNORECASE)
_DAYS = re.compile(r"(\d+)\s*(?:days?|天|日)", re.IGNORECASE)


def _one(found: list[str]) -> str | None:
    return found[0] if len(found) == 1 else None


def args_from_text(action: Action, text: str, world: World) -> dict[str, Any] | None:
    """The arguments straight from the message, when code can read every one the action needs unambiguously
    (ids it names, a window or a duration it states, a place and a parcel count, ...), so no model call is
    needed; None otherwise (the model fills them). What is read here is grounded like the model's values."""
    if action.args is None:
        return None
    fields = set(action.args.model_fields)
    if fields <= {"order_id", "vehicle_id"}:
        out: dict[str, Any] = {}
        for name in action.args.model_fields:
            found = ids_in_text(text, world, _ID_FIELDS[name])
            if len(found) == 1:
                out[name] = found[0]
            elif not found and name not in action.required:
                out[name] = None
            else:
                return None
        return out
    order = _one(ids_in_text(text, world, "order"))
    vehicle = _one(ids_in_text(text, world, "vehicle"))
    if action.name == "change_window":
        window = timewords.time_range(text)
        return {"order_id": order, "tw_start": window[0], "tw_end": window[1]} if order and window else None
    if action.name == "delay":
        minutes = timewords.duration_minutes(text)
        return {"vehicle_id": vehicle, "minutes": minutes} if vehicle and minutes else None
    if action.name == "advise":
        m = _COORDS.search(text)
        if not m:
            return None
        window = timewords.time_range(text)
        parcels = _PARCELS.search(text)
        return {
            "lat": float(m.group(1)),
            "lng": float(m.group(2)),
            "demand": int(parcels.group(1)) if parcels else None,
            "tw_start": window[0] if window else None,
            "tw_end": window[1] if window else None,
        }
    if action.name == "new_order":
        m = _COORDS.search(text)
        if not m:
            return None
        window = timewords.time_range(text)
        parcels = _PARCELS.search(text)
        kind = next((k for k, cue in _KIND_CUES.items() if cue.search(text)), None)
        return {
            "order_id": None,  # grounded from the new ids the message names
            "kind": kind,
            "lat": float(m.group(1)),
            "lng": float(m.group(2)),
            "demand": int(parcels.group(1)) if parcels else None,
            "tw_start": window[0] if window else None,
            "tw_end": window[1] if window else None,
            "skill": _ground_skill(None, text, world),
            MODEL_FILLS: ("customer",),  # a name: the model reads it
        }
    if action.name == "forecast":
        anchor = date.fromisoformat(world.date)
        ahead = [p for p in timewords.periods(text, anchor) if p.start >= anchor and p.end > anchor]
        days = _DAYS.search(text)
        n = (ahead[0].end - ahead[0].start).days + 1 if ahead else (int(days.group(1)) if days else None)  # "next week": 7 days
        return {"region": None, "days": n}  # region: grounded from the text
    if action.name == "query":
        return {}  # every part of a query is read from the words by grounding (the model's guess adds nothing reliable)
    if action.name == "edit_order" and order:
        found_parcels = _PARCELS.findall(text)
        priority = priority_in(text)
        skill = _ground_skill(None, text, world)
        window = timewords.time_range(text)
        if len(found_parcels) > 1 or not (found_parcels or priority or skill or window):
            return None
        return {
            "order_id": order,
            "demand": int(found_parcels[0]) if found_parcels else None,
            "priority": priority,
            "required_skill": skill,
            "tw_start": window[0] if window else None,
            "tw_end": window[1] if window else None,
        }
    if action.name == "edit_vehicle" and vehicle:
        times = timewords.times_of_day(text)
        if len(times) == 1 and timewords.time_range(text) is None and (_SHIFT_END_CUES.search(text) or _SHIFT_START_CUES.search(text)):
            end = bool(_SHIFT_END_CUES.search(text)) or not _SHIFT_START_CUES.search(text)
            return {"vehicle_id": vehicle, "shift_end" if end else "shift_start": times[0]}
        if not times and _SERVICE_CUES.search(text) and not _PARCELS.search(text):
            return {"vehicle_id": vehicle, "back_in_service": True}
    return None


TIME_FIELDS = ("tw_start", "tw_end", "shift_start", "shift_end")
SKILL_FIELDS = ("skill", "required_skill", "add_skill")
_PRIORITY_CUES = {
    "high": re.compile(r"high|urgent|rush|asap|express|priority|加急|紧急|优先|急件|尽快", re.IGNORECASE),
    "normal": re.compile(r"normal|regular|standard|not urgent|no rush|普通|正常|不急|常规", re.IGNORECASE),
}
_NOT_URGENT = re.compile(r"not urgent|no rush|no longer urgent|not a priority|不急|不用加急|不加急|取消加急", re.IGNORECASE)


def priority_in(text: str) -> str | None:
    """The priority the words ask for: normal when they say it is not urgent, else high or normal by their cues."""
    if _NOT_URGENT.search(text):
        return "normal"
    return next((p for p, cue in _PRIORITY_CUES.items() if cue.search(text)), None)


_KIND_CUES = {
    "pickup": re.compile(r"pick\s*-?\s*up|collect|取件|揽收|上门取", re.IGNORECASE),
    "delivery": re.compile(r"deliver|drop\s*-?\s*off|派送|配送|送货|派件", re.IGNORECASE),
}


def _hhmm(value: str) -> str | None:
    m = re.match(r"^\s*(\d{1,2})[:：](\d{2})", value)
    return f"{int(m.group(1)):02d}:{m.group(2)}" if m else None


def _ground_times(values: dict[str, Any], current: str, text: str) -> None:
    """Times of day must be stated by the dispatcher (English or Chinese, :mod:`tools.timewords`); a window is
    the range the message states; a single time the model put in the wrong form is the one the message states."""
    fields = [f for f in TIME_FIELDS if f in values]
    if not fields:
        return
    stated = set(timewords.times_of_day(text))
    here = timewords.times_of_day(current)
    window = timewords.time_range(current)
    for name in fields:
        value = values.get(name)
        hhmm = _hhmm(str(value)) if value is not None else None
        values[name] = hhmm if hhmm is not None and hhmm in stated else None
    if "tw_start" in values and window is not None and (values.get("tw_start"), values.get("tw_end")) != window:
        values["tw_start"], values["tw_end"] = window
    shift = [f for f in ("shift_start", "shift_end") if f in values]
    if shift and not any(values.get(f) for f in shift) and len(here) == 1 and window is None:
        values["shift_end" if "shift_end" in values else shift[0]] = here[0]


def _ground_skill(value: Any, text: str, world: World) -> str | None:
    """A skill some vehicle has, named in the message (the model's value, else the one known skill the text names)."""
    known = sorted({sk for v in world.vehicles for sk in v.skills})
    if value is not None and str(value).strip() in known and _norm(str(value)) in _norm(text):
        return str(value).strip()
    named = [sk for sk in known if re.search(rf"(?<![A-Za-z]){re.escape(sk)}(?![A-Za-z])", text, re.IGNORECASE)]
    return named[0] if len(named) == 1 else None


def _ground_period(values: dict[str, Any], current: str, world: World) -> None:
    """The periods of past data the dispatcher's message states (English or Chinese, anchored at the world's
    day): the first is the period asked, a second one the period to compare with. Never the model's dates."""
    if "date_from" not in values:
        return
    anchor = date.fromisoformat(world.date)
    past = [p for p in timewords.periods(current, anchor) if p.start < anchor]
    for name in PERIOD_FIELDS:
        values[name] = None
    for (lo, hi), p in zip((("date_from", "date_to"), ("compare_from", "compare_to")), past[:2], strict=False):
        values[lo], values[hi] = p.start.isoformat(), min(p.end, anchor).isoformat()


_SHIFT_END_CUES = re.compile(r"\b(?:stop|stops|finish|finishes|end|ends|until|till|leave|leaves|off|by|back\s+by|done)\b|下班|结束|收工|之前|以前|前回|停", re.IGNORECASE)
_SHIFT_START_CUES = re.compile(r"\b(?:start|starts|begin|begins|from|earlier|later\s+start)\b|开始|上班|出发|起", re.IGNORECASE)
_SERVICE_CUES = re.compile(r"\b(?:back|again|fixed|repaired|working|in\s+service|running|fine|ok|okay)\b|恢复|修好|好了|能跑|可以出车|正常", re.IGNORECASE)

_GROUP_CUES: dict[str, re.Pattern[str]] = {
    "date": re.compile(r"\b(?:day|days|daily|date|dates)\b|哪天|哪一天|每天|每日|各天|逐日|日期|几号", re.IGNORECASE),
    "weekday": re.compile(r"\b(?:weekday|weekdays|day of the week)\b|星期几|周几|礼拜几", re.IGNORECASE),
    "month": re.compile(r"\b(?:month|months|monthly)\b|每月|哪个月|各月|月度", re.IGNORECASE),
    "region": re.compile(r"\b(?:region|regions|area|areas|zone|zones|district|districts)\b|区域|哪个区|各区|每个区|哪区", re.IGNORECASE),
    "vehicle": re.compile(r"\b(?:van|vans|vehicle|vehicles|truck|trucks|driver|drivers)\b|车辆|每辆|哪辆|各车|每台车", re.IGNORECASE),
    "kind": re.compile(r"\b(?:kind|type)\b|类型", re.IGNORECASE),
    "status": re.compile(r"\b(?:status|state)\b|状态", re.IGNORECASE),
    "priority": re.compile(r"\bpriority\b|优先级", re.IGNORECASE),
}
_TOTAL_CUES = re.compile(r"\b(?:in total|total|altogether|combined|together|overall|all regions|sum)\b|一共|总共|合计|总计|总量|所有区域|全部区域", re.IGNORECASE)
_TODAY = re.compile(r"\b(?:today|today's|now|right now|currently|this morning|this afternoon)\b|今天|今日|现在|目前|当前", re.IGNORECASE)
_PER_CUES = re.compile(r"\b(?:each|every|per|by)\b|每|各|分别", re.IGNORECASE)
_MOST_CUES = re.compile(r"\b(?:busiest|most|highest|largest|biggest|peak|max(?:imum)?|top)\b|最多|最高|最忙|最大|峰值|最繁忙", re.IGNORECASE)
_LEAST_CUES = re.compile(r"\b(?:quietest|least|fewest|lowest|smallest|min(?:imum)?|bottom)\b|最少|最低|最闲|最小", re.IGNORECASE)
_MEAN_CUES = re.compile(r"\b(?:mean|average|avg|per day on average)\b|平均|均值", re.IGNORECASE)
_TOP_N = re.compile(
    r"\btop\s+(\d{1,2})\b|前\s*(\d{1,2})\s*(?:名|个|位|天)|\b(?:which|what|the)\s+(\d{1,2})\s+(?:regions?|areas?|days?|dates?|vans?|vehicles?|months?|weekdays?)\b"
    r"|哪\s*(\d{1,2})\s*(?:个|天|辆)",
    re.IGNORECASE,
)
_STATUS_CUES = {
    "unassigned": re.compile(r"unassigned|not (?:assigned|served)|can'?t (?:be )?serve|排不进|未安排|没安排", re.IGNORECASE),
    "cancelled": re.compile(r"cancel|取消", re.IGNORECASE),
    "assigned": re.compile(r"\bassigned\b|已安排|安排了", re.IGNORECASE),
}


def _ground_query(values: dict[str, Any], current: str, world: World) -> None:
    """A query's shape from the dispatcher's words: a group only when the message asks per day, per region, ...
    (a named region is a filter, not a group); most/least and top-N pick groups; mean only when asked."""
    known = {h.series for h in world.history}
    region = values.get("region")
    values["region"] = _series(region, current, world) if region is not None or known else None
    if values["region"] not in known:
        named = [w for w in re.findall(r"[A-Za-z0-9_\-]+", current) if w in known]
        values["region"] = named[0] if len(set(named)) == 1 else None
    # a region named as a filter ("region 31", "31区") is not a request to group by region
    bare = current
    for key in sorted(known, key=len, reverse=True):
        bare = re.sub(rf"(?:regions?|areas?|zones?|区域?)\s*{re.escape(key)}\b|\b{re.escape(key)}\s*(?:区域?|号区|region)", " ", bare, flags=re.IGNORECASE)
    for p in timewords.periods(current, date.fromisoformat(world.date)):
        bare = bare.replace(p.text, " ")  # "last month", "上周" say which days, not how to group them
    cues = [g for g, pat in _GROUP_CUES.items() if pat.search(bare)]
    if "weekday" in cues:
        cues = [c for c in cues if c != "date"]
    wanted = values.get("group_by")
    if _TOTAL_CUES.search(bare) and not (_MOST_CUES.search(bare) or _LEAST_CUES.search(bare) or _PER_CUES.search(bare)):
        wanted = None  # "all regions in total": one number
    elif wanted in cues:
        pass
    else:
        wanted = cues[0] if len(cues) == 1 else (wanted if wanted in cues else None)
    values["group_by"] = wanted
    top = _TOP_N.search(current)
    if wanted is None:
        values["order"], values["top_k"] = None, None
    elif _LEAST_CUES.search(current):
        values["order"], values["top_k"] = "asc", int(next(g for g in top.groups() if g)) if top else 1
    elif _MOST_CUES.search(current):
        values["order"], values["top_k"] = "desc", int(next(g for g in top.groups() if g)) if top else 1
    else:
        values["order"], values["top_k"] = None, None
    if values.get("metric") == "mean" and not _MEAN_CUES.search(current):
        values["metric"] = None
    elif _MEAN_CUES.search(current):
        values["metric"] = "mean"
    elif values.get("metric") not in ("max", "min"):
        values["metric"] = None  # the source's own: sum of volumes, count of orders
    status = values.get("status")
    values["status"] = status if status in _STATUS_CUES and _STATUS_CUES[str(status)].search(current) else None
    kind = values.get("kind")
    values["kind"] = kind if kind in _KIND_CUES and _KIND_CUES[str(kind)].search(current) else None
    past = [p for p in timewords.periods(current, date.fromisoformat(world.date)) if p.start < date.fromisoformat(world.date)]
    if not known or (not past and (wanted in ("vehicle", "kind", "status", "priority") or _TODAY.search(current))):
        values["source"] = "orders"  # no history, or a question about today's orders
    elif values.get("source") not in ("history", "orders") or past:
        values["source"] = "history"
    if values["source"] == "orders":
        values["region"] = None
        if kind is None:
            values["kind"] = next((k for k, cue in _KIND_CUES.items() if cue.search(current)), None)
    else:
        values["status"] = values["kind"] = None


def _ground_shift(values: dict[str, Any], current: str) -> None:
    """A vehicle edit's shift time goes to the end the words speak of; back in service only when said."""
    if "shift_end" not in values:
        return
    start, end = values.get("shift_start"), values.get("shift_end")
    if start and not end and _SHIFT_END_CUES.search(current) and not _SHIFT_START_CUES.search(current):
        values["shift_start"], values["shift_end"] = None, start
    elif end and not start and _SHIFT_START_CUES.search(current) and not _SHIFT_END_CUES.search(current):
        values["shift_start"], values["shift_end"] = end, None
    if values.get("back_in_service") and not _SERVICE_CUES.search(current):
        values["back_in_service"] = None


def ground(action: Action, raw: dict[str, Any], world: World, current: str, conversation: str, lang: str, *, strict: bool = False) -> Grounded:
    """Check the model's arguments against the store and the dispatcher's words. ``strict``: an id the model
    did not give is never taken from the message (it may name ids meant for the message's other actions)."""
    if action.args is None:
        return Grounded(args=None)
    values = {k: v for k, v in raw.items() if k in action.args.model_fields}
    for name in action.args.model_fields:
        values.setdefault(name, None)
    text = conversation
    missing: list[str] = []
    unknown: list[str] = []
    _ground_times(values, current, text)
    _ground_period(values, current, world)
    _ground_shift(values, current)
    if action.name == "query":
        _ground_query(values, current, world)
    for name in action.args.model_fields:
        value = values.get(name)
        kind = _ID_FIELDS.get(name)
        if name in TIME_FIELDS or name in PERIOD_FIELDS or (action.name == "query" and name != "vehicle_id"):
            pass  # grounded above
        elif action.name == "new_order" and name == "order_id":
            fresh = new_ids_in_text(current, world)
            value = value if value and _norm(str(value)) in {_norm(f) for f in fresh} else (fresh[0] if len(fresh) == 1 else None)
        elif kind is not None:
            hit = known_ids(world, kind).get(_norm(str(value))) if value else None
            here = ids_in_text(current, world, kind)
            if hit is not None and _norm(hit) in _norm(text):
                value = hit
            elif value and hit is None and (strict or not here) and _written(str(value), current):
                unknown.append(f"{kind} {value}")  # the dispatcher wrote an id that does not exist: ask, never guess
                value = None
            elif strict:
                value = None
            else:  # null, or not what the dispatcher wrote: take the id the dispatcher did write, if any
                earlier = ids_in_text(text, world, kind)
                value = (here[-1] if kind == "vehicle" else here[0]) if here else (earlier[-1] if earlier and name in action.required else None)
        elif name == "region":
            value = _series(value, current, world)
        elif name in SKILL_FIELDS:
            value = _ground_skill(value, current, world) if value is not None or name in action.grounded else None
        elif name == "priority":
            value = value if value is not None and value == priority_in(current) else None
        elif name == "kind" and action.name != "new_order":
            value = value if value in _KIND_CUES and _KIND_CUES[str(value)].search(current) else None
        elif name == "minutes":
            if value is None or isinstance(value, bool) or float(value) not in _numbers(current):
                value = timewords.duration_minutes(current)
        elif value is not None and (name in action.required or name in action.grounded):
            if isinstance(value, bool):
                pass
            elif isinstance(value, int | float):
                if float(value) not in _numbers(text):
                    value = None
            elif _norm(str(value)) not in _norm(text):
                value = None
        values[name] = value
        if name in action.required and (value is None or value == ""):
            missing.append(name)
    if unknown:
        what = ", ".join(unknown)
        q = f"我找不到{what}。请确认编号。" if lang == "zh" else f"I can't find {what}. Could you check the id?"
        return Grounded(args=None, question=q, missing=missing, unknown=unknown)
    if missing:
        if lang == "zh":
            return Grounded(args=None, question=f"请告诉我：{'、'.join(dict.fromkeys(_FIELD_WORDS_ZH.get(m, m) for m in missing))}。", missing=missing)
        names = ", ".join(dict.fromkeys(_FIELD_WORDS.get(m, m) for m in missing))
        return Grounded(args=None, question=f"To do that I need: {names}. Could you tell me?", missing=missing)
    try:
        return Grounded(args=action.args.model_validate(values))
    except ValidationError as exc:
        first = exc.errors()[0]
        return Grounded(args=None, question=f"{'.'.join(map(str, first['loc']))}: {first['msg']}")


_FIELD_WORDS_ZH = {
    "order_id": "订单号",
    "vehicle_id": "车辆编号",
    "minutes": "晚多少分钟",
    "lat": "位置（纬度、经度）",
    "lng": "位置（纬度、经度）",
    "tw_start": "时间窗开始（几点）",
    "tw_end": "时间窗结束（几点）",
    "region": "区域",
    "start": "开始日期",
    "end": "结束日期",
}


_FIELD_WORDS = {
    "order_id": "the order id",
    "vehicle_id": "the vehicle id",
    "minutes": "how many minutes late",
    "lat": "the location (latitude, longitude)",
    "lng": "the location (latitude, longitude)",
    "tw_start": "the window start (HH:MM)",
    "tw_end": "the window end (HH:MM)",
    "region": "the region",
    "start": "the first date",
    "end": "the last date",
}
