"""Wiring: the one place that picks concrete implementations for the ports."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from copilot.core.ports import Forecaster, RoutingSolver
from solvers.auto import make_solver
from solvers.checker import PlanChecker
from solvers.pool import PooledSolver
from tools.context import ToolContext
from tools.planning import PlanningDeps, PlanSettings
from tools.sql import SqlStore, default_url
from tools.sql.partners import SqlPartnerStore

DEMO_WORLD = "hangzhou-0501"


def make_store(url: str | None = None) -> SqlStore:
    """The configured store, migrated to the latest schema."""
    store = SqlStore(url or default_url())
    store.upgrade()
    return store


def make_deps(engine: str = "auto", solver: RoutingSolver | None = None) -> PlanningDeps:
    """Planning dependencies: the routing solver (``solver``, e.g. a :func:`make_solver_pool`, or one for ``engine``)
    and the independent checker."""
    return PlanningDeps(solver=solver or make_solver(engine), checker=PlanChecker())


def make_solver_pool(engine: str = "auto", workers: int = 2) -> PooledSolver:
    """A solver that plans in worker processes: what a server uses, so that it keeps answering while it solves."""
    return PooledSolver(engine, workers)


def demo_world_dir() -> Path:
    """The bundled demo world (a copy of the hangzhou-0501 eval world)."""
    return Path(str(resources.files("copilot.apps") / "demo" / DEMO_WORLD))


def make_context(
    store: SqlStore,
    world_name: str,
    *,
    actor: str = "dispatcher",
    engine: str = "auto",
    settings: PlanSettings | None = None,
    forecaster: Forecaster | None = None,
    deps: PlanningDeps | None = None,
) -> ToolContext:
    """A tool context on a stored world with the configured planning dependencies (and forecaster when available).

    ``settings`` replaces the tools' default search settings; ``forecaster`` one made by :func:`make_forecaster`.
    """
    ctx = ToolContext(store=store, planning=deps or make_deps(engine), world_name=world_name, actor=actor, forecaster=forecaster or make_forecaster())
    if settings is not None:
        ctx.settings = settings
    return ctx


def make_partner_store(store: SqlStore) -> SqlPartnerStore:
    """Partner API keys and idempotent replies, kept in the same database as ``store``."""
    return SqlPartnerStore(store)


def make_forecaster(candidates: Sequence[str] | None = None) -> Forecaster:
    """The demand forecaster: statsforecast models chosen per series by a rolling-origin backtest (deterministic)."""
    from solvers.forecast_statsforecast import DEFAULT_CANDIDATES, StatsForecaster

    return StatsForecaster(candidates or DEFAULT_CANDIDATES)
