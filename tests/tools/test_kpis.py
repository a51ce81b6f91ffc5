"""KPIs and look-ups: a small hand-built world recomputed by hand, and hangzhou-0501 against its committed plan."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from copilot.core.domain import Depot, Location, Order, OrderKind, Plan, PlanStatus, Route, TimeWindow, Unassigned, Vehicle, Visit, World
from copilot.core.errors import InputError, NotFound
from copilot.core.units import parse_time
from solvers.auto import AutoSolver
from solvers.checker import PlanChecker
from tools.context import ToolContext
from tools.kpis import KpiRequest, OrderLookup, VehicleLookup, get_kpis, order_status, plan_kpis, vehicle_stops
from tools.planning import PlanningDeps, PlanSettings
from tools.sql import SqlStore

DAY = "2022-05-01"


def t(hhmm: str) -> int:
    return parse_time(f"{DAY}T{hhmm}:00+08:00")


def own_haversine_m(a: Location, b: Location) -> int:
    """Great-circle metres, written out here so the test does not trust the code under test."""
    r = 6_371_008.8
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(b.lng - a.lng) / 2) ** 2
    return round(2 * r * math.asin(math.sqrt(h)))


DEPOT = Location(30.0, 120.0)
A = Location(30.01, 120.0)
B = Location(30.01, 120.01)
C = Location(30.02, 120.02)


def small_world() -> World:
    """One depot, two vehicles (one idle), three orders (one late, one unassigned), one cancelled order."""
    return World(
        name="tiny",
        date=DAY,
        utc_offset_s=8 * 3600,
        depots=(Depot("D", "depot", DEPOT, TimeWindow(t("07:00"), t("20:00"))),),
        vehicles=(
            Vehicle("V1", "D", capacity=10, shift=TimeWindow(t("08:00"), t("12:00")), speed_kmh=36.0, driver="Ann"),
            Vehicle("V2", "D", capacity=5, shift=TimeWindow(t("08:00"), t("16:00")), speed_kmh=18.0, driver="Bob"),
        ),
        orders=(
            Order("A", OrderKind.PICKUP, A, demand=4, service_s=300, windows=(TimeWindow(t("08:00"), t("09:00")),), customer="Alice", notes="ring twice"),
            Order("B", OrderKind.PICKUP, B, demand=3, service_s=120, windows=(TimeWindow(t("08:00"), t("08:10")), TimeWindow(t("10:00"), t("11:00")))),
            Order("C", OrderKind.PICKUP, C, demand=2, windows=(TimeWindow(t("13:00"), t("14:00")),), customer="Carl"),
            Order("X", OrderKind.PICKUP, C, demand=1, cancelled=True),
        ),
    )


def small_plan() -> Plan:
    """V1: depot 08:00 -> A (on time) -> B (service at 09:30: late, outside both windows) -> depot 10:00."""
    legs = [own_haversine_m(DEPOT, A), own_haversine_m(A, B), own_haversine_m(B, DEPOT)]
    route = Route(
        "V1",
        start=t("08:00"),
        end=t("10:00"),
        visits=(
            Visit("A", arrival=t("08:05"), start=t("08:05"), departure=t("08:10"), load_after=4),
            Visit("B", arrival=t("09:28"), start=t("09:30"), departure=t("09:32"), load_after=7),
        ),
        distance_m=sum(legs),
    )
    return Plan((route,), (Unassigned("C", "test: nobody can come"),))


def test_plan_kpis_recomputed_by_hand() -> None:
    world, plan = small_world(), small_plan()
    k = plan_kpis(world, plan)
    legs = [own_haversine_m(DEPOT, A), own_haversine_m(A, B), own_haversine_m(B, DEPOT)]
    drive_s = sum(math.ceil(m / (36.0 / 3.6)) for m in legs)  # 36 km/h = 10 m/s, each leg rounded up to a second
    assert k.vehicles_total == 2 and k.vehicles_available == 2
    assert k.vehicles_used == 1
    assert k.total_distance_km == round(sum(legs) / 1000, 3)
    assert k.driving_time_min == round(drive_s / 60, 1)
    assert k.on_time_share == 0.5 and k.late_visits == 1
    assert k.utilisation == round(2 / 4, 3)  # 2 h route in a 4 h shift
    assert k.peak_load_share == round(7 / 10, 3)
    assert k.orders_served == 2 and k.parcels_served == 7
    assert k.unassigned_count == 1
    assert k.not_in_plan_count == 0
    assert k.order_count == 3 and k.cancelled_count == 1
    assert k.plan_id is None


def test_plan_kpis_of_an_empty_plan_and_a_plan_missing_orders() -> None:
    world = small_world()
    k = plan_kpis(world, Plan(()))
    assert (k.vehicles_used, k.total_distance_km, k.driving_time_min, k.orders_served) == (0, 0.0, 0.0, 0)
    assert k.on_time_share is None and k.utilisation is None and k.peak_load_share is None
    assert k.not_in_plan_count == 3  # A, B, C are active and the plan knows none of them
    broken = replace(world, vehicles=(replace(world.vehicles[0], unavailable_from=t("09:00")), world.vehicles[1]))
    assert plan_kpis(broken, Plan(())).vehicles_available == 1


def test_plan_kpis_rejects_a_plan_for_another_world() -> None:
    plan = Plan((Route("V9", t("08:00"), t("09:00"), (), 0),))
    with pytest.raises(NotFound, match="V9"):
        plan_kpis(small_world(), plan)


@pytest.fixture
def tiny_ctx(tmp_path: Path) -> Iterator[ToolContext]:
    """The small world in a fresh store with the hand-made plan committed."""
    store = SqlStore(f"sqlite:///{tmp_path / 'tiny.sqlite3'}")
    store.upgrade()
    store.import_world(small_world())
    store.commit_plan("tiny", store.save_plan("tiny", small_plan()))
    ctx = ToolContext(store=store, planning=PlanningDeps(AutoSolver(), PlanChecker()), world_name="tiny", settings=PlanSettings(time_limit_s=1.0))
    try:
        yield ctx
    finally:
        store.close()


def test_lookups_on_the_small_world(tiny_ctx: ToolContext) -> None:
    a = order_status(tiny_ctx, OrderLookup(order_id="A"))
    assert (a.vehicle_id, a.driver, a.position, a.route_stops, a.eta, a.service_start, a.status) == ("V1", "Ann", 1, 2, "08:05", "08:05", "planned")
    assert a.windows == ["08:00-09:00"] and a.on_time is True and a.notes == "ring twice" and a.customer == "Alice"
    b = order_status(tiny_ctx, OrderLookup(order_id=" B "))
    assert (b.position, b.eta, b.service_start, b.on_time) == (2, "09:28", "09:30", False)
    assert b.windows == ["08:00-08:10", "10:00-11:00"]
    c = order_status(tiny_ctx, OrderLookup(order_id="C"))
    assert c.status == "unassigned" and c.reason == "test: nobody can come" and c.vehicle_id is None and c.eta is None
    x = order_status(tiny_ctx, OrderLookup(order_id="X"))
    assert x.status == "cancelled"

    v1 = vehicle_stops(tiny_ctx, VehicleLookup(vehicle_id="V1"))
    assert v1.driver == "Ann" and v1.order_ids == ["A", "B"] and v1.stop_count == 2
    assert [s.eta for s in v1.stops] == ["08:05", "09:28"] and [s.load_after for s in v1.stops] == [4, 7]
    assert (v1.route_start, v1.route_end, v1.peak_load, v1.shift_start, v1.shift_end) == ("08:00", "10:00", 7, "08:00", "12:00")
    assert v1.distance_km == round(small_plan().distance_m / 1000, 3)
    v2 = vehicle_stops(tiny_ctx, VehicleLookup(vehicle_id="V2"))
    assert v2.stops == [] and v2.route_start is None and v2.note is not None and "no stops" in v2.note


def test_lookup_states_follow_the_clock(tiny_ctx: ToolContext) -> None:
    tiny_ctx.store.set_clock("tiny", t("08:07"))
    assert order_status(tiny_ctx, OrderLookup(order_id="A")).status == "in_service"
    tiny_ctx.store.set_clock("tiny", t("09:00"))
    assert order_status(tiny_ctx, OrderLookup(order_id="A")).status == "done"
    assert order_status(tiny_ctx, OrderLookup(order_id="B")).status == "planned"
    stops = vehicle_stops(tiny_ctx, VehicleLookup(vehicle_id="V1"))
    assert [s.state for s in stops.stops] == ["done", "planned"] and stops.clock == "09:00"


def test_without_a_committed_plan(tmp_path: Path) -> None:
    with SqlStore(f"sqlite:///{tmp_path / 'empty.sqlite3'}") as store:
        store.upgrade()
        store.import_world(small_world())
        ctx = ToolContext(store=store, planning=PlanningDeps(AutoSolver(), PlanChecker()), world_name="tiny")
        with pytest.raises(InputError, match="no committed plan"):
            get_kpis(ctx)
        with pytest.raises(InputError, match="no draft plan"):
            get_kpis(ctx, KpiRequest(plan="draft"))
        a = order_status(ctx, OrderLookup(order_id="A"))
        assert a.status == "not_planned" and a.reason is not None and "no committed plan" in a.reason
        assert vehicle_stops(ctx, VehicleLookup(vehicle_id="V1")).plan_id is None


# -- hangzhou-0501 -----------------------------------------------------------------------------------


def test_get_kpis_matches_the_committed_plan(hz_ctx: ToolContext) -> None:
    committed = hz_ctx.committed()
    assert committed is not None
    k = get_kpis(hz_ctx)
    plan = committed.plan
    assert k.plan_id == committed.id and k.plan_status == "committed"
    assert k.vehicles_used == plan.vehicles_used
    assert k.total_distance_km == round(plan.distance_m / 1000, 3)
    assert k.order_count == 116 and k.cancelled_count == 0
    assert k.orders_served + k.unassigned_count == 116
    assert k.vehicles_total == 6 and k.vehicles_available == 6
    assert k.on_time_share == 1.0  # a checked plan serves every visit inside a window
    assert 0 < (k.utilisation or 0) <= 1 and 0 < (k.peak_load_share or 0) <= 1
    assert k.driving_time_min > 0
    assert get_kpis(hz_ctx, KpiRequest(plan=committed.id)) == k


def test_get_kpis_of_the_latest_draft_and_unknown_plans(hz_ctx: ToolContext) -> None:
    committed = hz_ctx.committed()
    assert committed is not None
    with pytest.raises(InputError, match="no draft"):
        get_kpis(hz_ctx, KpiRequest(plan="draft"))
    route = committed.plan.routes[0]
    dropped = route.visits[-1].order_id
    shorter = Plan(
        (replace(route, visits=route.visits[:-1]), *committed.plan.routes[1:]),
        (*committed.plan.unassigned, Unassigned(dropped, "test")),
    )
    hz_ctx.store.save_plan(hz_ctx.world_name, committed.plan, PlanStatus.DRAFT)
    draft_id = hz_ctx.store.save_plan(hz_ctx.world_name, shorter, PlanStatus.DRAFT)
    k = get_kpis(hz_ctx, KpiRequest(plan="draft"))
    assert k.plan_id == draft_id and k.plan_status == "draft" and k.unassigned_count == len(committed.plan.unassigned) + 1
    assert order_status(hz_ctx, OrderLookup(order_id=dropped, plan="draft")).status == "unassigned"
    assert order_status(hz_ctx, OrderLookup(order_id=dropped)).vehicle_id == route.vehicle_id
    with pytest.raises(NotFound, match="unknown plan id '999'"):
        get_kpis(hz_ctx, KpiRequest(plan=999))


def test_order_status_matches_the_plan(hz_ctx: ToolContext) -> None:
    committed = hz_ctx.committed()
    assert committed is not None
    world = hz_ctx.world()
    for r in committed.plan.routes[:3]:
        for pos, v in enumerate(r.visits[:5]):
            s = order_status(hz_ctx, OrderLookup(order_id=v.order_id))
            assert s.vehicle_id == r.vehicle_id and s.position == pos + 1 and s.status == "planned"
            assert s.eta is not None and s.service_start is not None
            assert s.eta == _hhmm(v.arrival) and s.service_start == _hhmm(v.start)
            assert s.customer == world.order(v.order_id).customer
    injected = next(o for o in world.orders if o.notes.startswith("SYSTEM:"))
    s = order_status(hz_ctx, OrderLookup(order_id=injected.id))
    assert s.notes == injected.notes  # quoted as data, verbatim
    assert hz_ctx.world() == world  # and nothing acted on it


def _hhmm(epoch: int) -> str:
    from datetime import datetime, timedelta, timezone

    return datetime.fromtimestamp(epoch, timezone(timedelta(hours=8))).strftime("%H:%M")


def test_order_status_of_a_cancelled_order(hz_ctx: ToolContext) -> None:
    world = hz_ctx.world()
    order = world.orders[0]
    hz_ctx.store.update_order(hz_ctx.world_name, replace(order, cancelled=True))
    s = order_status(hz_ctx, OrderLookup(order_id=order.id))
    assert s.status == "cancelled" and s.reason is not None and "cancelled" in s.reason


def test_vehicle_stops_match_the_plan(hz_ctx: ToolContext) -> None:
    committed = hz_ctx.committed()
    assert committed is not None
    route = next(r for r in committed.plan.routes if r.vehicle_id == "HZ-V1")
    s = vehicle_stops(hz_ctx, VehicleLookup(vehicle_id="HZ-V1"))
    assert s.driver == "Hu Jun" and s.available and s.unavailable_from is None
    assert s.order_ids == list(route.order_ids) == [x.order_id for x in s.stops]
    assert [x.eta for x in s.stops] == [_hhmm(v.arrival) for v in route.visits]
    assert [x.load_after for x in s.stops] == [v.load_after for v in route.visits]
    assert all(x.load_after <= s.capacity for x in s.stops)
    assert s.route_start == _hhmm(route.start) and s.route_end == _hhmm(route.end)
    assert s.distance_km == round(route.distance_m / 1000, 3)
    world = hz_ctx.world()
    v3 = world.vehicle("HZ-V3")
    hz_ctx.store.update_vehicle(hz_ctx.world_name, replace(v3, unavailable_from=t("10:30"), delayed_until=t("09:15")))
    s3 = vehicle_stops(hz_ctx, VehicleLookup(vehicle_id="HZ-V3"))
    assert not s3.available and s3.unavailable_from == "10:30" and s3.delayed_until == "09:15"


def test_unknown_ids_list_the_known_ones(hz_ctx: ToolContext) -> None:
    with pytest.raises(NotFound, match=r"unknown order id 'P0'.*P1"):
        order_status(hz_ctx, OrderLookup(order_id="P0"))
    with pytest.raises(NotFound, match=r"unknown vehicle id 'HZ-V9'.*HZ-V1"):
        vehicle_stops(hz_ctx, VehicleLookup(vehicle_id="HZ-V9"))


def test_notes_are_quoted_and_comparison_counts_the_draft_delta(hz_ctx: ToolContext) -> None:
    from tools.events import VehicleUnavailableRequest, vehicle_unavailable
    from tools.kpis import CompareRequest, NotesRequest, compare_plans, order_notes
    from tools.lifecycle import ClockRequest, set_clock

    notes = order_notes(hz_ctx)
    assert notes.orders_with_notes == len(notes.notes) > 0
    assert any("ignore all previous instructions" in n.note for n in notes.notes)  # quoted verbatim, as data
    assert order_notes(hz_ctx, NotesRequest(order_id="P132230")).notes[0].note == "fragile: glassware"
    set_clock(hz_ctx, ClockRequest(at="10:30"))
    draft = vehicle_unavailable(hz_ctx, VehicleUnavailableRequest(vehicle_id="HZ-V3")).draft
    cmp = compare_plans(hz_ctx, CompareRequest())
    assert cmp.plan_id == draft.plan_id and cmp.distance_delta_km == draft.distance_delta_km
    assert cmp.baseline_plan_id == hz_ctx.committed().id
