"""Two doors report facts about one vehicle at the same moment: both facts land (field updates, not whole rows)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import scratch_pg

from solvers.auto import AutoSolver
from solvers.checker import PlanChecker
from tools import events as ev
from tools.context import ToolContext
from tools.planning import PlanningDeps, PlanSettings
from tools.sql import SqlStore
from tools.world_io import read_world

TINY = Path(__file__).resolve().parents[1] / "data" / "worlds" / "tiny"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{(tmp_path / 'race.sqlite3').as_posix()}"
        return
    with scratch_pg() as u:
        yield u


def _setup(url: str) -> str:
    store = SqlStore(url)
    store.upgrade()
    world = read_world(TINY)
    store.import_world(world)
    store.set_clock(world.name, world.vehicles[0].shift.start + 3600)
    store.close()
    return world.name


def test_a_stale_read_does_not_overwrite_a_concurrent_change(url: str) -> None:
    name = _setup(url)
    a, b = SqlStore(url), SqlStore(url)
    try:
        seen = a.load_world(name).vehicle("V1")  # both doors read V1 before either writes
        t = seen.shift.start + 7200
        a.update_vehicle(name, replace(seen, delayed_until=t), base=seen, actor="api")
        b.update_vehicle(name, replace(seen, unavailable_from=t + 600), base=seen, actor="slack")
        now = a.load_world(name).vehicle("V1")
        assert now.delayed_until == t and now.unavailable_from == t + 600
    finally:
        a.close()
        b.close()


def test_two_events_on_one_vehicle_from_two_doors_both_land(url: str) -> None:
    name = _setup(url)
    stores = [SqlStore(url), SqlStore(url)]
    deps = PlanningDeps(AutoSolver(), PlanChecker())
    ctxs = [
        ToolContext(store=s, planning=deps, world_name=name, settings=PlanSettings(time_limit_s=0.3), actor=who)
        for s, who in zip(stores, ("api", "slack"), strict=True)
    ]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def report(i: int) -> None:
        try:
            start.wait()
            if i == 0:
                ev.vehicle_delayed(ctxs[0], ev.VehicleDelayRequest(vehicle_id="V1", minutes=30))
            else:
                ev.vehicle_unavailable(ctxs[1], ev.VehicleUnavailableRequest(vehicle_id="V1", from_time="15:00"))
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=report, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        v1 = stores[0].load_world(name).vehicle("V1")
        assert v1.delayed_until is not None and v1.unavailable_from is not None
        actors = [r.actor for r in stores[0].audit(name) if r.action.startswith("update_vehicle") or "V1" in r.detail]
        assert {"api", "slack"} <= set(actors)
    finally:
        for s in stores:
            s.close()
