"""Shared fixtures for the tool tests: a store with hangzhou-0501 imported and a committed day plan."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from copilot.core.domain import Plan, PlanStatus, World
from copilot.core.errors import ConfigurationError
from solvers.auto import AutoSolver
from solvers.checker import PlanChecker
from tools.context import ToolContext
from tools.planning import PlanningDeps, PlanSettings, plan_world
from tools.sql import SqlStore
from tools.sql.testing import scratch_database
from tools.world_io import read_world

PG_ADMIN_URL = os.environ.get("LOGISTICS_COPILOT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def scratch_pg() -> Iterator[str]:
    """A scratch PostgreSQL database, dropped afterwards; skips the test when the server is not reachable
    (and fails it in CI, where the server must be there)."""
    try:
        scratch = scratch_database(PG_ADMIN_URL)
        url = scratch.__enter__()
    except ConfigurationError as e:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL must be reachable in CI: {e}")
        pytest.skip(f"PostgreSQL is not reachable: {e}")
    try:
        yield url
    finally:
        scratch.__exit__(None, None, None)

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
