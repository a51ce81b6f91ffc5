"""Edge cases a dispatcher hits: late clocks, past breakdowns, unapproved facts, route limits, pairs, pins."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from copilot.core.domain import Depot, Location, Order, OrderKind, PlanStatus, TimeWindow, Vehicle, World
from copilot.core.errors import InputError
from copilot.core.units import parse_time
from solvers.auto import AutoSolver
from solvers.checker import PlanChecker
from tools.context import ToolContext
from tools.events import (
    NewOrderRequest,
    OrderRef,
    VehicleOrderRequest,
    VehicleUnavailableRequest,
    add_order,
    cancel_order,
    pin_order,
    vehicle_unavailable,
)
from tools.lifecycle import ClockRequest, PlanRef, approve_plan, discard_draft, plan_day, set_clock
from tools.planning import PlanningDeps, PlanSettings, plan_world
from tools.sql import SqlStore

DAY = "2022-05-01T"
OFF = "+08:00"


def t(hhmm: str) -> int:
    return parse_time(f"{DAY}{hhmm}:00{OFF}")


def _world(orders: tuple[Order, ...], vehicles: tuple[Vehicle, ...] | None = None) -> World:
    depot = Depot("D", "depot", Location(30.43, 120.27), TimeWindow(t("07:00"), t("20:00")))
    fleet = vehicles or (
        Vehicle("V1", "D", 20, TimeWindow(t("08:00"), t("18:00")), 20.0),
        Vehicle("V2", "D", 20, TimeWindow(t("08:00"), t("18:00")), 20.0),
    )
    return World("edges", "2022-05-01", 8 * 3600, (depot,), fleet, orders)


def _order(oid: str, lat: float, start: str | None = None, end: str | None = None, **kw: object) -> Order:
    windows = (TimeWindow(t(start), t(end)),) if start and end else ()
    return Order(oid, kw.pop("kind", OrderKind.PICKUP), Location(lat, 120.27), int(kw.pop("demand", 1)), 120, windows, **kw)  # type: ignore[arg-type]


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[ToolContext]:
    orders = tuple(_order(f"O{i}", 30.43 + 0.005 * i, f"{8 + i:02d}:30", f"{10 + i:02d}:30") for i in range(1, 7))
    store = SqlStore(f"sqlite:///{tmp_path / 'edges.sqlite3'}")
    store.upgrade()
    store.import_world(_world(orders))
    c = ToolContext(store=store, planning=PlanningDeps(AutoSolver(), PlanChecker()), world_name="edges", settings=PlanSettings(time_limit_s=0.5))
    approve_plan(c, PlanRef(plan_id=plan_day(c).plan_id))
    try:
        yield c
    finally:
        store.close()


def _draft_ok(c: ToolContext, plan_id: int) -> None:
    stored = c.store.get_plan(plan_id)
    assert stored.status is PlanStatus.DRAFT
    assert c.planning.checker.check_plan(c.world(), stored.plan, c.clock()) == []


def test_events_late_in_the_day_keep_finished_routes_as_they_were(ctx: ToolContext) -> None:
    set_clock(ctx, ClockRequest(at="17:55"))
    res = add_order(ctx, NewOrderRequest(order_id="LATE", lat=30.44, lng=120.27))
    _draft_ok(ctx, res.draft.plan_id)
    before = ctx.committed()
    assert before is not None
    after = ctx.store.get_plan(res.draft.plan_id).plan
    ends = {r.vehicle_id: r.end for r in before.plan.routes}
    for r in after.routes:
        if r.vehicle_id in ends and "LATE" not in r.order_ids:
            assert r.end == ends[r.vehicle_id]


def test_breakdown_reported_after_the_fact(ctx: ToolContext) -> None:
    set_clock(ctx, ClockRequest(at="11:30"))
    res = vehicle_unavailable(ctx, VehicleUnavailableRequest(vehicle_id="V1", from_time="10:00"))
    _draft_ok(ctx, res.draft.plan_id)
    plan = ctx.store.get_plan(res.draft.plan_id).plan
    assert all(v.start < t("10:00") for r in plan.routes if r.vehicle_id == "V1" for v in r.visits)


def test_facts_left_unapproved_do_not_break_later_replans(ctx: ToolContext) -> None:
    committed = ctx.committed()
    assert committed is not None
    first = min((v for r in committed.plan.routes for v in r.visits), key=lambda v: v.start)
    cancel_order(ctx, OrderRef(order_id=first.order_id))
    discard_draft(ctx)
    set_clock(ctx, ClockRequest(at="16:00"))  # the driver did visit it: the cancellation came too late
    res = add_order(ctx, NewOrderRequest(order_id="AFTER", lat=30.44, lng=120.27))
    _draft_ok(ctx, res.draft.plan_id)


def test_maximum_route_duration_delays_departure_instead_of_waiting() -> None:
    v = Vehicle("V1", "D", 20, TimeWindow(t("08:00"), t("18:00")), 20.0, max_route_duration_s=2 * 3600)
    world = _world((_order("A", 30.44), _order("B", 30.45, "12:00", "12:30")), (v,))
    plan = plan_world(world, PlanningDeps(AutoSolver(), PlanChecker()), PlanSettings(time_limit_s=0.5))
    assert plan.unassigned == ()
    route = plan.routes[0]
    assert route.end - route.start <= 2 * 3600
    assert PlanChecker().check_plan(world, plan) == []


def test_cancelling_half_a_pair_cancels_both(tmp_path: Path) -> None:
    pick = _order("P", 30.44, pair_id="D", demand=2)
    drop = _order("D", 30.45, kind=OrderKind.DELIVERY, pair_id="P", demand=2)
    store = SqlStore(f"sqlite:///{tmp_path / 'pair.sqlite3'}")
    store.upgrade()
    store.import_world(_world((pick, drop, _order("X", 30.46))))
    c = ToolContext(store=store, planning=PlanningDeps(AutoSolver(), PlanChecker()), world_name="edges", settings=PlanSettings(time_limit_s=0.5))
    try:
        approve_plan(c, PlanRef(plan_id=plan_day(c).plan_id))
        res = cancel_order(c, OrderRef(order_id="D"))
        assert "paired order P" in res.event
        assert c.world().order("P").cancelled and c.world().order("D").cancelled
        _draft_ok(c, res.draft.plan_id)
    finally:
        store.close()


def test_depot_goods_cannot_be_pinned_to_a_vehicle_on_the_road(ctx: ToolContext) -> None:
    set_clock(ctx, ClockRequest(at="10:00"))
    add = add_order(ctx, NewOrderRequest(order_id="DEL", kind="delivery", lat=30.44, lng=120.27, tw_start="13:00", tw_end="17:00"))
    approve_plan(ctx, PlanRef(plan_id=add.draft.plan_id))
    committed = ctx.committed()
    assert committed is not None
    on_road = [r.vehicle_id for r in committed.plan.routes if r.start < t("10:00") and "DEL" not in r.order_ids]
    if not on_road:
        pytest.skip("no vehicle has left by 10:00 in this plan")
    with pytest.raises(InputError, match="already left the depot"):
        pin_order(ctx, VehicleOrderRequest(order_id="DEL", vehicle_id=on_road[0]))


def test_clock_cannot_go_back_before_the_dispatched_plan(ctx: ToolContext) -> None:
    set_clock(ctx, ClockRequest(at="11:00"))
    res = add_order(ctx, NewOrderRequest(order_id="N", lat=30.44, lng=120.27))
    approve_plan(ctx, PlanRef(plan_id=res.draft.plan_id))
    with pytest.raises(InputError, match="cannot go back"):
        set_clock(ctx, ClockRequest(at="09:00"))


def test_planning_the_day_after_setting_the_clock_starts_from_the_clock(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    store.upgrade()
    store.import_world(_world((_order("O1", 30.44, "08:30", "15:00"), _order("O2", 30.45))))
    c = ToolContext(store=store, planning=PlanningDeps(AutoSolver(), PlanChecker()), world_name="edges", settings=PlanSettings(time_limit_s=0.5))
    try:
        set_clock(c, ClockRequest(at="10:30"))
        draft = c.store.get_plan(plan_day(c).plan_id).plan
        assert all(v.start >= t("10:30") for r in draft.routes for v in r.visits)
        assert replace(draft, id=None).unassigned == ()
    finally:
        store.close()
