"""Ports: the one-method protocols behind which every replaceable part sits."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from copilot.core.domain import Order, Plan, PlanStatus, Vehicle, World
from copilot.core.forecasting import DailySeries, SeriesForecast
from copilot.core.routing import RoutingProblem, Solution, SolveOptions


class RoutingSolver(Protocol):
    """Solves a :class:`RoutingProblem`; must be deterministic for a fixed seed and work budget."""

    name: str

    def solve(self, problem: RoutingProblem, options: SolveOptions) -> Solution:
        """Return one stop sequence per vehicle and the dropped stops."""
        ...


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule found by a feasibility checker."""

    rule: str
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.rule} at {self.where}: {self.detail}"


class FeasibilityChecker(Protocol):
    """Checks a plan against the world it was made for, independently of any solver."""

    def check_plan(self, world: World, plan: Plan, clock: int | None = None) -> list[Violation]:
        """Every violation found (empty when the plan is feasible)."""
        ...

    def check_solution(self, problem: RoutingProblem, routes: Sequence[Sequence[int]]) -> list[Violation]:
        """Every violation of raw engine routes (stop indices per vehicle)."""
        ...


@dataclass(frozen=True, slots=True)
class StoredPlan:
    """A plan as kept by a store."""

    id: int
    world: str
    status: PlanStatus
    plan: Plan
    created_at: int
    note: str


@dataclass(frozen=True, slots=True)
class UndoneFact:
    """A recorded fact that was reversed: which audit row, on what, and which fields went back."""

    audit_id: int
    subject: str
    """``vehicle:ID`` or ``order:ID``."""
    detail: str
    at: int
    reverted: tuple[str, ...]
    kept: tuple[str, ...]
    """Fields changed again since the fact: left as they are now."""
    plans_after: tuple[int, ...] = ()
    """Plans saved after the fact (planned with it)."""
    committed_after: bool = False
    """Whether a plan was dispatched after the fact (the dispatched plan then counts on it)."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One row of the audit trail: who changed what in a world, and when (epoch seconds)."""

    id: int
    world: str
    at: int
    action: str
    detail: str
    actor: str


class Store(Protocol):
    """Persistent worlds and plans. Every method is one transaction."""

    def import_world(self, world: World, *, replace: bool = False, actor: str | None = None) -> None:
        """Store a whole world atomically (all of it or nothing)."""
        ...

    def load_world(self, name: str) -> World:
        """The current state of a stored world."""
        ...

    def world_names(self) -> list[str]:
        """Names of stored worlds."""
        ...

    def save_plan(self, world: str, plan: Plan, status: PlanStatus = PlanStatus.DRAFT, note: str = "", *, actor: str | None = None) -> int:
        """Store a plan; returns its id."""
        ...

    def commit_plan(self, world: str, plan_id: int, note: str = "", *, actor: str | None = None) -> None:
        """Make the plan the committed one; the previous committed plan becomes superseded (one transaction)."""
        ...

    def get_plan(self, plan_id: int) -> StoredPlan:
        """A stored plan by id."""
        ...

    def committed_plan(self, world: str) -> StoredPlan | None:
        """The committed plan of a world, if any."""
        ...

    def plans(self, world: str) -> list[StoredPlan]:
        """Every plan of a world, oldest first."""
        ...


class DispatchStore(Store, Protocol):
    """A store that also records dispatch facts: the clock, vehicle and order changes, the audit trail."""

    def set_clock(self, world: str, epoch: int | None, *, actor: str | None = None) -> None:
        """Set (or clear) the world's current time."""
        ...

    def clock(self, world: str) -> int | None:
        """The world's current time, if set."""
        ...

    def update_vehicle(self, world: str, vehicle: Vehicle, *, actor: str | None = None, base: Vehicle | None = None) -> None:
        """Write the fields of a vehicle that differ from ``base`` (as the caller read it; default: as stored)."""
        ...

    def update_order(self, world: str, order: Order, *, actor: str | None = None, base: Order | None = None) -> None:
        """Write the fields of an order that differ from ``base`` (as the caller read it; default: as stored)."""
        ...

    def unit_of_work(self, *, lock: bool = False) -> AbstractContextManager[None]:
        """One transaction for every write in the block: all of them land, or none (``lock``: from the start)."""
        ...

    def add_order(self, world: str, order: Order, *, actor: str | None = None) -> None:
        """Add a new order."""
        ...

    def discard_plan(self, plan_id: int, *, actor: str | None = None) -> None:
        """Discard a draft."""
        ...

    def undo_fact(self, world: str, subject: str | None = None, *, actor: str | None = None) -> UndoneFact:
        """Reverse the latest not-undone fact on ``subject`` (``vehicle:ID``/``order:ID``; None: any)."""
        ...

    def audit(self, world: str) -> list[AuditEntry]:
        """The world's audit trail, oldest first."""
        ...


class Forecaster(Protocol):
    """Forecasts daily series; the same input must give exactly the same forecast (deterministic)."""

    name: str

    def forecast(self, series: Sequence[DailySeries], horizon: int, level: int = 80) -> list[SeriesForecast]:
        """One forecast per series (same order) for the ``horizon`` days after each series' last day.

        Never raises for a series the model cannot fit: it falls back to a simpler model and says so
        (``fallback`` and ``reason``). Raises InputError for a bad horizon or level.
        """
        ...

    def warm_up(self) -> float:
        """Do any one-off preparation (imports, compilation) now; returns the seconds it took."""
        ...


@dataclass(frozen=True, slots=True)
class SeriesSummary:
    """One stored history series: its first and last day (ISO dates), days with a row, and total volume."""

    key: str
    first: str
    last: str
    days: int
    total: int


class HistoryReader(Protocol):
    """Read-only questions about a world's daily volume history (parameterised, row-limited, timed out)."""

    def series(self, world: str) -> list[SeriesSummary]:
        """Every series of the world's history, sorted by key."""
        ...

    def resolve(self, world: str, series: str) -> str:
        """The stored key of a series as a caller typed it (NotFound, listing the known keys, when there is none)."""
        ...

    def daily(self, world: str, series: str, start: str | None = None, end: str | None = None) -> list[tuple[str, int]]:
        """(ISO date, volume) rows of one series, oldest first, dates inclusive (NotFound for an unknown series)."""
        ...


@dataclass(frozen=True, slots=True)
class DataQuery:
    """One checked aggregate question over a world's stored data (built by ``tools/query.py``, never by SQL text).

    ``source`` names the rows: ``history`` has one row per series (region) and day, ``orders`` one row per order
    of the world with its state in the stored plan ``plan_id`` (``status``: assigned, unassigned, cancelled or
    not_planned; ``vehicle``: the vehicle of its route, None when on none). ``metric`` (sum, count, mean, max,
    min) of ``column`` (``volume`` or ``demand``; None counts rows) is computed over the rows of each group of
    ``group_by`` (region, date, weekday, month for history; kind, status, priority, vehicle, skill for orders).
    The filters keep rows whose value equals the given one (``series``: any of them; dates inclusive ISO days).
    ``order`` (desc, asc) sorts the groups by their value, None by their group values; ``limit`` keeps the first
    groups after sorting. Every name must be one of those listed: a reader raises InputError for anything else.
    """

    world: str
    source: str
    metric: str
    column: str | None = None
    group_by: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None
    series: tuple[str, ...] = ()
    kind: str | None = None
    priority: str | None = None
    status: str | None = None
    vehicle: str | None = None
    plan_id: int | None = None
    order: str | None = None
    limit: int | None = None
    max_groups: int = 1000


@dataclass(frozen=True, slots=True)
class DataGroup:
    """One group of an answer: its values (one per ``group_by`` name; weekdays as Mon..Sun), rows and metric value.

    ``value`` is exact: a whole number for sum, count, max and min, ``sum / rows`` (unrounded) for mean.
    """

    keys: tuple[str | None, ...]
    rows: int
    value: int | float | None


@dataclass(frozen=True, slots=True)
class DataAnswer:
    """The groups of a :class:`DataQuery` (all rows as one group without ``group_by``) and what the rows covered.

    ``group_count`` counts the groups before ``limit``; ``rows`` and ``total`` (the sum of the column, None when
    counting) are over every matching row; ``first_date``, ``last_date`` and ``days`` (distinct days) describe the
    history rows matched (None, None, 0 for orders or when nothing matched).
    """

    groups: tuple[DataGroup, ...]
    group_count: int
    rows: int
    total: int | None
    first_date: str | None
    last_date: str | None
    days: int


class DataReader(Protocol):
    """Read-only aggregate questions over a world's stored data, compiled to parameterised SELECTs (row-limited, timed out)."""

    def aggregate(self, query: DataQuery) -> DataAnswer:
        """The answer to one checked question (NotFound for an unknown world, InputError for a name it does not know)."""
        ...


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A partner's API key as a store keeps it: its public id, owner and scopes, never the key itself."""

    key_id: str
    partner: str
    scopes: frozenset[str]
    created_at: int
    revoked_at: int | None = None
    note: str = ""

    @property
    def active(self) -> bool:
        """False once revoked."""
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class StoredReply:
    """The reply kept for an idempotency key: the request's fingerprint, HTTP status (0: still running) and JSON body."""

    fingerprint: str
    status: int
    body: str


class PartnerStore(Protocol):
    """Partner API keys (hashes only) and the replies kept for idempotent writes. Every method is one transaction."""

    def add_api_key(self, key: ApiKey, key_hash: str) -> None:
        """Store a new key under its hash (InputError when the id or hash exists)."""
        ...

    def api_key_by_hash(self, key_hash: str) -> ApiKey | None:
        """The key with this hash, revoked or not (None when unknown)."""
        ...

    def api_keys(self, partner: str | None = None) -> list[ApiKey]:
        """Every key (of one partner), oldest first."""
        ...

    def revoke_api_key(self, key_id: str) -> ApiKey:
        """Revoke a key (NotFound when unknown; revoking twice keeps the first time)."""
        ...

    def reserve_reply(self, partner: str, key: str, fingerprint: str, *, max_age_s: int, lease_s: int) -> StoredReply | None:
        """Claim an idempotency key for a request: None when it is now claimed for this caller, else the reply kept
        for it (status 0: the first request is still running). Replies older than ``max_age_s`` are forgotten; a
        claim not renewed for ``lease_s`` seconds belongs to a request that died and is taken over."""
        ...

    def renew_reply(self, partner: str, key: str, *, lease_s: int) -> None:
        """Extend the lease of a claim whose request is still running."""
        ...

    def finish_reply(self, partner: str, key: str, status: int, body: str) -> None:
        """Keep the reply of a claimed key."""
        ...

    def release_reply(self, partner: str, key: str) -> None:
        """Forget a claim whose request failed without a reply worth keeping."""
        ...
