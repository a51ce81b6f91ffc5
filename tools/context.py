"""What every tool receives: the store, the planning dependencies and settings, bound to one world.

Also the small shared pieces of the tools' pydantic I/O: a plan summary, time parsing that accepts
what a dispatcher types (``14:30``, ``2022-05-01T14:30:00+08:00``), and look-ups that turn an unknown
id into a message that says what was expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from copilot.core.domain import Order, Plan, PlanStatus, Vehicle, World
from copilot.core.errors import ConfigurationError, InputError, ReadOnlyViolation
from copilot.core.ports import DataReader, DispatchStore, Forecaster, HistoryReader, StoredPlan
from copilot.core.units import format_clock, format_time, parse_time
from tools.planning import PlanningDeps, PlanSettings

ID_PATTERN = r"^[^/\x00-\x1f\x7f]{1,100}$"  # an id a partner can name in a URL path: no '/', no control characters
MAX_TEXT = 5000  # characters of any text field of a request (a customer note is the longest)
PLAN_ID_MAX = 2**53  # plan ids are database row ids; anything larger names no plan (and overflows SQLite)


class RequestModel(BaseModel):
    """The base of every tool request: numbers are finite and texts bounded, whatever door they come through."""

    model_config = ConfigDict(allow_inf_nan=False, str_max_length=MAX_TEXT)


_HHMM = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


@dataclass
class ToolContext:
    """Dependencies of the tool functions, for one world. ``actor`` is recorded in the audit trail.

    ``forecaster`` serves the forecast tools (they raise ConfigurationError without one); ``history``
    answers history questions read-only, by default the store's own ``history_reader()``; ``data`` the
    aggregate questions of :mod:`tools.query`, by default the store's own ``data_reader()``.
    """

    store: DispatchStore
    planning: PlanningDeps
    world_name: str
    settings: PlanSettings = field(default_factory=lambda: PlanSettings(time_limit_s=1.0))
    actor: str = "dispatcher"
    forecaster: Forecaster | None = None
    history: HistoryReader | None = None
    data: DataReader | None = None
    dry_run: bool = False
    """A question ("what if ..."): tools compute what they would do and write nothing (see :meth:`read_only`)."""

    def read_only(self) -> ToolContext:
        """This context for a question: a store that refuses every write, and tools that only compute
        (:func:`tools.lifecycle.replan` plans without saving). Nothing can be written through it."""
        if self.dry_run:
            return self
        return replace(self, store=ReadOnlyStore(self.store), dry_run=True)

    def for_request(self) -> ToolContext:
        """This context for one request (an HTTP or MCP call, a chat turn): the world, committed plan, clock and
        plan list are read from the store once, and read again only after a write through this context
        (:class:`RequestStore`). A long-lived context (a chat session) makes one per turn, so it never answers
        from a stale world."""
        inner = self.store._store if isinstance(self.store, RequestStore) else self.store
        return replace(self, store=RequestStore(inner))

    def _from_store(self, method: str, what: str) -> Any:
        make = getattr(self.store, method, None)
        if make is None:
            raise ConfigurationError(f"the store {type(self.store).__name__} has no {what} queries; give the ToolContext a {what} reader")
        return make()

    def history_reader(self) -> HistoryReader:
        """The read-only history queries (the store's own unless one was given)."""
        if self.history is None:
            self.history = self._from_store("history_reader", "history")
        return self.history

    def data_reader(self) -> DataReader:
        """The read-only aggregate queries over the world's data (the store's own unless one was given)."""
        if self.data is None:
            self.data = self._from_store("data_reader", "data")
        return self.data

    def require_forecaster(self) -> Forecaster:
        """The forecaster, or a ConfigurationError saying how to configure one."""
        if self.forecaster is None:
            raise ConfigurationError("no forecaster is configured: build the ToolContext with forecaster=make_forecaster() (copilot.apps.wiring)")
        return self.forecaster

    def world(self) -> World:
        """The world as stored now."""
        return self.store.load_world(self.world_name)

    def committed(self) -> StoredPlan | None:
        """The dispatched plan, if any."""
        return self.store.committed_plan(self.world_name)

    def clock(self) -> int | None:
        """The world's current (simulated) time."""
        return self.store.clock(self.world_name)

    def latest_draft(self, *, newer_than_committed: bool = False) -> StoredPlan | None:
        """The one rule for "the draft": the draft saved last (highest plan id), or None. With
        ``newer_than_committed``, only a draft saved after the committed plan counts."""
        committed = self.committed() if newer_than_committed else None
        drafts = [p for p in self.store.plans(self.world_name) if p.status is PlanStatus.DRAFT and (committed is None or p.id > committed.id)]
        return max(drafts, key=lambda p: p.id) if drafts else None


class ReadOnlyStore:
    """A store for a question: reads go to the real store, every write raises :class:`ReadOnlyViolation`."""

    WRITES = frozenset(
        {
            "import_world",
            "set_clock",
            "update_vehicle",
            "update_order",
            "add_order",
            "add_orders",
            "import_history",
            "save_plan",
            "commit_plan",
            "discard_plan",
            "undo_fact",
        }
    )

    def __init__(self, store: DispatchStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        if name in self.WRITES:
            raise ReadOnlyViolation(f"this was asked as a question, so nothing is recorded ({name} refused)")
        return getattr(self._store, name)


class RequestStore:
    """The store as one request sees it: the world, its committed plan, clock and plans are loaded once; every
    write (see :attr:`ReadOnlyStore.WRITES`) forgets them, so what the request wrote is read back fresh.

    Facts are still written as field updates under the world's lock (:meth:`tools.sql.SqlStore.update_vehicle`),
    so a change another request makes meanwhile is merged, never overwritten."""

    CACHED = frozenset({"load_world", "committed_plan", "clock", "plans"})

    def __init__(self, store: DispatchStore) -> None:
        self._store = store
        self._cache: dict[tuple[Any, ...], Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name in self.CACHED:

            def read(*args: Any, **kwargs: Any) -> Any:
                key = (name, args, tuple(sorted(kwargs.items())))
                if key not in self._cache:
                    self._cache[key] = getattr(self._store, name)(*args, **kwargs)
                value = self._cache[key]
                return list(value) if isinstance(value, list) else value

            return read
        attr = getattr(self._store, name)
        if name in ReadOnlyStore.WRITES:

            def write(*args: Any, **kwargs: Any) -> Any:
                self._cache.clear()
                try:
                    return attr(*args, **kwargs)
                finally:
                    self._cache.clear()

            return write
        return attr


def parse_user_time(text: str, world: World) -> int:
    """A time as a dispatcher gives it: ``HH:MM`` on the world's day, or ISO 8601 with offset."""
    m = _HHMM.match(text)
    if m:
        hour, minute = int(m.group(1)), int(m.group(2))
        if hour > 23 or minute > 59:
            raise InputError(f"not a time of day: {text!r}; expected HH:MM between 00:00 and 23:59")
        tz = timezone(timedelta(seconds=world.utc_offset_s))
        day = datetime.fromisoformat(world.date).replace(tzinfo=tz)
        return int((day + timedelta(hours=hour, minutes=minute)).timestamp())
    try:
        return parse_time(text)
    except ValueError:
        raise InputError(
            f"not a time: {text!r}; expected HH:MM (on {world.date}) or ISO 8601 like {world.date}T14:30:00{format_time(0, world.utc_offset_s)[-6:]}"
        ) from None


def find_order(world: World, order_id: str) -> Order:
    """The order as a dispatcher typed its id (spaces around it ignored), or a NotFound that lists known ids."""
    return world.order(order_id.strip())


def find_vehicle(world: World, vehicle_id: str) -> Vehicle:
    """The vehicle as a dispatcher typed its id (spaces around it ignored), or a NotFound that lists known ids."""
    return world.vehicle(vehicle_id.strip())


class UnassignedOut(BaseModel):
    """An order left out of a plan, and why."""

    order_id: str
    reason: str


class RouteOut(BaseModel):
    """One vehicle's route in a summary."""

    vehicle_id: str
    stops: list[str] = Field(description="order ids in visiting order")
    etas: list[str] = Field(description="service start per stop, HH:MM local")
    distance_km: float
    start: str
    end: str


class PlanSummary(BaseModel):
    """A plan as a dispatcher or partner system sees it."""

    plan_id: int
    status: str
    vehicles_used: int
    total_distance_km: float
    orders_served: int
    unassigned: list[UnassignedOut]
    routes: list[RouteOut]
    solver: str
    stops_moved: int | None = Field(default=None, description="future stops that changed vehicle against the committed plan")
    distance_delta_km: float | None = Field(default=None, description="total distance minus the committed plan's")


def summarize(world: World, plan: Plan, plan_id: int, status: PlanStatus, baseline: Plan | None = None, clock: int | None = None) -> PlanSummary:
    """A :class:`PlanSummary`, with the change against ``baseline`` when given."""
    off = world.utc_offset_s
    moved = None
    delta = None
    if baseline is not None:
        moved = stops_moved(baseline, plan, clock)
        delta = round((plan.distance_m - baseline.distance_m) / 1000, 3)
    return PlanSummary(
        plan_id=plan_id,
        status=status.value,
        vehicles_used=plan.vehicles_used,
        total_distance_km=round(plan.distance_m / 1000, 3),
        orders_served=len(plan.assigned_ids()),
        unassigned=[UnassignedOut(order_id=u.order_id, reason=u.reason) for u in plan.unassigned],
        routes=[
            RouteOut(
                vehicle_id=r.vehicle_id,
                stops=list(r.order_ids),
                etas=[format_clock(v.start, off) for v in r.visits],
                distance_km=round(r.distance_m / 1000, 3),
                start=format_clock(r.start, off),
                end=format_clock(r.end, off),
            )
            for r in plan.routes
        ],
        solver=plan.solver,
        stops_moved=moved,
        distance_delta_km=delta,
    )


def stops_moved(before: Plan, after: Plan, clock: int | None = None) -> int:
    """Stops (not yet started at ``clock``) that are on a different vehicle in ``after``."""
    was = {v.order_id: (r.vehicle_id, v.start) for r in before.routes for v in r.visits}
    now = {v.order_id: r.vehicle_id for r in after.routes for v in r.visits}
    return sum(1 for oid, (vid, start) in was.items() if oid in now and now[oid] != vid and (clock is None or start >= clock))
