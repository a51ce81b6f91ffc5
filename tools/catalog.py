"""The tool catalogue: every tool the copilot offers, declared once, for every door.

Each :class:`Tool` names one typed tool function with its request model, result model, scope (the API key
scope a partner needs: ``read``, ``plan`` or ``dispatch``), whether it writes to the store, and the HTTP
routes it answers on. From these entries:

* the partner HTTP API (:mod:`copilot.apps.partner.routes`) generates its routes,
* the MCP server (:mod:`copilot.apps.mcp_server`) generates its tools,
* the agent's actions (:mod:`graphs.toolset`) name the tools they call and run them through :func:`call`.

A test checks that the three agree (``tests/apps/test_catalog.py``). A new tool is added here, once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from copilot.core.errors import InputError
from tools import events, explain, forecast, insertion, kpis, lifecycle, listings, order_edits, remedies, undo, vehicle_edits, whatif
from tools.context import PLAN_ID_MAX, PlanSummary, RequestModel, ToolContext
from tools.query import QueryResult, QuerySpec, run_query

Scope = Literal["read", "plan", "dispatch"]
Method = Literal["GET", "POST", "PUT", "PATCH"]
SCOPES: tuple[Scope, ...] = ("read", "plan", "dispatch")

_PLAN_QUERY_DOC = "which plan: 'committed' (the dispatched plan), 'draft' (the latest draft) or a plan id"


def plan_selector(text: str) -> kpis.PlanSelector:
    """'committed', 'draft' or a plan id, from what a URL or a person wrote (InputError otherwise)."""
    value = text.strip()
    if value in ("committed", "draft"):
        return "committed" if value == "committed" else "draft"
    if value.isascii() and value.isdigit() and len(value) <= 16 and 1 <= int(value) <= PLAN_ID_MAX:
        return int(value)
    raise InputError(f"plan must be 'committed', 'draft' or a plan id (a whole number from 1 to {PLAN_ID_MAX}), got {text[:40]!r}")


class PlanQuery(RequestModel):
    """The plan a look-up reads, as a query parameter."""

    plan: str = Field(default="committed", max_length=40, description=_PLAN_QUERY_DOC)

    @field_validator("plan")
    @classmethod
    def _selector(cls, value: str) -> str:
        plan_selector(value)  # refuse early; the tool request converts it
        return value.strip()


class BaselineQuery(RequestModel):
    """The plan a comparison is against, as a query parameter."""

    baseline: str = Field(default="committed", max_length=40, description="the plan to compare against: " + _PLAN_QUERY_DOC)

    @field_validator("baseline")
    @classmethod
    def _selector(cls, value: str) -> str:
        plan_selector(value)
        return value.strip()


class MoveQuery(RequestModel):
    """The vehicle (and position) of a move to cost, as query parameters."""

    vehicle_id: str = Field(max_length=100, description="the vehicle to move it to (may be its own, to change its position)")
    position: int | None = Field(default=None, ge=1, description="1-based index in that vehicle's stop list after the move; None: the best one")


class AuditRequest(RequestModel):
    """How much of the audit trail to show."""

    limit: int = Field(default=50, ge=1, le=1000, description="the latest this many changes")


@dataclass(frozen=True)
class Route:
    """One HTTP route of a tool, under ``/v1``.

    The tool's request is assembled from the path parameters (except ``world``), the body fields (``body``:
    a model of its own, default the tool's request for POST, PUT and PATCH) and the query fields (``query``);
    ``fields`` renames a path parameter to the request field it fills. ``name`` is the OpenAPI operation id.
    """

    method: Method
    path: str
    name: str
    tag: str
    status: int = 200
    body: type[BaseModel] | Literal["request"] | None = "request"
    body_optional: bool = False
    query: type[BaseModel] | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    doc: str = ""

    def path_params(self) -> list[str]:
        """The path parameters, in order, ``world`` first."""
        return [part[1:-1] for part in self.path.split("/") if part.startswith("{") and part.endswith("}")]

    def body_model(self, tool: Tool) -> type[BaseModel] | None:
        """The body this route reads (None: no body)."""
        if self.body == "request":
            return tool.request if self.method != "GET" else None
        return self.body


@dataclass(frozen=True)
class Tool:
    """One tool: what it does, its typed I/O, the scope it needs and where it is served."""

    name: str
    summary: str
    run: Callable[[ToolContext, Any], BaseModel]
    request: type[BaseModel] | None
    result: type[BaseModel]
    scope: Scope
    writes: bool = False
    """Records a fact or a plan in the store (a draft counts); False: it only reads or computes."""
    routes: tuple[Route, ...] = ()


def _no_args(fn: Callable[[ToolContext], BaseModel]) -> Callable[[ToolContext, Any], BaseModel]:
    def run(ctx: ToolContext, _req: None) -> BaseModel:
        return fn(ctx)

    run.__doc__ = fn.__doc__
    return run


def _approve(ctx: ToolContext, req: lifecycle.PlanRef | None) -> PlanSummary:
    if req is not None and req.plan_id is not None:
        kpis.resolve_plan(ctx, req.plan_id)  # another world's plan is not found
    return lifecycle.approve_plan(ctx, req)


def _discard(ctx: ToolContext, req: lifecycle.PlanRef | None) -> PlanSummary:
    if req is not None and req.plan_id is not None:
        kpis.resolve_plan(ctx, req.plan_id)
    return lifecycle.discard_draft(ctx, req)


def _audit(ctx: ToolContext, req: AuditRequest | None) -> lifecycle.AuditTrail:
    return lifecycle.audit_trail(ctx, (req or AuditRequest()).limit)


def _get(path: str, name: str, tag: str, *, query: type[BaseModel] | None = None, fields: Mapping[str, str] | None = None) -> Route:
    return Route("GET", path, name, tag, body=None, query=query, fields=fields or {})


def _post(path: str, name: str, tag: str, *, status: int = 200, body: type[BaseModel] | Literal["request"] | None = "request", optional: bool = False) -> Route:
    return Route("POST", path, name, tag, status=status, body=body, body_optional=optional)


_W = "/worlds/{world}"
_PLAN_ID = {"plan_id": "plan"}

TOOLS: tuple[Tool, ...] = (
    # -- read ---------------------------------------------------------------------------------------
    Tool("world_info", "The world's day, counts, clock, committed plan and drafts.", _no_args(listings.world_info), None, listings.WorldInfo, "read",
         routes=(_get(_W, "get_world", "worlds"),)),
    Tool("list_depots", "The world's depots.", _no_args(listings.list_depots), None, listings.DepotList, "read",
         routes=(_get(f"{_W}/depots", "list_depots", "worlds"),)),
    Tool("list_vehicles", "The world's vehicles with shifts and availability.", _no_args(listings.list_vehicles), None, listings.VehicleList, "read",
         routes=(_get(f"{_W}/vehicles", "list_vehicles", "worlds"),)),
    Tool("list_orders", "The world's orders in import order, a page at a time.", listings.list_orders, listings.OrderListRequest, listings.OrderList, "read",
         routes=(_get(f"{_W}/orders", "list_orders", "orders", query=listings.OrderListRequest),)),
    Tool("list_plans", "Every plan of the world, oldest first.", _no_args(listings.list_plans), None, listings.PlanList, "read",
         routes=(_get(f"{_W}/plans", "list_plans", "plans"),)),
    Tool("get_plan", "A plan's routes with ETAs, unassigned orders and totals.", listings.get_plan, listings.PlanLookup, PlanSummary, "read",
         routes=(_get(f"{_W}/plans/{{plan_id}}", "get_plan", "plans", fields=_PLAN_ID),)),
    Tool("get_kpis", "Key figures of the committed plan, the latest draft or a plan by id.", kpis.get_kpis, kpis.KpiRequest, kpis.Kpis, "read",
         routes=(_get(f"{_W}/kpis", "get_kpis", "plans", query=PlanQuery), _get(f"{_W}/plans/{{plan_id}}/kpis", "plan_kpis", "plans", fields=_PLAN_ID))),
    Tool("compare_plans", "Compare two stored plans (default: the latest draft against the dispatched plan): km, vehicles, unassigned, stops moved.",
         kpis.compare_plans, kpis.CompareRequest, kpis.PlanComparison, "read",
         routes=(_get(f"{_W}/plans/{{plan_id}}/comparison", "compare_plans", "plans", query=BaselineQuery, fields=_PLAN_ID),)),
    Tool("order_status", "Where an order stands: vehicle, position, ETA, windows and status.", kpis.order_status, kpis.OrderLookup, kpis.OrderStatus, "read",
         routes=(_get(f"{_W}/orders/{{order_id}}", "get_order", "orders", query=PlanQuery),)),
    Tool("order_notes", "Customer notes of one order or of every active order (untrusted text, quoted as data).",
         kpis.order_notes, kpis.NotesRequest, kpis.Notes, "read",
         routes=(_get(f"{_W}/notes", "list_notes", "orders", query=kpis.NotesRequest),)),
    Tool("why_on_vehicle", "Why an order of the committed plan is on its vehicle and not another: the binding constraints, with numbers.",
         explain.why_on_vehicle, explain.WhyOnVehicleRequest, explain.WhyOnVehicle, "read",
         routes=(_get(f"{_W}/orders/{{order_id}}/why-vehicle", "why_on_vehicle", "advice"),)),
    Tool("why_unassigned", "Why an order is not in the committed plan, vehicle by vehicle, and which vehicles could take it now.",
         explain.why_unassigned, explain.WhyUnassignedRequest, explain.WhyUnassigned, "read",
         routes=(_get(f"{_W}/orders/{{order_id}}/why-unassigned", "why_unassigned", "advice"),)),
    Tool("cost_of_move", "What moving an order to another vehicle would cost (km, lateness), without moving it.",
         explain.cost_of_move, explain.MoveCostRequest, explain.MoveCost, "read",
         routes=(_get(f"{_W}/orders/{{order_id}}/move-cost", "cost_of_move", "advice", query=MoveQuery),)),
    Tool("vehicle_stops", "A vehicle, its availability and its stops in order with ETAs and loads.", kpis.vehicle_stops, kpis.VehicleLookup, kpis.VehicleStops,
         "read", routes=(_get(f"{_W}/vehicles/{{vehicle_id}}", "get_vehicle", "worlds", query=PlanQuery),)),
    Tool("audit_trail", "The latest changes to the world: what, by whom, when.", _audit, AuditRequest, lifecycle.AuditTrail, "read",
         routes=(_get(f"{_W}/audit", "audit_trail", "worlds", query=AuditRequest),)),
    Tool("list_series", "The world's demand history series (regions, couriers, ...).", _no_args(forecast.list_series), None, forecast.SeriesList, "read",
         routes=(_get(f"{_W}/forecast/series", "list_series", "forecasts"),)),
    Tool("forecast_demand", "A series' daily volume forecast with intervals.", forecast.forecast_demand, forecast.ForecastRequest, forecast.ForecastOut, "read",
         routes=(_get(f"{_W}/forecast", "forecast_demand", "forecasts", query=forecast.ForecastRequest),)),
    Tool("history_volume", "Volumes of one series over a date range.", forecast.history_volume, forecast.HistoryRequest, forecast.HistoryOut, "read",
         routes=(_get(f"{_W}/history", "history_volume", "forecasts", query=forecast.HistoryRequest),)),
    Tool("demand_profile", "The mean volume of a series on each weekday over a date range.",
         forecast.day_of_week_profile, forecast.ProfileRequest, forecast.ProfileOut, "read",
         routes=(_get(f"{_W}/forecast/profile", "demand_profile", "forecasts", query=forecast.ProfileRequest),)),
    Tool("query_data", "Answer a question over the world's history or today's orders: a metric per group, filters, top-k, a compare period (read only).",
         run_query, QuerySpec, QueryResult, "read", routes=(_post(f"{_W}/query", "query_data", "data"),)),
    Tool("fix_unassigned", "Why each unassigned order of a plan is left out, grouped by cause, with the smallest change that serves it, verified by "
         "re-planning a copy (it solves, so it counts as a planning request; nothing is written).",
         remedies.fix_unassigned, remedies.RemedyRequest, remedies.UnassignedFixes, "read",
         routes=(_post(f"{_W}/unassigned/fixes", "fix_unassigned", "advice", optional=True),)),
    # -- plan ---------------------------------------------------------------------------------------
    Tool("plan_day", "Plan the day into a draft (nothing is dispatched until it is approved).", lifecycle.plan_day, lifecycle.PlanDayRequest, PlanSummary,
         "plan", writes=True, routes=(_post(f"{_W}/plans", "plan_day", "plans", status=201, optional=True),)),
    Tool("discard_draft", "Discard a draft plan (default: the latest); the committed plan stays.", _discard, lifecycle.PlanRef, PlanSummary, "plan",
         writes=True, routes=(_post(f"{_W}/plans/{{plan_id}}/discard", "discard_plan", "plans", body=None),)),
    Tool("advise_insertion", "Where a prospective order fits best into the committed plan (nothing is written).",
         insertion.advise_insertion, insertion.InsertionRequest, insertion.InsertionAdvice, "plan",
         routes=(_post(f"{_W}/insertion-advice", "advise_insertion", "advice"),)),
    Tool("what_if", "Try hypothetical changes on a copy of the world and compare key figures (nothing is saved).",
         whatif.what_if, whatif.WhatIfRequest, whatif.WhatIfResult, "plan", routes=(_post(f"{_W}/what-if", "what_if", "advice"),)),
    Tool("fleet_size", "Vehicles needed for a forecast day (P50 and P90 over sampled days; solves, so it takes a while).",
         forecast.fleet_size, forecast.FleetSizeRequest, forecast.FleetSizeOut, "plan",
         routes=(_post(f"{_W}/forecast/fleet-size", "fleet_size", "forecasts"),)),
    # -- dispatch -----------------------------------------------------------------------------------
    Tool("approve_plan", "Dispatch a draft (default: the latest): it becomes the committed plan (the previous one is superseded).",
         _approve, lifecycle.PlanRef, PlanSummary, "dispatch", writes=True,
         routes=(_post(f"{_W}/plans/{{plan_id}}/approve", "approve_plan", "plans", body=None),)),
    Tool("set_clock", "Set the world's current time: work started before it can no longer change.", lifecycle.set_clock, lifecycle.ClockRequest,
         lifecycle.ClockOut, "dispatch", writes=True, routes=(Route("PUT", f"{_W}/clock", "set_clock", "worlds"),)),
    Tool("add_order", "Record a new order; the day is re-planned into a draft awaiting approval.", events.add_order, events.NewOrderRequest,
         events.EventResult, "dispatch", writes=True, routes=(_post(f"{_W}/orders", "create_order", "orders", status=201),)),
    Tool("update_order", "Change an order's window, demand, service time, priority, customer or notes (re-planned when routing is affected).",
         order_edits.update_order, order_edits.OrderUpdateRequest, order_edits.OrderUpdateResult, "dispatch", writes=True,
         routes=(Route("PATCH", f"{_W}/orders/{{order_id}}", "update_order", "orders", body=order_edits.OrderChanges),)),
    Tool("cancel_order", "Cancel an order (kept, no longer routed); re-planned into a draft.", events.cancel_order, events.OrderRef, events.EventResult,
         "dispatch", writes=True, routes=(_post(f"{_W}/orders/{{order_id}}/cancel", "cancel_order", "orders", body=None),)),
    Tool("uncancel_order", "Restore a cancelled order; re-planned into a draft.", events.uncancel_order, events.OrderRef, events.EventResult, "dispatch",
         writes=True, routes=(_post(f"{_W}/orders/{{order_id}}/restore", "restore_order", "orders", body=None),)),
    Tool("vehicle_unavailable", "A vehicle stops working (breakdown, sick driver); its stops go to others in the re-planned draft.",
         events.vehicle_unavailable, events.VehicleUnavailableRequest, events.EventResult, "dispatch", writes=True,
         routes=(_post(f"{_W}/events/breakdown", "report_breakdown", "events"),)),
    Tool("vehicle_delayed", "A vehicle is delayed N minutes from now (needs the clock set); re-planned into a draft.",
         events.vehicle_delayed, events.VehicleDelayRequest, events.EventResult, "dispatch", writes=True,
         routes=(_post(f"{_W}/events/delay", "report_delay", "events"),)),
    Tool("change_window", "An order's time window changes; re-planned into a draft.", events.change_window, events.WindowChangeRequest, events.EventResult,
         "dispatch", writes=True, routes=(_post(f"{_W}/events/window-change", "report_window_change", "events"),)),
    Tool("pin_order", "Pin an order to a vehicle (only it may serve the order); re-planned into a draft.", events.pin_order, events.VehicleOrderRequest,
         events.EventResult, "dispatch", writes=True, routes=(_post(f"{_W}/events/pin", "pin_order", "events"),)),
    Tool("move_order", "Move an order to a vehicle by hand (pinned); the draft shows what it costs.", events.move_order, events.VehicleOrderRequest,
         events.EventResult, "dispatch", writes=True, routes=(_post(f"{_W}/events/move", "move_order", "events"),)),
    Tool("update_vehicle", "Change a vehicle's shift, capacity or skills, or put it back in service; re-planned into a draft.",
         vehicle_edits.update_vehicle, vehicle_edits.VehicleUpdateRequest, vehicle_edits.VehicleUpdateResult, "dispatch", writes=True,
         routes=(Route("PATCH", f"{_W}/vehicles/{{vehicle_id}}", "update_vehicle", "events", body=vehicle_edits.VehicleChanges),)),
    Tool("undo_fact", "Reverse the latest fact recorded on a vehicle or order (or in the world); its drafts are discarded.",
         undo.undo_last, undo.UndoRequest, undo.UndoResult, "dispatch", writes=True, routes=(_post(f"{_W}/undo", "undo_fact", "events"),)),
)

CATALOG: dict[str, Tool] = {t.name: t for t in TOOLS}


def tool(name: str) -> Tool:
    """The catalogue entry ``name`` (KeyError names the known tools)."""
    try:
        return CATALOG[name]
    except KeyError:
        raise KeyError(f"no tool {name!r} in the catalogue; known: {', '.join(CATALOG)}") from None


def call(name: str, ctx: ToolContext, request: BaseModel | None = None) -> Any:
    """Run the catalogue tool ``name`` (what the agent's actions do: every door goes through the same entry)."""
    entry = tool(name)
    if request is not None and entry.request is not None and not isinstance(request, entry.request):
        raise TypeError(f"{name} takes a {entry.request.__name__}, got {type(request).__name__}")
    return entry.run(ctx, request)
