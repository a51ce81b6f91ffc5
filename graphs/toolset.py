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
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from copilot.domain import World
from copilot.errors import InputError
from tools import events, explain, insertion, kpis, lifecycle, whatif
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


class HistoryArg(BaseModel):
    region: str | None = Field(default=None, description="region or series name")
    start: str | None = Field(default=None, description="first date, YYYY-MM-DD")
    end: str | None = Field(default=None, description="last date, YYYY-MM-DD")


class BulkArg(BaseModel):
    what: Literal["orders", "vehicles", "everything"] | None = Field(default=None, description="what to cancel or delete")


# --------------------------------------------------------------------------------------------------
# Runners
# --------------------------------------------------------------------------------------------------


def _event(name: str, result: events.EventResult) -> Outcome:
    return Outcome(name, data=result, draft_id=result.draft.plan_id, facts={"event": result.event, "order_id": result.order_id, "vehicle_id": result.vehicle_id})


def _plan(ctx: ToolContext, _: Any) -> Outcome:
    summary = lifecycle.plan_day(ctx)
    return Outcome("plan", data=summary, draft_id=summary.plan_id)


def _plan_kpis(ctx: ToolContext) -> tuple[Any, kpis.Kpis]:
    """The plan a question is about (read once) and its key figures."""
    sp, figures = kpis.stored_kpis(ctx, _which(ctx))
    return sp.plan, figures


def _kpis(ctx: ToolContext, _: Any) -> Outcome:
    plan, data = _plan_kpis(ctx)
    longest = max(plan.routes, key=lambda r: r.distance_m, default=None)
    facts = {"longest": (longest.vehicle_id, round(longest.distance_m / 1000, 1)) if longest else None}
    return Outcome("kpis", data=data, facts=facts)


def _which(ctx: ToolContext) -> Literal["committed", "draft"]:
    """The committed plan when there is one, else the latest draft (else "committed", which reads as "no plan")."""
    if ctx.committed() is not None:
        return "committed"
    has_draft = any(p.status.value == "draft" for p in ctx.store.plans(ctx.world_name))
    return "draft" if has_draft else "committed"


def _latest_draft(ctx: ToolContext) -> Any:
    """The most recent draft newer than the committed plan, or None."""
    committed = ctx.committed()
    drafts = [p for p in ctx.store.plans(ctx.world_name) if p.status.value == "draft" and (committed is None or p.id > committed.id)]
    return drafts[-1] if drafts else None


def _draft_cost(ctx: ToolContext, _: Any) -> Outcome:
    return Outcome("draft_cost", data=kpis.compare_plans(ctx))


def _order_status(ctx: ToolContext, a: OrderArg) -> Outcome:
    return Outcome("order_status", data=kpis.order_status(ctx, kpis.OrderLookup(order_id=str(a.order_id), plan=_which(ctx))))


def _vehicle_route(ctx: ToolContext, a: VehicleArg) -> Outcome:
    return Outcome("vehicle_route", data=kpis.vehicle_stops(ctx, kpis.VehicleLookup(vehicle_id=str(a.vehicle_id), plan=_which(ctx))))


def _why_vehicle(ctx: ToolContext, a: OrderArg) -> Outcome:
    return Outcome("why_vehicle", data=explain.why_on_vehicle(ctx, explain.WhyOnVehicleRequest(order_id=str(a.order_id))))


def _unassigned(ctx: ToolContext, _: Any) -> Outcome:
    plan, data = _plan_kpis(ctx)
    return Outcome("unassigned", data=data, facts={"unassigned": [(u.order_id, u.reason) for u in plan.unassigned]})


def _notes(ctx: ToolContext, a: OrderArg) -> Outcome:
    return Outcome("notes", data=kpis.order_notes(ctx, kpis.NotesRequest(order_id=a.order_id)))


def _breakdown(ctx: ToolContext, a: VehicleArg) -> Outcome:
    return _event("breakdown", events.vehicle_unavailable(ctx, events.VehicleUnavailableRequest(vehicle_id=str(a.vehicle_id))))


def _delay(ctx: ToolContext, a: DelayArg) -> Outcome:
    return _event("delay", events.vehicle_delayed(ctx, events.VehicleDelayRequest(vehicle_id=str(a.vehicle_id), minutes=int(a.minutes or 0))))


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
    return _event("new_order", events.add_order(ctx, req))


def _cancel(ctx: ToolContext, a: OrderArg) -> Outcome:
    return _event("cancel_order", events.cancel_order(ctx, events.OrderRef(order_id=str(a.order_id))))


def _restore(ctx: ToolContext, a: OrderArg) -> Outcome:
    return _event("restore_order", events.uncancel_order(ctx, events.OrderRef(order_id=str(a.order_id))))


def _window(ctx: ToolContext, a: WindowArg) -> Outcome:
    req = events.WindowChangeRequest(order_id=str(a.order_id), tw_start=str(a.tw_start), tw_end=str(a.tw_end))
    return _event("change_window", events.change_window(ctx, req))


def _pin(ctx: ToolContext, a: OrderVehicleArg) -> Outcome:
    return _event("pin", events.pin_order(ctx, events.VehicleOrderRequest(order_id=str(a.order_id), vehicle_id=str(a.vehicle_id))))


def _move(ctx: ToolContext, a: OrderVehicleArg) -> Outcome:
    return _event("move", events.move_order(ctx, events.VehicleOrderRequest(order_id=str(a.order_id), vehicle_id=str(a.vehicle_id))))


def _move_cost(ctx: ToolContext, a: OrderVehicleArg) -> Outcome:
    draft = _latest_draft(ctx)
    if draft is not None and ctx.committed() is not None:
        route = draft.plan.route_of(str(a.order_id))
        if route is not None and route.vehicle_id == a.vehicle_id:  # the move was already made into a draft: cost that draft
            return Outcome("draft_cost", data=kpis.compare_plans(ctx, kpis.CompareRequest(plan=draft.id)))
    return Outcome("move_cost", data=explain.cost_of_move(ctx, explain.MoveCostRequest(order_id=str(a.order_id), vehicle_id=str(a.vehicle_id))))


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
    return Outcome("what_if", data=whatif.what_if(ctx, whatif.WhatIfRequest(changes=changes)))


def _advise(ctx: ToolContext, a: AdviseArg) -> Outcome:
    req = insertion.InsertionRequest(lat=float(a.lat or 0), lng=float(a.lng or 0), demand=a.demand if a.demand is not None else 1, tw_start=a.tw_start, tw_end=a.tw_end)
    return Outcome("advise", data=insertion.advise_insertion(ctx, req))


def _forecast(ctx: ToolContext, a: SeriesArg) -> Outcome:
    from tools import forecast

    days = a.days if a.days is not None else 7
    return Outcome("forecast", data=forecast.forecast_demand(ctx, forecast.ForecastRequest(series=str(a.region), days=days)))


def _history(ctx: ToolContext, a: HistoryArg) -> Outcome:
    from tools import forecast

    return Outcome("history", data=forecast.history_volume(ctx, forecast.HistoryRequest(series=str(a.region), start=str(a.start), end=str(a.end))))


def _bulk(ctx: ToolContext, a: BulkArg) -> Outcome:
    world = ctx.world()
    active = [o.id for o in world.orders if not o.cancelled]
    return Outcome("cancel_all", facts={"what": a.what or "everything", "orders": active, "vehicles": [v.id for v in world.vehicles]})


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action("plan", "make new routes for the whole day (a draft to approve)", "plan", run=_plan),
        Action("kpis", "figures of today's plan: vehicles used, total km, number of orders, which vehicle has the longest route", "read", run=_kpis),
        Action("order_status", "one order: its vehicle, arrival time (ETA), status, customer notes", "read", OrderArg, ("order_id",), _order_status),
        Action("vehicle_route", "one vehicle's stop list in order", "read", VehicleArg, ("vehicle_id",), _vehicle_route),
        Action("why_vehicle", "explain why an order is on its vehicle and not another", "read", OrderArg, ("order_id",), _why_vehicle),
        Action("unassigned", "orders we cannot serve today and why", "read", run=_unassigned),
        Action("notes", "customer notes or special handling of orders", "read", OrderArg, (), _notes, grounded=("order_id",)),
        Action("breakdown", "a vehicle broke down or its driver is off: take it out and re-plan", "event", VehicleArg, ("vehicle_id",), _breakdown),
        Action("delay", "a vehicle is running late by some minutes: re-plan", "event", DelayArg, ("vehicle_id", "minutes"), _delay),
        Action(
            "new_order",
            "add a new order and fit it into the plan",
            "event",
            NewOrderArg,
            ("lat", "lng"),
            _new_order,
            grounded=("order_id", "customer", "demand", "tw_start", "tw_end", "skill"),
        ),
        Action("cancel_order", "a customer cancelled one order", "event", OrderArg, ("order_id",), _cancel),
        Action("restore_order", "undo a cancellation: the customer wants the order after all", "event", OrderArg, ("order_id",), _restore),
        Action("change_window", "an order's time window changed", "event", WindowArg, ("order_id", "tw_start", "tw_end"), _window),
        Action("pin", "keep an order on a given vehicle, then re-plan", "event", OrderVehicleArg, ("order_id", "vehicle_id"), _pin),
        Action("move", "move an order to another vehicle", "event", OrderVehicleArg, ("order_id", "vehicle_id"), _move),
        Action("move_cost", "extra km of moving an order to another vehicle", "read", OrderVehicleArg, ("order_id", "vehicle_id"), _move_cost),
        Action("draft_cost", "how the draft awaiting approval compares with the dispatched plan (extra km, vehicles)", "read", run=_draft_cost),
        Action(
            "what_if",
            "try a hypothetical change (fewer or more vehicles, more demand) without changing anything",
            "read",
            WhatIfArg,
            (),
            _what_if,
            grounded=("vehicles", "remove_vehicle", "add_vehicles", "demand_percent"),
        ),
        Action("advise", "which vehicle could take a possible new order and the extra distance, without adding it", "read", AdviseArg, ("lat", "lng"), _advise),
        Action("forecast", "expected future order volume of a region", "read", SeriesArg, ("region",), _forecast, grounded=("days",)),
        Action("history", "past order volume of a region between dates", "read", HistoryArg, ("region", "start", "end"), _history),
        Action("dispatch", "the dispatcher approves the draft: send it to the drivers", "dispatch"),
        Action("discard", "the dispatcher rejects the draft", "discard"),
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


def _numbers(text: str) -> set[float]:
    """Numbers the text states: digits, Chinese numerals, and a few English number words."""
    found = {float(n) for n in _NUM.findall(text.replace(",", ""))}
    found |= {float(v) for w in _ZH_NUM.findall(text) if (v := _zh_number(w)) is not None}
    low = text.lower()
    found |= {float(v) for w, v in _WORD_NUMS.items() if re.search(rf"\b{w}\b", low)}
    return found


def _time_in(value: str, text: str) -> bool:
    m = re.match(r"^\s*(\d{1,2})(?::(\d{2}))?", value)
    if not m:
        return value.lower() in text.lower()
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    return any(int(h) in (hour, hour - 12) and int(mm or 0) == minute for h, mm in re.findall(r"(\d{1,2})[:：点](\d{2})?", text))


def _date_in(value: str, text: str) -> bool:
    m = re.match(r"^\d{4}-(\d{2})-(\d{2})$", value.strip())
    if not m:
        return False
    day = int(m.group(2))
    return str(day) in re.findall(r"\d+", text)


def _series(value: Any, text: str, world: World) -> str | None:
    """A history series key the dispatcher named: the model's value if it is one, else a known key inside it
    (``"region 53"``, ``"129 区"``), else the one known key the message mentions."""
    known = {h.series for h in world.history}
    if value is not None and str(value).strip() in known:
        return str(value).strip()
    words = re.findall(r"[A-Za-z0-9_\-]+", str(value or ""))
    hits = [w for w in words if w in known]
    if len(hits) == 1:
        return str(hits[0])
    in_text = list(dict.fromkeys(w for w in re.findall(r"[A-Za-z0-9_\-]+", text) if w in known))
    if len(in_text) == 1:
        return str(in_text[0])
    return str(value).strip() if value else None


def _written(value: str, text: str) -> bool:
    """Whether ``value`` stands as a whole word in the text (case-insensitive)."""
    return re.search(rf"(?<![A-Za-z0-9\-]){re.escape(value)}(?![A-Za-z0-9\-])", text, re.IGNORECASE) is not None


def _with_year(value: str, text: str, world: World) -> str:
    """A YYYY-MM-DD date whose year the dispatcher did not say takes the world's year."""
    year = value[:4]
    if year.isdigit() and year not in text and world.date[:4].isdigit():
        return world.date[:4] + value[4:]
    return value


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


def args_from_text(action: Action, text: str, world: World) -> dict[str, Any] | None:
    """The arguments straight from the message when the action takes only ids and the message names each one
    unambiguously (so no model call is needed); None otherwise."""
    if action.args is None or not set(action.args.model_fields) <= {"order_id", "vehicle_id"}:
        return None
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


def ground(action: Action, raw: dict[str, Any], world: World, current: str, conversation: str, lang: str) -> Grounded:
    """Check the model's arguments against the store and the dispatcher's words."""
    if action.args is None:
        return Grounded(args=None)
    values = {k: v for k, v in raw.items() if k in action.args.model_fields}
    text = conversation
    missing: list[str] = []
    unknown: list[str] = []
    for name in action.args.model_fields:
        value = values.get(name)
        kind = _ID_FIELDS.get(name)
        if action.name == "new_order" and name == "order_id":
            fresh = new_ids_in_text(current, world)
            value = value if value and _norm(str(value)) in {_norm(f) for f in fresh} else (fresh[0] if len(fresh) == 1 else None)
        elif kind is not None:
            hit = known_ids(world, kind).get(_norm(str(value))) if value else None
            here = ids_in_text(current, world, kind)
            if hit is not None and _norm(hit) in _norm(text):
                value = hit
            elif value and hit is None and not here and _written(str(value), current):
                unknown.append(f"{kind} {value}")  # the dispatcher wrote an id that does not exist: ask, never guess
                value = None
            else:  # null, or not what the dispatcher wrote: take the id the dispatcher did write, if any
                earlier = ids_in_text(text, world, kind)
                value = (here[-1] if kind == "vehicle" else here[0]) if here else (earlier[-1] if earlier and name in action.required else None)
        elif name == "region":
            value = _series(value, current, world)
        elif value is not None and (name in action.required or name in action.grounded):
            if isinstance(value, bool):
                pass
            elif isinstance(value, int | float):
                if float(value) not in _numbers(text):
                    value = None
            elif name in ("tw_start", "tw_end"):
                if not _time_in(str(value), text):
                    value = None
            elif name in ("start", "end"):
                value = _with_year(str(value), text, world) if _date_in(str(value), text) else None
            elif _norm(str(value)) not in _norm(text):
                value = None
        values[name] = value
        if name in action.required and (value is None or value == ""):
            missing.append(name)
    if unknown:
        what = ", ".join(unknown)
        q = f"我找不到{what}。请确认编号。" if lang == "zh" else f"I can't find {what}. Could you check the id?"
        return Grounded(args=None, question=q, missing=missing)
    if missing:
        names = ", ".join(_FIELD_WORDS.get(m, m) for m in missing)
        q = f"请告诉我：{names}。" if lang == "zh" else f"To do that I need: {names}. Could you tell me?"
        return Grounded(args=None, question=q, missing=missing)
    try:
        return Grounded(args=action.args.model_validate(values))
    except ValidationError as exc:
        first = exc.errors()[0]
        return Grounded(args=None, question=f"{'.'.join(map(str, first['loc']))}: {first['msg']}")


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
