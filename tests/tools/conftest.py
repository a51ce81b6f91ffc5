"""Shared fixtures for the tool tests: a store with hangzhou-0501 imported and a committed day plan."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from copilot.domain import Plan, PlanStatus, World
from solvers.auto import AutoSolver
from solvers.checker import PlanChecker
from tools.context import ToolContext
from tools.planning import PlanningDeps, PlanSettings, plan_world
from tools.sql import SqlStore
from tools.world_io import read_world

DATA = Path(__file__).resolve().parents[1] / "data"
HZ = "hangzhou-0501"


@pytest.fixture(scope="session")
def hz_world() -> World:
    """The hangzhou-0501 world as imported."""
    return read_world(DATA / "worlds" / HZ)


@pytest.fixture(scope="session")
def hz_day_plan(hz_world: World) -> Plan:
    """A day plan of hangzhou-0501 (2 s search), made once per session."""
    return plan_world(hz_world, PlanningDeps(AutoSolver(), PlanChecker()), PlanSettings(time_limit_s=2.0))


@pytest.fixture
def hz_ctx(tmp_path: Path, hz_world: World, hz_day_plan: Plan) -> Iterator[ToolContext]:
    """A fresh SQLite store with hangzhou-0501 and its day plan committed, wrapped in a tool context."""
    store = SqlStore(f"sqlite:///{tmp_path / 'tools.sqlite3'}")
    store.upgrade()
    store.import_world(hz_world)
    plan_id = store.save_plan(HZ, hz_day_plan, PlanStatus.DRAFT)
    store.commit_plan(HZ, plan_id)
    ctx = ToolContext(store=store, planning=PlanningDeps(AutoSolver(), PlanChecker()), world_name=HZ, settings=PlanSettings(time_limit_s=1.0))
    try:
        yield ctx
    finally:
        store.close()
