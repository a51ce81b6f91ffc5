"""Wiring: the one place that picks concrete implementations for the ports."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from solvers.auto import make_solver
from solvers.checker import PlanChecker
from tools.planning import PlanningDeps
from tools.sql import SqlStore, default_url

DEMO_WORLD = "hangzhou-0501"


def make_store(url: str | None = None) -> SqlStore:
    """The configured store, migrated to the latest schema."""
    store = SqlStore(url or default_url())
    store.upgrade()
    return store


def make_deps(engine: str = "auto") -> PlanningDeps:
    """Planning dependencies: the routing solver and the independent checker."""
    return PlanningDeps(solver=make_solver(engine), checker=PlanChecker())


def demo_world_dir() -> Path:
    """The bundled demo world (a copy of the hangzhou-0501 eval world)."""
    return Path(str(resources.files("copilot.apps") / "demo" / DEMO_WORLD))
