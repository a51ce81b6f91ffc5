"""Ports: the one-method protocols behind which every replaceable part sits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from copilot.domain import Order, Plan, PlanStatus, Vehicle, World
from copilot.routing import RoutingProblem, Solution, SolveOptions


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

    def update_vehicle(self, world: str, vehicle: Vehicle, *, actor: str | None = None) -> None:
        """Replace a vehicle (same id)."""
        ...

    def update_order(self, world: str, order: Order, *, actor: str | None = None) -> None:
        """Replace an order (same id)."""
        ...

    def add_order(self, world: str, order: Order, *, actor: str | None = None) -> None:
        """Add a new order."""
        ...

    def discard_plan(self, plan_id: int, *, actor: str | None = None) -> None:
        """Discard a draft."""
        ...

    def audit(self, world: str) -> list[AuditEntry]:
        """The world's audit trail, oldest first."""
        ...
