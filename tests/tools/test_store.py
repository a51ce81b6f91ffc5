"""Contract tests of the SQL store, run on a temporary SQLite file and on a scratch PostgreSQL database."""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import scratch_pg

from copilot.core.domain import (
    Depot,
    HistoryRow,
    Location,
    Order,
    OrderKind,
    Plan,
    PlanStatus,
    Priority,
    Route,
    TimeWindow,
    Unassigned,
    Vehicle,
    Visit,
    World,
)
from copilot.core.errors import ConfigurationError, ImportFailed, InputError, NotFound
from tools.sql import SqlStore, default_url
from tools.sql import rows as sql_rows
from tools.sql.engine import head_revision

T0 = 1_750_000_000  # an epoch second on the operating day
NOW = 1_760_000_000


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: a SQLite file, or a PostgreSQL database made for this test."""
    if request.param == "sqlite":
        yield f"sqlite:///{(tmp_path / 'store.sqlite3').as_posix()}"
        return
    with scratch_pg() as url:
        yield url


@pytest.fixture
def store(db_url: str) -> Iterator[SqlStore]:
    """A migrated store whose clock reads NOW, NOW+1, ..."""
    ticks = itertools.count(NOW)
    s = SqlStore(db_url, actor="tester", now=lambda: next(ticks))
    s.upgrade()
    try:
        yield s
    finally:
        s.close()


def make_world(name: str = "kyiv-day-1") -> World:
    """A tiny but complete world: two depots, three vehicles, a pickup-and-delivery pair, history."""
    d1 = Depot("D1", "Podil station", Location(50.4651, 30.5155), TimeWindow(T0, T0 + 12 * 3600))
    d2 = Depot("D2", "Obolon", Location(50.5012345678901, 30.4987654321), TimeWindow(T0, T0 + 10 * 3600))
    vehicles = (
        Vehicle(
            "V1", "D1", 40, TimeWindow(T0, T0 + 8 * 3600), 30.5, cost_per_km=1.25, skills=frozenset({"fridge", "heavy"}), driver="Оксана"
        ),
        Vehicle(
            "V2",
            "D2",
            10,
            TimeWindow(T0 + 3600, T0 + 9 * 3600),
            25,
            unavailable_from=T0 + 7200,
            max_route_duration_s=6 * 3600,
            fixed_cost=12.5,
        ),
        Vehicle("V3", "D1", 5, TimeWindow(T0, T0 + 4 * 3600), 18.75),
    )
    orders = (
        Order(
            "O1",
            OrderKind.DELIVERY,
            Location(50.45, 30.52),
            3,
            service_s=300,
            windows=(TimeWindow(T0 + 3600, T0 + 7200), TimeWindow(T0 + 10800, T0 + 14400)),
            priority=Priority.HIGH,
            required_skill="fridge",
            customer="Café «Ранок»",
            notes="Дзвонити двічі 🚚 — gate code 42",
        ),
        Order("P1", OrderKind.PICKUP, Location(50.44, 30.50), 2, windows=(TimeWindow(T0, T0 + 3600),), pair_id="Q1"),
        Order("Q1", OrderKind.DELIVERY, Location(50.43, 30.61), 2, service_s=120, pair_id="P1"),
        Order("O2", OrderKind.PICKUP, Location(-33.8688, 151.2093), 0, cancelled=True),
    )
    history = (HistoryRow("2025-06-01", "podil", 120), HistoryRow("2025-06-02", "podil", 0), HistoryRow("2025-06-01", "obolon", 77))
    meta = {"source": "hand-made", "version": 3, "tags": ["test", "ünïcode"], "nested": {"a": None, "b": 1.5, "ok": True}}
    return World(name, "2025-06-15", 3 * 3600, (d1, d2), vehicles, orders, history, city="Київ", meta=meta)


def make_plan(solver: str = "ortools", note: str = "") -> Plan:
    """A plan for :func:`make_world`: two routes (one empty) and one unassigned order."""
    r1 = Route(
        "V1",
        T0,
        T0 + 9000,
        (
            Visit("P1", T0 + 600, T0 + 600, T0 + 600, 2),
            Visit("O1", T0 + 3000, T0 + 3600, T0 + 3900, 2),
            Visit("Q1", T0 + 5000, T0 + 5000, T0 + 5120, 0),
        ),
        distance_m=23_456,
        start_load=3,
    )
    r2 = Route("V3", T0, T0, (), distance_m=0)
    return Plan((r1, r2), (Unassigned("O2", "cancelled by the customer"),), solver=solver, clock=T0 + 60, note=note)


def bypass(obj: object, **changes: object) -> object:
    """Set frozen fields without validation, to build data only the database can reject."""
    for k, v in changes.items():
        object.__setattr__(obj, k, v)
    return obj


# -- worlds --------------------------------------------------------------------------------------


def test_fresh_database_has_head_schema_matching_the_tables(store: SqlStore) -> None:
    assert store.schema_revision() == head_revision()
    assert store.schema_drift() == []
    assert store.world_names() == []
    store.upgrade()  # idempotent
    assert store.schema_revision() == head_revision()


def test_world_round_trip_is_exact(store: SqlStore) -> None:
    world = make_world()
    store.import_world(world)
    loaded = store.load_world(world.name)
    assert loaded == world
    assert loaded.vehicles[0].skills == frozenset({"fridge", "heavy"})
    assert isinstance(loaded.vehicles[0].skills, frozenset)
    assert loaded.orders[0].windows == world.orders[0].windows
    assert loaded.orders[0].notes == "Дзвонити двічі 🚚 — gate code 42"
    assert loaded.orders[0].kind is OrderKind.DELIVERY and loaded.orders[0].priority is Priority.HIGH
    assert loaded.orders[3].cancelled is True
    assert loaded.vehicles[1].unavailable_from == T0 + 7200 and loaded.vehicles[1].max_route_duration_s == 6 * 3600
    assert loaded.vehicles[1].fixed_cost == 12.5
    assert dict(loaded.meta) == world.meta
    assert [o.id for o in loaded.orders] == ["O1", "P1", "Q1", "O2"]
    assert store.world_names() == [world.name]


def test_most_recent_world(store: SqlStore) -> None:
    assert store.most_recent_world() is None
    store.import_world(make_world("a"))
    store.import_world(make_world("b"))
    assert store.most_recent_world() == "b"
    store.set_clock("a", T0)
    assert store.most_recent_world() == "a"
    store.import_world(make_world("b"), replace=True)
    assert store.most_recent_world() == "b"


def test_empty_world_round_trip(store: SqlStore) -> None:
    world = World("empty", "2025-01-01", 0, (), (), ())
    store.import_world(world)
    assert store.load_world("empty") == world


def test_duplicate_name_needs_replace(store: SqlStore) -> None:
    world = make_world()
    store.import_world(world)
    pid = store.save_plan(world.name, make_plan())
    with pytest.raises(InputError, match=r"already stored.*replace=True"):
        store.import_world(world)
    smaller = dataclasses.replace(world, orders=world.orders[1:3], city="Lviv")
    store.import_world(smaller, replace=True)
    assert store.load_world(world.name) == smaller
    assert store.plans(world.name) == []  # plans of the replaced world go with it
    with pytest.raises(NotFound):
        store.get_plan(pid)


def test_import_rejected_by_a_database_constraint_changes_nothing(store: SqlStore) -> None:
    world = make_world()
    store.import_world(world)
    audit_before = store.audit(world.name)
    bad_last = bypass(dataclasses.replace(world.orders[-1]), demand=-5)
    bad = bypass(dataclasses.replace(world, city="broken"), orders=(*world.orders[:-1], bad_last))
    with pytest.raises(ImportFailed, match="nothing was changed"):
        store.import_world(bad, replace=True)  # type: ignore[arg-type]
    assert store.load_world(world.name) == world
    assert store.audit(world.name) == audit_before
    # a new name: no trace of the failed world either
    duplicate = bypass(dataclasses.replace(world, name="other"), orders=(*world.orders, world.orders[0]))
    with pytest.raises(ImportFailed):
        store.import_world(duplicate)  # type: ignore[arg-type]
    assert store.world_names() == [world.name]


def test_import_failing_midway_changes_nothing(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    world = make_world()
    store.import_world(world)
    replacement = dataclasses.replace(world, city="Odesa")
    real = sql_rows.order_row

    def failing(world_id: int, position: int, o: Order) -> dict[str, object]:
        if o.id == replacement.orders[-1].id:
            raise RuntimeError("disk on fire")
        return real(world_id, position, o)

    monkeypatch.setattr(sql_rows, "order_row", failing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        store.import_world(replacement, replace=True)
    assert store.load_world(world.name) == world
    assert [a.action for a in store.audit(world.name)] == ["import_world"]


def test_meta_must_be_json(store: SqlStore) -> None:
    world = dataclasses.replace(make_world(), meta={"when": object()})
    with pytest.raises(ImportFailed, match="meta"):
        store.import_world(world)
    assert store.world_names() == []


def test_clock_set_and_clear(store: SqlStore) -> None:
    store.import_world(make_world())
    assert store.clock("kyiv-day-1") is None
    store.set_clock("kyiv-day-1", T0 + 5400)
    assert store.clock("kyiv-day-1") == T0 + 5400
    store.set_clock("kyiv-day-1", None)
    assert store.clock("kyiv-day-1") is None
    with pytest.raises(InputError):
        store.set_clock("kyiv-day-1", 12.5)  # type: ignore[arg-type]


def test_update_vehicle_and_order_persist(store: SqlStore) -> None:
    world = make_world()
    store.import_world(world)
    broken = dataclasses.replace(world.vehicles[0], unavailable_from=T0 + 100, skills=frozenset({"fridge"}), driver="Петро")
    store.update_vehicle(world.name, broken)
    order = dataclasses.replace(
        world.orders[1], windows=(TimeWindow(T0 + 60, T0 + 120), TimeWindow(T0 + 500, T0 + 900)), notes="moved", cancelled=True
    )
    store.update_order(world.name, order)
    loaded = store.load_world(world.name)
    assert loaded.vehicle("V1") == broken
    assert loaded.order("P1") == order
    assert loaded == dataclasses.replace(
        world,
        vehicles=(broken, *world.vehicles[1:]),
        orders=(world.orders[0], order, *world.orders[2:]),
    )


def test_invalid_updates_change_nothing(store: SqlStore) -> None:
    world = make_world()
    store.import_world(world)
    no_fridge = dataclasses.replace(world.vehicles[0], skills=frozenset())
    with pytest.raises(InputError, match="fridge"):
        store.update_vehicle(world.name, no_fridge)  # order O1 needs the only fridge
    with pytest.raises(InputError, match="depot"):
        store.update_vehicle(world.name, dataclasses.replace(world.vehicles[0], depot_id="D9"))
    with pytest.raises(InputError, match="pair"):
        store.update_order(world.name, dataclasses.replace(world.orders[1], pair_id="O1"))
    assert store.load_world(world.name) == world


def test_add_order(store: SqlStore) -> None:
    world = make_world()
    store.import_world(world)
    new = Order("N1", OrderKind.DELIVERY, Location(50.4, 30.4), 1, windows=(TimeWindow(T0, T0 + 60),), notes="нове")
    store.add_order(world.name, new)
    assert store.load_world(world.name).orders == (*world.orders, new)
    with pytest.raises(InputError, match="already exists"):
        store.add_order(world.name, new)
    pick = Order("P2", OrderKind.PICKUP, Location(50.41, 30.41), 1, pair_id="D2")
    drop = Order("D2", OrderKind.DELIVERY, Location(50.42, 30.42), 1, pair_id="P2")
    with pytest.raises(InputError, match="paired"):
        store.add_order(world.name, pick)  # half a pair is not a valid world
    store.add_orders(world.name, [pick, drop])
    assert [o.id for o in store.load_world(world.name).orders] == ["O1", "P1", "Q1", "O2", "N1", "P2", "D2"]


# -- plans ---------------------------------------------------------------------------------------


def test_plan_round_trip(store: SqlStore) -> None:
    store.import_world(make_world())
    plan = make_plan(note="first try")
    pid = store.save_plan("kyiv-day-1", plan)
    stored = store.get_plan(pid)
    assert stored.id == pid and stored.world == "kyiv-day-1" and stored.status is PlanStatus.DRAFT
    assert stored.created_at >= NOW and stored.note == "first try"
    assert stored.plan == dataclasses.replace(plan, id=pid, status=PlanStatus.DRAFT, created_at=stored.created_at)
    assert stored.plan.routes[1].visits == ()
    kept = store.get_plan(store.save_plan("kyiv-day-1", dataclasses.replace(plan, created_at=T0, id=77), note="override"))
    assert kept.created_at == T0 and kept.note == "override" and kept.plan.note == "override" and kept.id != 77


def test_plan_life_cycle_keeps_exactly_one_committed(store: SqlStore) -> None:
    store.import_world(make_world())
    w = "kyiv-day-1"
    assert store.committed_plan(w) is None
    p1 = store.save_plan(w, make_plan("a"))
    p2 = store.save_plan(w, make_plan("b"))
    store.commit_plan(w, p1, note="morning dispatch")
    committed = store.committed_plan(w)
    assert committed is not None and committed.id == p1 and committed.note == "morning dispatch"
    assert committed.plan.status is PlanStatus.COMMITTED and committed.plan.id == p1
    store.commit_plan(w, p2)
    statuses = {p.id: p.status for p in store.plans(w)}
    assert statuses == {p1: PlanStatus.SUPERSEDED, p2: PlanStatus.COMMITTED}
    store.commit_plan(w, p2)  # again: no change
    with pytest.raises(InputError, match="superseded"):
        store.commit_plan(w, p1)
    p3 = store.save_plan(w, make_plan("c"))
    store.discard_plan(p3)
    store.discard_plan(p3)  # again: no change
    with pytest.raises(InputError, match="discarded"):
        store.commit_plan(w, p3)
    with pytest.raises(InputError, match="only draft"):
        store.discard_plan(p2)
    p4 = store.save_plan(w, make_plan("d"), status=PlanStatus.COMMITTED)
    listed = store.plans(w)
    assert [p.id for p in listed] == [p1, p2, p3, p4]
    assert [p.status for p in listed] == [PlanStatus.SUPERSEDED, PlanStatus.SUPERSEDED, PlanStatus.DISCARDED, PlanStatus.COMMITTED]
    assert [p.plan.solver for p in listed] == ["a", "b", "c", "d"]
    assert sum(p.status is PlanStatus.COMMITTED for p in listed) == 1


def test_commit_is_one_transaction(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.import_world(make_world())
    w = "kyiv-day-1"
    p1 = store.save_plan(w, make_plan("a"))
    store.commit_plan(w, p1)
    p2 = store.save_plan(w, make_plan("b"))
    audit_before = store.audit(w)

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("power cut after both updates")

    monkeypatch.setattr(store, "_audit", crash)  # the last step of commit_plan
    with pytest.raises(RuntimeError, match="power cut"):
        store.commit_plan(w, p2)
    monkeypatch.undo()
    assert store.get_plan(p1).status is PlanStatus.COMMITTED
    assert store.get_plan(p2).status is PlanStatus.DRAFT
    assert store.audit(w) == audit_before


def test_plans_are_per_world(store: SqlStore) -> None:
    store.import_world(make_world("a"))
    store.import_world(make_world("b"))
    pa = store.save_plan("a", make_plan(), status=PlanStatus.COMMITTED)
    pb = store.save_plan("b", make_plan(), status=PlanStatus.COMMITTED)
    assert store.committed_plan("a").id == pa  # type: ignore[union-attr]
    assert store.committed_plan("b").id == pb  # type: ignore[union-attr]
    assert [p.id for p in store.plans("a")] == [pa]
    with pytest.raises(InputError, match="another world"):
        store.commit_plan("a", pb)


def test_unknown_ids_raise_not_found(store: SqlStore) -> None:
    world = make_world()
    store.import_world(world)
    w = world.name
    ghost = Vehicle("V9", "D1", 1, TimeWindow(T0, T0 + 1), 10)
    calls: list[Callable[[], object]] = [
        lambda: store.load_world("nowhere"),
        lambda: store.plans("nowhere"),
        lambda: store.committed_plan("nowhere"),
        lambda: store.clock("nowhere"),
        lambda: store.set_clock("nowhere", T0),
        lambda: store.audit("nowhere"),
        lambda: store.save_plan("nowhere", make_plan()),
        lambda: store.get_plan(999_999),
        lambda: store.commit_plan(w, 999_999),
        lambda: store.discard_plan(999_999),
        lambda: store.update_vehicle(w, ghost),
        lambda: store.update_order(w, dataclasses.replace(world.orders[3], id="O9")),
        lambda: store.save_plan(w, Plan((Route("V9", T0, T0, (), 0),))),
        lambda: store.save_plan(w, Plan((), (Unassigned("O9", "?"),))),
    ]
    for call in calls:
        with pytest.raises(NotFound) as info:
            call()
        assert isinstance(info.value, KeyError) and isinstance(info.value, InputError)
    with pytest.raises(NotFound, match="kyiv-day-1"):  # the message lists known worlds
        store.load_world("nowhere")


def test_audit_trail(store: SqlStore) -> None:
    world = make_world()
    store.import_world(world)
    store.set_clock(world.name, T0)
    store.update_vehicle(world.name, dataclasses.replace(world.vehicles[2], unavailable_from=T0 + 1), actor="dispatcher:anna")
    store.update_order(world.name, dataclasses.replace(world.orders[0], priority=Priority.NORMAL))
    store.add_order(world.name, Order("N1", OrderKind.PICKUP, Location(1, 2), 1))
    p1 = store.save_plan(world.name, make_plan())
    store.commit_plan(world.name, p1)
    p2 = store.save_plan(world.name, make_plan())
    store.discard_plan(p2)
    store.import_world(world, replace=True)
    trail = store.audit(world.name)
    assert [a.action for a in trail] == [
        "import_world",
        "set_clock",
        "update_vehicle",
        "update_order",
        "add_order",
        "save_plan",
        "commit_plan",
        "save_plan",
        "discard_plan",
        "replace_world",
    ]
    assert all(a.world == world.name for a in trail)
    assert [a.id for a in trail] == sorted(a.id for a in trail)
    assert all(isinstance(a.at, int) and a.at >= NOW for a in trail)
    assert [a.actor for a in trail].count("dispatcher:anna") == 1 and trail[2].actor == "dispatcher:anna"
    assert trail[0].actor == "tester"
    assert "unavailable_from: None -> " in trail[2].detail
    assert "priority" in trail[3].detail
    assert f"plan {p1} committed" in trail[6].detail


# -- configuration -------------------------------------------------------------------------------


def test_store_before_upgrade_says_to_upgrade(tmp_path: Path) -> None:
    with SqlStore(f"sqlite:///{(tmp_path / 'blank.sqlite3').as_posix()}") as blank:
        assert blank.schema_revision() is None
        with pytest.raises(ConfigurationError, match="upgrade"):
            blank.world_names()


def test_unreachable_database_is_a_configuration_error(tmp_path: Path) -> None:
    with SqlStore(f"sqlite:///{(tmp_path / 'missing' / 'dir' / 'x.sqlite3').as_posix()}") as s, pytest.raises(ConfigurationError):
        s.upgrade()
    with pytest.raises(ConfigurationError):
        SqlStore("not a url")


def test_default_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home" / "copilot"
    monkeypatch.delenv("LOGISTICS_COPILOT_DB_URL", raising=False)
    monkeypatch.setenv("LOGISTICS_COPILOT_HOME", str(home))
    url = default_url()
    assert url == f"sqlite:///{(home / 'copilot.sqlite3').as_posix()}"
    assert home.is_dir()
    with SqlStore(url) as s:
        s.upgrade()
        assert s.world_names() == []
    assert (home / "copilot.sqlite3").is_file()
    monkeypatch.setenv("LOGISTICS_COPILOT_DB_URL", "postgresql+psycopg://someone@db.example/copilot")
    assert default_url() == "postgresql+psycopg://someone@db.example/copilot"
    monkeypatch.delenv("LOGISTICS_COPILOT_DB_URL")
    monkeypatch.delenv("LOGISTICS_COPILOT_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert default_url().endswith("/logistics-copilot/copilot.sqlite3")


def test_concurrent_commits_leave_one_committed_plan(store: SqlStore) -> None:
    store.import_world(make_world())
    errors: list[BaseException] = []

    def dispatcher(n: int) -> None:
        try:
            for i in range(4):
                pid = store.save_plan("kyiv-day-1", make_plan(f"t{n}-{i}"))
                store.commit_plan("kyiv-day-1", pid)
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=dispatcher, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    listed = store.plans("kyiv-day-1")
    assert len(listed) == 16
    assert [p.status for p in listed].count(PlanStatus.COMMITTED) == 1
    assert store.committed_plan("kyiv-day-1") is not None
