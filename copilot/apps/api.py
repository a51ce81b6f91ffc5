"""The partner tool API (FastAPI; ``logistics-copilot serve``) (FastAPI), with its OpenAPI document at ``/openapi.json``.

Each endpoint authenticates the partner, finds the partner's own world, builds a tool context through
:mod:`copilot.apps.wiring` and calls one typed tool; request and response bodies are the tools' own
pydantic models. Nothing here decides or computes a number.

* **Keys and scopes**: ``Authorization: Bearer <key>`` (or ``X-API-Key: <key>``); 401 for a missing,
  unknown or revoked key, 403 when the key lacks the endpoint's scope (read, plan or dispatch).
* **Tenancy**: a partner names its worlds by its own names (stored as ``<partner>/<name>``); another
  partner's worlds, orders, vehicles and plans answer 404, exactly as ids that do not exist.
* **Idempotency**: a write sent with ``Idempotency-Key`` is answered once; the same key with the same
  request replays the kept reply (header ``Idempotent-Replayed: true``), with another request 422.
* **Limits**: request bodies over ``max_body_bytes`` (5 MiB by default) answer 413.
* **Errors**: every 4xx/5xx body is ``{"error": {"type": ..., "message": ...}}`` (plus ``problems`` for a
  rejected import, ``reason`` for an infeasible request, ``details`` for a malformed one).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from copilot.apps.gate import IDEMPOTENCY_TTL_S, LEASE_S, MAX_BODY_BYTES, SAFE_METHODS, Claim, Limits, PartnerGate, error_body
from copilot.apps.partners import Partner, hide_partner, partner_worlds, public_name, resolve_world, stored_name
from copilot.apps.wiring import make_context, make_deps, make_forecaster, make_partner_store, make_solver_pool
from copilot.core.errors import ConfigurationError, CopilotError, ImportFailed, InfeasibleError, InputError, NotFound
from copilot.core.ports import PartnerStore
from tools import catalog, events, forecast, insertion, kpis, lifecycle, order_edits, remedies, undo, vehicle_edits, whatif
from tools.context import PlanSummary, ToolContext
from tools.planning import PlanSettings
from tools.query import QueryResult, QuerySpec, run_query
from tools.sql import SqlStore
from tools.world_upload import WorldUpload, read_uploaded_world

log = logging.getLogger(__name__)

API_VERSION = "1.0.0"
MAX_PROBLEMS_SHOWN = 200  # located problems in a rejected import's reply (the count says how many there were)
PLAN_ID_MAX = 2**53  # plan ids are database row ids; anything larger names no plan (and overflows SQLite)
_PLAN_QUERY_DOC = "which plan: 'committed' (the dispatched plan), 'draft' (the latest draft) or a plan id"

M = TypeVar("M", bound=BaseModel)

API_DESCRIPTION = """\
The dispatch copilot's tools for partner systems: import a world (depots, vehicles, orders as CSV), report
events, plan, approve, and look up ETAs, KPIs and forecasts. Request and response bodies are the tools' own models.

* Authenticate with `Authorization: Bearer <key>` or `X-API-Key: <key>` (keys: `logistics-copilot keys create`).
  Scopes: **read** (GET look-ups), **plan** (drafts, discards, what-if, insertion advice, fleet sizing),
  **dispatch** (world imports, order writes, events, clock, approvals).
* A partner sees only its own worlds and everything in them; any other id answers 404.
* Writes accept an `Idempotency-Key` header: the same key and request replays the first reply
  (`Idempotent-Replayed: true`); the same key with another request answers 422.
* Bodies over the size limit answer 413. Every error body is `{"error": {"type": ..., "message": ...}}`.
* An event is recorded at once and re-planned into a draft; nothing reaches the drivers until a draft is approved.
"""


# --------------------------------------------------------------------------------------------------
# Error bodies
# --------------------------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    """What went wrong, for a program and for a person."""

    type: str = Field(
        description="unauthorized, forbidden, not_found, input_error, validation_error, import_failed, infeasible, conflict, "
        "idempotency_key_reused, idempotency_in_progress, payload_too_large, configuration_error, internal_error, ..."
    )
    message: str
    problems: list[str] | None = Field(default=None, description="import_failed: every located problem (file, row, column)")
    reason: str | None = Field(default=None, description="infeasible: why the request cannot be satisfied")
    details: list[dict[str, Any]] | None = Field(default=None, description="validation_error: each rejected field")


class ErrorBody(BaseModel):
    """The body of every error reply."""

    error: ErrorDetail


class ApiError(Exception):
    """An error reply decided by the door itself (authentication, scope, conflicts)."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message


def _copilot_error(exc: CopilotError) -> tuple[int, dict[str, Any]]:
    if isinstance(exc, NotFound):
        return 404, error_body("not_found", str(exc))
    if isinstance(exc, ImportFailed):
        shown = exc.problems[:MAX_PROBLEMS_SHOWN] + ([f"... and {len(exc.problems) - MAX_PROBLEMS_SHOWN} more"] if len(exc.problems) > MAX_PROBLEMS_SHOWN else [])
        return 422, error_body("import_failed", str(exc), problems=shown)
    if isinstance(exc, InputError):
        return 400, error_body("input_error", str(exc))
    if isinstance(exc, InfeasibleError):
        return 409, error_body("infeasible", str(exc), reason=exc.reason)
    if isinstance(exc, ConfigurationError):
        log.error("configuration error: %s", exc)
        return 503, error_body("configuration_error", "the service is not configured to answer this request; the operator's log has the details")
    return 500, error_body("internal_error", "the server could not answer this request")


def _hide(request: Request, payload: dict[str, Any]) -> dict[str, Any]:
    partner = getattr(request.state, "partner", None)
    if isinstance(partner, Partner):
        err = payload["error"]
        err["message"] = hide_partner(err["message"], partner.name)
        if err.get("problems"):
            err["problems"] = [hide_partner(p, partner.name) for p in err["problems"]]
        if err.get("reason"):
            err["reason"] = hide_partner(err["reason"], partner.name)
    return payload


_STATUS_TYPES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large", 429: "rate_limited",
}


def _install_error_handlers(app: FastAPI) -> None:
    async def on_copilot_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, CopilotError)
        status, payload = _copilot_error(exc)
        return JSONResponse(_hide(request, payload), status_code=status)

    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(_hide(request, error_body(exc.kind, exc.message)), status_code=exc.status, headers=headers)

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        details = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))} for e in exc.errors()]
        message = "; ".join(f"{'.'.join(d['loc'])}: {d['msg']}" for d in details[:10]) or "the request is malformed"
        return JSONResponse(_hide(request, error_body("validation_error", message, details=details)), status_code=422)

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        kind = _STATUS_TYPES.get(exc.status_code, "http_error")
        return JSONResponse(error_body(kind, str(exc.detail)), status_code=exc.status_code, headers=getattr(exc, "headers", None))

    async def on_bug(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(error_body("internal_error", "the server failed to answer this request; the operator's log has the details"), status_code=500)

    app.add_exception_handler(Exception, on_bug)
    app.add_exception_handler(CopilotError, on_copilot_error)
    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)


# --------------------------------------------------------------------------------------------------
# Scopes
# --------------------------------------------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False, scheme_name="bearerKey", description="Authorization: Bearer <API key> (logistics-copilot keys create)")
_header_key = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="apiKeyHeader", description="the API key in an X-API-Key header")


def _need(scope: str) -> Callable[..., Partner]:
    def require(
        request: Request,
        _bearer_key: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        _header: Annotated[str | None, Depends(_header_key)],
    ) -> Partner:
        partner = getattr(request.state, "partner", None)
        if not isinstance(partner, Partner):
            raise ApiError(401, "unauthorized", "an API key is required")
        if scope and scope not in partner.scopes:
            raise ApiError(403, "forbidden", f"this API key lacks the {scope!r} scope (it has: {', '.join(sorted(partner.scopes))})")
        return partner

    require.__name__ = f"require_{scope or 'key'}"
    return require


AnyKey = Annotated[Partner, Depends(_need(""))]
ReadKey = Annotated[Partner, Depends(_need("read"))]
PlanKey = Annotated[Partner, Depends(_need("plan"))]
DispatchKey = Annotated[Partner, Depends(_need("dispatch"))]


def _idempotency_header(
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", max_length=255, description="any unique text (e.g. a UUID): a retry with the same key and body replays the first reply"),
    ] = None,
) -> None:
    """Documents the Idempotency-Key header of writes (the gate in front of the app handles it)."""


_WRITE = [Depends(_idempotency_header)]
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in (
        (400, "the request cannot be carried out as given (the message says why)"),
        (401, "missing, unknown or revoked API key"),
        (403, "the API key lacks this endpoint's scope"),
        (404, "no such world, order, vehicle or plan among the partner's own"),
        (409, "conflict: infeasible request, a world name in use, or an idempotent request still running"),
        (413, "request body too large"),
        (422, "malformed request, rejected import, or an Idempotency-Key reused for another request"),
        (429, "over the partner's limits (requests per second, requests or planning requests at once); Retry-After says when to retry"),
        (500, "the server failed (a bug: the operator's log has the details); nothing was changed"),
        (503, "the service is not configured to answer this request"),
    )
}


def _plan_selector(text: str) -> kpis.PlanSelector:
    value = text.strip()
    if value in ("committed", "draft"):
        return "committed" if value == "committed" else "draft"
    if value.isascii() and value.isdigit() and len(value) <= 16 and 1 <= int(value) <= PLAN_ID_MAX:
        return int(value)
    raise InputError(f"plan must be 'committed', 'draft' or a plan id (a whole number from 1 to {PLAN_ID_MAX}), got {text[:40]!r}")


PlanId = Annotated[int, Path(ge=1, le=PLAN_ID_MAX, description="a plan id")]


class WorldList(BaseModel):
    """The partner's worlds."""

    worlds: list[catalog.WorldInfo]


class Me(BaseModel):
    """Who the API key belongs to."""

    partner: str
    key_id: str
    scopes: list[str]
    worlds: list[str]


# --------------------------------------------------------------------------------------------------
# The app
# --------------------------------------------------------------------------------------------------


READ_POSTS = ("/query",)
"""POST routes that only read (a question in a body): they do not count as planning requests."""


def _plans(scope: Any) -> bool:
    """Whether a request plans (every write, what-if and advice solves), for the gate's planning limits."""
    return scope["method"] not in SAFE_METHODS and not str(scope.get("path", "")).endswith(READ_POSTS)


def create_app(
    store: SqlStore,
    *,
    keys: PartnerStore | None = None,
    settings: PlanSettings | None = None,
    engine: str = "auto",
    solver_workers: int = 0,
    max_body_bytes: int = MAX_BODY_BYTES,
    idempotency_ttl_s: int = IDEMPOTENCY_TTL_S,
    limits: Limits | None = None,
    lease_s: int = LEASE_S,
) -> FastAPI:
    """The partner API on ``store``; ``settings`` are the planning search settings (time limit, seed, ...);
    ``limits`` what one partner may ask at once (default :class:`copilot.apps.gate.Limits`); ``solver_workers`` > 0
    plans in that many worker processes (what ``serve`` does: a solve holds Python's interpreter lock, so in the
    server's own process it would stall every other request), 0 in the server's process."""
    keys = keys if keys is not None else make_partner_store(store)
    settings = settings or PlanSettings(time_limit_s=5.0)
    forecaster = make_forecaster()

    pool = make_solver_pool(engine, solver_workers) if solver_workers > 0 else None
    deps = make_deps(engine, pool)

    def ctx_for(partner: Partner, world: str) -> ToolContext:
        internal = resolve_world(store, partner.name, world)
        return make_context(store, internal, actor=partner.actor, engine=engine, settings=settings, forecaster=forecaster, deps=deps)

    def commit(request: Request, status: int, work: Callable[[], BaseModel]) -> Response:
        """Run a write; its idempotent reply (if the request claimed a key) is kept in the same transaction."""
        claim = getattr(request.state, "idempotency", None)
        with store.unit_of_work():
            body = work().model_dump_json()
            if isinstance(claim, Claim):
                keys.finish_reply(claim.partner, claim.key, status, body)
        if isinstance(claim, Claim):
            claim.kept = True
        return Response(body, status_code=status, media_type="application/json")

    def out(model: M, partner: Partner) -> M:
        world = getattr(model, "world", None)
        if isinstance(world, str):
            return model.model_copy(update={"world": public_name(partner.name, world)})
        return model

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if pool is not None:
            await anyio.to_thread.run_sync(pool.warm_up)  # the workers import the engines before the first request
        try:
            yield
        finally:
            if pool is not None:
                await anyio.to_thread.run_sync(pool.close)

    app = FastAPI(
        lifespan=lifespan,
        title="logistics-copilot partner API",
        version=API_VERSION,
        description=API_DESCRIPTION,
        generate_unique_id_function=lambda route: str(route.name),
        responses=_ERRORS,
    )
    _install_error_handlers(app)
    app.add_middleware(
        PartnerGate, keys=keys, max_body_bytes=max_body_bytes, idempotency_ttl_s=idempotency_ttl_s, limits=limits, lease_s=lease_s, planning=_plans
    )
    v1 = APIRouter(prefix="/v1")

    # -- who am I, worlds -------------------------------------------------------------------

    @v1.get("/me", tags=["partner"])
    def me(partner: AnyKey) -> Me:
        """The partner, key id and scopes of the API key, and the partner's worlds."""
        return Me(partner=partner.name, key_id=partner.key_id, scopes=sorted(partner.scopes), worlds=partner_worlds(store, partner.name))

    @v1.get("/worlds", tags=["worlds"])
    def list_worlds(partner: ReadKey) -> WorldList:
        """The partner's own worlds."""
        return WorldList(worlds=[out(catalog.world_info(ctx_for(partner, w)), partner) for w in partner_worlds(store, partner.name)])

    @v1.post("/worlds", status_code=201, tags=["worlds"], dependencies=_WRITE, response_model=catalog.WorldInfo)
    def import_world(request: Request, upload: WorldUpload, partner: DispatchKey) -> Response:
        """Bulk import a whole world from its CSV files (all of it or nothing; every problem is listed)."""
        def work() -> catalog.WorldInfo:
            if upload.name in partner_worlds(store, partner.name) and not upload.replace:
                raise ApiError(409, "conflict", f'you already have a world named {upload.name!r}; send "replace": true to replace it and its plans')
            world = read_uploaded_world(upload, stored_name(partner.name, upload.name))
            store.import_world(world, replace=upload.replace, actor=partner.actor)
            return out(catalog.world_info(ctx_for(partner, upload.name)), partner)

        return commit(request, 201, work)

    @v1.get("/worlds/{world}", tags=["worlds"])
    def get_world(world: str, partner: ReadKey) -> catalog.WorldInfo:
        """A world's day, counts, clock and plans."""
        return out(catalog.world_info(ctx_for(partner, world)), partner)

    @v1.get("/worlds/{world}/depots", tags=["worlds"])
    def list_depots(world: str, partner: ReadKey) -> catalog.DepotList:
        """The world's depots."""
        return catalog.list_depots(ctx_for(partner, world))

    @v1.get("/worlds/{world}/vehicles", tags=["worlds"])
    def list_vehicles(world: str, partner: ReadKey) -> catalog.VehicleList:
        """The world's vehicles with shifts and availability."""
        return catalog.list_vehicles(ctx_for(partner, world))

    @v1.get("/worlds/{world}/vehicles/{vehicle_id}", tags=["worlds"])
    def get_vehicle(world: str, vehicle_id: str, partner: ReadKey, plan: Annotated[str, Query(description=_PLAN_QUERY_DOC)] = "committed") -> kpis.VehicleStops:
        """A vehicle, its availability and its stops in order with ETAs and loads."""
        return kpis.vehicle_stops(ctx_for(partner, world), kpis.VehicleLookup(vehicle_id=vehicle_id, plan=_plan_selector(plan)))

    @v1.patch("/worlds/{world}/vehicles/{vehicle_id}", tags=["events"], dependencies=_WRITE, response_model=vehicle_edits.VehicleUpdateResult)
    def update_vehicle(request: Request, world: str, vehicle_id: str, changes: vehicle_edits.VehicleChanges, partner: DispatchKey) -> Response:
        """Change a vehicle's shift, capacity or skills, or put it back in service; re-planned into a draft."""
        def work() -> vehicle_edits.VehicleUpdateResult:
            req = vehicle_edits.VehicleUpdateRequest(vehicle_id=vehicle_id, **changes.model_dump(exclude_unset=True))
            return vehicle_edits.update_vehicle(ctx_for(partner, world), req)

        return commit(request, 200, work)

    @v1.post("/worlds/{world}/undo", tags=["events"], dependencies=_WRITE, response_model=undo.UndoResult)
    def undo_fact(request: Request, world: str, req: undo.UndoRequest, partner: DispatchKey) -> Response:
        """Reverse the latest fact recorded on a vehicle or order (or in the world); its drafts are discarded."""
        return commit(request, 200, lambda: undo.undo_last(ctx_for(partner, world), req))

    @v1.put("/worlds/{world}/clock", tags=["worlds"], dependencies=_WRITE, response_model=lifecycle.ClockOut)
    def set_clock(request: Request, world: str, req: lifecycle.ClockRequest, partner: DispatchKey) -> Response:
        """Set the world's current time: work started before it can no longer change."""
        return commit(request, 200, lambda: out(lifecycle.set_clock(ctx_for(partner, world), req), partner))

    @v1.get("/worlds/{world}/audit", tags=["worlds"])
    def audit_trail(world: str, partner: ReadKey, limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> lifecycle.AuditTrail:
        """The latest changes to the world: what, by whom, when."""
        return out(lifecycle.audit_trail(ctx_for(partner, world), limit), partner)

    # -- orders -----------------------------------------------------------------------------

    @v1.get("/worlds/{world}/orders", tags=["orders"])
    def list_orders(world: str, partner: ReadKey, query: Annotated[catalog.OrderListRequest, Query()]) -> catalog.OrderList:
        """The world's orders in import order, a page at a time."""
        return catalog.list_orders(ctx_for(partner, world), query)

    @v1.post("/worlds/{world}/orders", status_code=201, tags=["orders"], dependencies=_WRITE, response_model=events.EventResult)
    def create_order(request: Request, world: str, req: events.NewOrderRequest, partner: DispatchKey) -> Response:
        """Record a new order; the day is re-planned into a draft awaiting approval."""
        return commit(request, 201, lambda: events.add_order(ctx_for(partner, world), req))

    @v1.get("/worlds/{world}/orders/{order_id}", tags=["orders"])
    def get_order(world: str, order_id: str, partner: ReadKey, plan: Annotated[str, Query(description=_PLAN_QUERY_DOC)] = "committed") -> kpis.OrderStatus:
        """Where an order stands: vehicle, position, ETA, windows and status."""
        return kpis.order_status(ctx_for(partner, world), kpis.OrderLookup(order_id=order_id, plan=_plan_selector(plan)))

    @v1.patch("/worlds/{world}/orders/{order_id}", tags=["orders"], dependencies=_WRITE, response_model=order_edits.OrderUpdateResult)
    def update_order(request: Request, world: str, order_id: str, changes: order_edits.OrderChanges, partner: DispatchKey) -> Response:
        """Change an order's window, demand, service time, priority, customer or notes (re-planned when routing is affected)."""
        def work() -> order_edits.OrderUpdateResult:
            req = order_edits.OrderUpdateRequest(order_id=order_id, **changes.model_dump(exclude_unset=True))
            return order_edits.update_order(ctx_for(partner, world), req)

        return commit(request, 200, work)

    @v1.post("/worlds/{world}/orders/{order_id}/cancel", tags=["orders"], dependencies=_WRITE, response_model=events.EventResult)
    def cancel_order(request: Request, world: str, order_id: str, partner: DispatchKey) -> Response:
        """Cancel an order (kept, no longer routed); re-planned into a draft."""
        return commit(request, 200, lambda: events.cancel_order(ctx_for(partner, world), events.OrderRef(order_id=order_id)))

    @v1.post("/worlds/{world}/orders/{order_id}/restore", tags=["orders"], dependencies=_WRITE, response_model=events.EventResult)
    def restore_order(request: Request, world: str, order_id: str, partner: DispatchKey) -> Response:
        """Restore a cancelled order; re-planned into a draft."""
        return commit(request, 200, lambda: events.uncancel_order(ctx_for(partner, world), events.OrderRef(order_id=order_id)))

    # -- events -----------------------------------------------------------------------------

    @v1.post("/worlds/{world}/events/breakdown", tags=["events"], dependencies=_WRITE, response_model=events.EventResult)
    def report_breakdown(request: Request, world: str, req: events.VehicleUnavailableRequest, partner: DispatchKey) -> Response:
        """A vehicle stops working (breakdown, sick driver); its stops go to others in the re-planned draft."""
        return commit(request, 200, lambda: events.vehicle_unavailable(ctx_for(partner, world), req))

    @v1.post("/worlds/{world}/events/delay", tags=["events"], dependencies=_WRITE, response_model=events.EventResult)
    def report_delay(request: Request, world: str, req: events.VehicleDelayRequest, partner: DispatchKey) -> Response:
        """A vehicle is delayed N minutes from now (needs the clock set); re-planned into a draft."""
        return commit(request, 200, lambda: events.vehicle_delayed(ctx_for(partner, world), req))

    @v1.post("/worlds/{world}/events/window-change", tags=["events"], dependencies=_WRITE, response_model=events.EventResult)
    def report_window_change(request: Request, world: str, req: events.WindowChangeRequest, partner: DispatchKey) -> Response:
        """An order's time window changes; re-planned into a draft."""
        return commit(request, 200, lambda: events.change_window(ctx_for(partner, world), req))

    @v1.post("/worlds/{world}/events/pin", tags=["events"], dependencies=_WRITE, response_model=events.EventResult)
    def pin_order(request: Request, world: str, req: events.VehicleOrderRequest, partner: DispatchKey) -> Response:
        """Pin an order to a vehicle (only it may serve the order); re-planned into a draft."""
        return commit(request, 200, lambda: events.pin_order(ctx_for(partner, world), req))

    @v1.post("/worlds/{world}/events/move", tags=["events"], dependencies=_WRITE, response_model=events.EventResult)
    def move_order(request: Request, world: str, req: events.VehicleOrderRequest, partner: DispatchKey) -> Response:
        """Move an order to a vehicle by hand (pinned); the draft shows what it costs."""
        return commit(request, 200, lambda: events.move_order(ctx_for(partner, world), req))

    # -- plans ------------------------------------------------------------------------------

    @v1.get("/worlds/{world}/plans", tags=["plans"])
    def list_plans(world: str, partner: ReadKey) -> catalog.PlanList:
        """Every plan of the world, oldest first."""
        return catalog.list_plans(ctx_for(partner, world))

    @v1.post("/worlds/{world}/plans", status_code=201, tags=["plans"], dependencies=_WRITE, response_model=PlanSummary)
    def plan_day(request: Request, world: str, partner: PlanKey, req: lifecycle.PlanDayRequest | None = None) -> Response:
        """Plan the day into a draft (nothing is dispatched until it is approved)."""
        return commit(request, 201, lambda: lifecycle.plan_day(ctx_for(partner, world), req))

    @v1.get("/worlds/{world}/plans/{plan_id}", tags=["plans"])
    def get_plan(world: str, plan_id: PlanId, partner: ReadKey) -> PlanSummary:
        """A plan's routes with ETAs, unassigned orders and totals."""
        return catalog.get_plan(ctx_for(partner, world), catalog.PlanLookup(plan=plan_id))

    @v1.get("/worlds/{world}/plans/{plan_id}/kpis", tags=["plans"])
    def plan_kpis(world: str, plan_id: PlanId, partner: ReadKey) -> kpis.Kpis:
        """Key figures of a plan."""
        return kpis.get_kpis(ctx_for(partner, world), kpis.KpiRequest(plan=plan_id))

    @v1.post("/worlds/{world}/plans/{plan_id}/approve", tags=["plans"], dependencies=_WRITE, response_model=PlanSummary)
    def approve_plan(request: Request, world: str, plan_id: PlanId, partner: DispatchKey) -> Response:
        """Dispatch a draft: it becomes the committed plan (the previous one is superseded)."""
        def work() -> PlanSummary:
            ctx = ctx_for(partner, world)
            kpis.resolve_plan(ctx, plan_id)  # another world's plan: 404
            return lifecycle.approve_plan(ctx, lifecycle.PlanRef(plan_id=plan_id))

        return commit(request, 200, work)

    @v1.post("/worlds/{world}/plans/{plan_id}/discard", tags=["plans"], dependencies=_WRITE, response_model=PlanSummary)
    def discard_plan(request: Request, world: str, plan_id: PlanId, partner: PlanKey) -> Response:
        """Discard a draft; the committed plan stays as it is."""
        def work() -> PlanSummary:
            ctx = ctx_for(partner, world)
            kpis.resolve_plan(ctx, plan_id)  # another world's plan: 404
            return lifecycle.discard_draft(ctx, lifecycle.PlanRef(plan_id=plan_id))

        return commit(request, 200, work)

    @v1.get("/worlds/{world}/kpis", tags=["plans"])
    def get_kpis(world: str, partner: ReadKey, plan: Annotated[str, Query(description=_PLAN_QUERY_DOC)] = "committed") -> kpis.Kpis:
        """Key figures of the committed plan, the latest draft or a plan by id."""
        return kpis.get_kpis(ctx_for(partner, world), kpis.KpiRequest(plan=_plan_selector(plan)))

    # -- advice -----------------------------------------------------------------------------

    @v1.post("/worlds/{world}/insertion-advice", tags=["advice"], dependencies=_WRITE, response_model=insertion.InsertionAdvice)
    def advise_insertion(request: Request, world: str, req: insertion.InsertionRequest, partner: PlanKey) -> Response:
        """Where a prospective order fits best into the committed plan (nothing is written)."""
        return commit(request, 200, lambda: insertion.advise_insertion(ctx_for(partner, world), req))

    @v1.post("/worlds/{world}/what-if", tags=["advice"], dependencies=_WRITE, response_model=whatif.WhatIfResult)
    def what_if(request: Request, world: str, req: whatif.WhatIfRequest, partner: PlanKey) -> Response:
        """Try hypothetical changes on a copy of the world and compare key figures (nothing is saved)."""
        return commit(request, 200, lambda: whatif.what_if(ctx_for(partner, world), req))

    @v1.post("/worlds/{world}/unassigned/fixes", tags=["advice"])
    def fix_unassigned(world: str, partner: ReadKey, req: remedies.RemedyRequest | None = None) -> remedies.UnassignedFixes:
        """Why each unassigned order of a plan is left out, grouped by cause, with the smallest change that serves it, verified by
        re-planning a copy (read scope; it solves, so it counts as a planning request; nothing is written)."""
        return remedies.fix_unassigned(ctx_for(partner, world), req)

    # -- forecasts --------------------------------------------------------------------------

    @v1.get("/worlds/{world}/forecast/series", tags=["forecasts"])
    def list_series(world: str, partner: ReadKey) -> forecast.SeriesList:
        """The world's history series (regions, couriers, ...)."""
        return out(forecast.list_series(ctx_for(partner, world)), partner)

    @v1.get("/worlds/{world}/forecast", tags=["forecasts"])
    def forecast_demand(world: str, partner: ReadKey, query: Annotated[forecast.ForecastRequest, Query()]) -> forecast.ForecastOut:
        """A series' daily volume forecast with intervals."""
        return forecast.forecast_demand(ctx_for(partner, world), query)

    @v1.get("/worlds/{world}/history", tags=["forecasts"])
    def history_volume(world: str, partner: ReadKey, query: Annotated[forecast.HistoryRequest, Query()]) -> forecast.HistoryOut:
        """Volumes of one series over a date range."""
        return forecast.history_volume(ctx_for(partner, world), query)

    @v1.post("/worlds/{world}/query", tags=["data"], response_model=QueryResult)
    def query_data(world: str, spec: QuerySpec, partner: ReadKey) -> QueryResult:
        """Answer a question over the world's history or today's orders: a metric per group, filters, top-k, a compare period (read only)."""
        return run_query(ctx_for(partner, world), spec)

    @v1.post("/worlds/{world}/forecast/fleet-size", tags=["forecasts"], dependencies=_WRITE, response_model=forecast.FleetSizeOut)
    def fleet_size(request: Request, world: str, req: forecast.FleetSizeRequest, partner: PlanKey) -> Response:
        """Vehicles needed for a forecast day (P50 and P90 over sampled days; solves, so it takes a while)."""
        return commit(request, 200, lambda: forecast.fleet_size(ctx_for(partner, world), req))

    app.include_router(v1)
    return app
