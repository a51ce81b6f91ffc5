"""The partner tool API (FastAPI; ``logistics-copilot serve``), with its OpenAPI document at ``/openapi.json``.

Its routes are generated from the tool catalogue (:mod:`tools.catalog`): each catalogue route becomes an
endpoint that authenticates the partner, checks the tool's scope, finds the partner's own world, builds a
tool context through :mod:`copilot.apps.wiring` and calls the tool; request and response bodies are the
tools' own pydantic models. Only ``/me`` and the world list and import are the door's own. Nothing here
decides or computes a number.

* **Keys and scopes**: ``Authorization: Bearer <key>`` (or ``X-API-Key: <key>``); 401 for a missing,
  unknown or revoked key, 403 when the key lacks the tool's scope (read, plan or dispatch).
* **Tenancy**: a partner names its worlds by its own names (stored as ``<partner>/<name>``); another
  partner's worlds, orders, vehicles and plans answer 404, exactly as ids that do not exist.
* **Idempotency**: a write sent with ``Idempotency-Key`` is answered once; the same key with the same
  request replays the kept reply (header ``Idempotent-Replayed: true``), with another request 422.
* **Limits**: request bodies over ``max_body_bytes`` (5 MiB by default) answer 413.
* **Errors**: :mod:`copilot.apps.partner.errors`.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

import anyio.to_thread
from fastapi import APIRouter, Body, Depends, FastAPI, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ValidationError

from copilot.apps.partner.errors import ApiError, ErrorBody, install_error_handlers
from copilot.apps.partner.gate import IDEMPOTENCY_TTL_S, LEASE_S, MAX_BODY_BYTES, SAFE_METHODS, Claim, Limits, PartnerGate
from copilot.apps.partner.tenancy import Partner, partner_worlds, public_name, resolve_world, stored_name
from copilot.apps.wiring import make_context, make_deps, make_forecaster, make_partner_store, make_solver_pool
from copilot.core.ports import PartnerStore
from tools.catalog import TOOLS, Route, Tool
from tools.context import PLAN_ID_MAX, ToolContext
from tools.listings import WorldInfo, world_info
from tools.planning import PlanSettings
from tools.sql import SqlStore
from tools.world_upload import WorldUpload, read_uploaded_world

API_VERSION = "1.0.0"

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


PlanId = Annotated[int, Path(ge=1, le=PLAN_ID_MAX, description="a plan id")]


class WorldList(BaseModel):
    """The partner's worlds."""

    worlds: list[WorldInfo]


class Me(BaseModel):
    """Who the API key belongs to."""

    partner: str
    key_id: str
    scopes: list[str]
    worlds: list[str]


# --------------------------------------------------------------------------------------------------
# Routes generated from the catalogue
# --------------------------------------------------------------------------------------------------

_KEYS = {scope: Annotated[Partner, Depends(_need(scope))] for scope in ("read", "plan", "dispatch")}
_KW = inspect.Parameter.KEYWORD_ONLY


def _path_annotation(name: str) -> Any:
    return PlanId if name == "plan_id" else Annotated[str, Path(description=f"the {name.removesuffix('_id')}'s id" if name != "world" else "your world's name")]


def tool_request(entry: Tool, route: Route, path: dict[str, Any], body: BaseModel | None, query: BaseModel | None) -> BaseModel | None:
    """The tool's request from what one HTTP request carried: path parameters, body and query fields."""
    if entry.request is None:
        return None
    values = {route.fields.get(k, k): v for k, v in path.items()}
    for part in (query, body):
        if part is None:
            continue
        if type(part) is entry.request and not values:
            return part  # the body (or query) is the request itself
        values.update(part.model_dump(exclude_unset=True))
    try:
        return entry.request.model_validate(values)
    except ValidationError as exc:  # a path parameter the tool refuses: a malformed request, not a bug
        raise RequestValidationError(exc.errors()) from exc


def _endpoint(entry: Tool, route: Route, run: Callable[[Request, Partner, str, Callable[[ToolContext], BaseModel]], Any]) -> Callable[..., Any]:
    """The endpoint function of one catalogue route, with the signature FastAPI reads its parameters from."""
    names = [p for p in route.path_params() if p != "world"]
    params = [inspect.Parameter("request", _KW, annotation=Request), inspect.Parameter("world", _KW, annotation=_path_annotation("world"))]
    params += [inspect.Parameter(n, _KW, annotation=_path_annotation(n)) for n in names]
    params.append(inspect.Parameter("partner", _KW, annotation=_KEYS[entry.scope]))
    body_model = route.body_model(entry)
    if body_model is not None:
        if route.body_optional:
            params.append(inspect.Parameter("body", _KW, default=None, annotation=Annotated[body_model | None, Body()]))
        else:
            params.append(inspect.Parameter("body", _KW, annotation=Annotated[body_model, Body()]))
    if route.query is not None:
        params.append(inspect.Parameter("query", _KW, annotation=Annotated[route.query, Query()]))

    def endpoint(**kw: Any) -> Any:
        path = {n: kw[n] for n in names}
        req = tool_request(entry, route, path, kw.get("body"), kw.get("query"))
        return run(kw["request"], kw["partner"], kw["world"], lambda ctx: entry.run(ctx, req))

    endpoint.__name__ = route.name
    endpoint.__doc__ = route.doc or entry.summary
    endpoint.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    return endpoint


def add_catalogue_routes(router: APIRouter, run_read: Callable[..., Any], run_write: Callable[..., Any]) -> None:
    """Every route of every catalogue tool: reads answer the model, writes go through ``run_write`` (one
    transaction, idempotent replies)."""
    for entry in TOOLS:
        for route in entry.routes:
            write = entry.scope != "read"

            def run(request: Request, partner: Partner, world: str, call: Callable[[ToolContext], BaseModel], *, write: bool = write, status: int = route.status) -> Any:
                return (run_write if write else run_read)(request, partner, world, call, status)

            router.add_api_route(
                route.path,
                _endpoint(entry, route, run),
                methods=[route.method],
                name=route.name,
                status_code=route.status,
                tags=[route.tag],
                response_model=entry.result,
                dependencies=_WRITE if write else None,
            )


# --------------------------------------------------------------------------------------------------
# The app
# --------------------------------------------------------------------------------------------------


READ_POSTS = ("/query",)
"""POST routes that only read and do not solve (a question in a body): they do not count as planning requests."""


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
    ``limits`` what one partner may ask at once (default :class:`copilot.apps.partner.gate.Limits`); ``solver_workers`` > 0
    plans in that many worker processes (what ``serve`` does: a solve holds Python's interpreter lock, so in the
    server's own process it would stall every other request), 0 in the server's process."""
    keys = keys if keys is not None else make_partner_store(store)
    settings = settings or PlanSettings(time_limit_s=5.0)
    forecaster = make_forecaster()

    pool = make_solver_pool(engine, solver_workers) if solver_workers > 0 else None
    deps = make_deps(engine, pool)

    def ctx_for(partner: Partner, world: str) -> ToolContext:
        internal = resolve_world(store, partner.name, world)
        return make_context(store, internal, actor=partner.actor, engine=engine, settings=settings, forecaster=forecaster, deps=deps).for_request()

    def out(model: M, partner: Partner) -> M:
        world = getattr(model, "world", None)
        if isinstance(world, str):
            return model.model_copy(update={"world": public_name(partner.name, world)})
        return model

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

    def run_read(request: Request, partner: Partner, world: str, call: Callable[[ToolContext], BaseModel], status: int) -> BaseModel:
        return out(call(ctx_for(partner, world)), partner)

    def run_write(request: Request, partner: Partner, world: str, call: Callable[[ToolContext], BaseModel], status: int) -> Response:
        return commit(request, status, lambda: out(call(ctx_for(partner, world)), partner))

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
    install_error_handlers(app)
    app.add_middleware(
        PartnerGate, keys=keys, max_body_bytes=max_body_bytes, idempotency_ttl_s=idempotency_ttl_s, limits=limits, lease_s=lease_s, planning=_plans
    )
    v1 = APIRouter(prefix="/v1")

    # -- the door's own routes: who am I, the partner's worlds, a world's import --------------------

    @v1.get("/me", tags=["partner"])
    def me(partner: AnyKey) -> Me:
        """The partner, key id and scopes of the API key, and the partner's worlds."""
        return Me(partner=partner.name, key_id=partner.key_id, scopes=sorted(partner.scopes), worlds=partner_worlds(store, partner.name))

    @v1.get("/worlds", tags=["worlds"])
    def list_worlds(partner: ReadKey) -> WorldList:
        """The partner's own worlds."""
        return WorldList(worlds=[out(world_info(ctx_for(partner, w)), partner) for w in partner_worlds(store, partner.name)])

    @v1.post("/worlds", status_code=201, tags=["worlds"], dependencies=_WRITE, response_model=WorldInfo)
    def import_world(request: Request, upload: WorldUpload, partner: DispatchKey) -> Response:
        """Bulk import a whole world from its CSV files (all of it or nothing; every problem is listed)."""
        def work() -> WorldInfo:
            if upload.name in partner_worlds(store, partner.name) and not upload.replace:
                raise ApiError(409, "conflict", f'you already have a world named {upload.name!r}; send "replace": true to replace it and its plans')
            world = read_uploaded_world(upload, stored_name(partner.name, upload.name))
            store.import_world(world, replace=upload.replace, actor=partner.actor)
            return out(world_info(ctx_for(partner, upload.name)), partner)

        return commit(request, 201, work)

    # -- every tool of the catalogue ------------------------------------------------------------------

    add_catalogue_routes(v1, run_read, run_write)
    app.include_router(v1)
    return app
