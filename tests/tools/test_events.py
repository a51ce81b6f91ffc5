"""Plan life cycle and dispatch events on hangzhou-0501: facts recorded, drafts re-planned and checked."""

from __future__ import annotations

import pytest

from copilot.core.domain import PlanStatus
from copilot.core.errors import InfeasibleError, InputError, NotFound
from copilot.core.units import parse_time
from tools.context import PlanSummary, ToolContext
from tools.events import (
    NewOrderRequest,
    OrderRef,
    VehicleDelayRequest,
    VehicleOrderRequest,
    VehicleUnavailableRequest,
    WindowChangeRequest,
    add_order,
    cancel_order,
    change_window,
    move_order,
    pin_order,
    uncancel_order,
    vehicle_delayed,
    vehicle_unavailable,
)
from tools.lifecycle import ClockRequest, PlanRef, approve_plan, audit_trail, discard_draft, plan_day, set_clock

CLOCK = "2022-05-01T10:30:00+08:00"


def _checked_draft(ctx: ToolContext, summary: PlanSummary) -> None:
    stored = ctx.store.get_plan(summary.plan_id)
    assert stored.status is PlanStatus.DRAFT
    assert ctx.planning.checker.check_plan(ctx.world(), stored.plan, ctx.clock()) == []


def _started_before(ctx: ToolContext, clock: int) -> dict[str, tuple[str, int]]:
    committed = ctx.committed()
    assert committed is not None
    return {v.order_id: (r.vehicle_id, v.start) for r in committed.plan.routes for v in r.visits if v.start < clock}


def _assert_history_kept(ctx: ToolContext, draft: PlanSummary, before: dict[str, tuple[str, int]]) -> None:
    plan = ctx.store.get_plan(draft.plan_id).plan
    now = {v.order_id: (r.vehicle_id, v.start) for r in plan.routes for v in r.visits}
    for oid, where in before.items():
        assert now[oid] == where


def test_plan_approve_and_discard_life_cycle(hz_ctx: ToolContext) -> None:
    first = hz_ctx.committed()
    assert first is not None
    draft = plan_day(hz_ctx)
    assert draft.status == "draft" and draft.orders_served == 116
    assert hz_ctx.committed().id == first.id  # type: ignore[union-attr]
    _checked_draft(hz_ctx, draft)
    approved = approve_plan(hz_ctx, PlanRef(plan_id=draft.plan_id))
    assert approved.status == "committed" and hz_ctx.committed().id == draft.plan_id  # type: ignore[union-attr]
    assert hz_ctx.store.get_plan(first.id).status is PlanStatus.SUPERSEDED
    other = plan_day(hz_ctx)
    discarded = discard_draft(hz_ctx)
    assert discarded.plan_id == other.plan_id and hz_ctx.store.get_plan(other.plan_id).status is PlanStatus.DISCARDED
    with pytest.raises(InputError, match="no draft plan"):
        approve_plan(hz_ctx)
    actions = [e.action for e in audit_trail(hz_ctx).entries]
    assert any("commit" in a for a in actions) and any("discard" in a for a in actions)


def test_new_order_is_recorded_and_planned(hz_ctx: ToolContext) -> None:
    res = add_order(hz_ctx, NewOrderRequest(order_id="NEW-1", lat=30.43, lng=120.275, demand=2, tw_start="13:00", tw_end="15:00", notes="ring twice"))
    assert "NEW-1" in res.event
    assert hz_ctx.world().order("NEW-1").notes == "ring twice"
    assert any("NEW-1" in r.stops for r in res.draft.routes)
    _checked_draft(hz_ctx, res.draft)
    with pytest.raises(InputError, match="already exists"):
        add_order(hz_ctx, NewOrderRequest(order_id="NEW-1", lat=30.43, lng=120.275))
    with pytest.raises(InputError, match="both the start and the end"):
        add_order(hz_ctx, NewOrderRequest(lat=30.43, lng=120.275, tw_start="13:00"))
    with pytest.raises(InputError, match="not a time"):
        add_order(hz_ctx, NewOrderRequest(lat=30.43, lng=120.275, tw_start="lunch", tw_end="15:00"))
    with pytest.raises(InputError, match="no vehicle has skill 'crane'"):
        add_order(hz_ctx, NewOrderRequest(lat=30.43, lng=120.275, required_skill="crane"))


def test_cancel_and_restore(hz_ctx: ToolContext) -> None:
    set_clock(hz_ctx, ClockRequest(at=CLOCK))
    clock = parse_time(CLOCK)
    started = _started_before(hz_ctx, clock)
    committed = hz_ctx.committed()
    assert committed is not None
    future = next(v.order_id for r in committed.plan.routes for v in r.visits if v.start >= clock)
    res = cancel_order(hz_ctx, OrderRef(order_id=future))
    assert hz_ctx.world().order(future).cancelled
    assert all(future not in r.stops for r in res.draft.routes)
    _checked_draft(hz_ctx, res.draft)
    _assert_history_kept(hz_ctx, res.draft, started)
    with pytest.raises(InputError, match="started at"):
        cancel_order(hz_ctx, OrderRef(order_id=next(iter(started))))
    back = uncancel_order(hz_ctx, OrderRef(order_id=future))
    assert not hz_ctx.world().order(future).cancelled
    assert any(future in r.stops for r in back.draft.routes)
    with pytest.raises(NotFound, match="unknown order id 'P0'"):
        cancel_order(hz_ctx, OrderRef(order_id="P0"))


def test_breakdown_moves_future_stops_and_keeps_history(hz_ctx: ToolContext) -> None:
    set_clock(hz_ctx, ClockRequest(at="10:30"))
    clock = parse_time(CLOCK)
    started = _started_before(hz_ctx, clock)
    res = vehicle_unavailable(hz_ctx, VehicleUnavailableRequest(vehicle_id="HZ-V3"))
    assert not hz_ctx.world().vehicle("HZ-V3").available
    plan = hz_ctx.store.get_plan(res.draft.plan_id).plan
    assert all(v.start <= clock for r in plan.routes if r.vehicle_id == "HZ-V3" for v in r.visits)
    assert res.draft.stops_moved is not None and res.draft.stops_moved > 0
    _assert_history_kept(hz_ctx, res.draft, started)
    _checked_draft(hz_ctx, res.draft)
    approved = approve_plan(hz_ctx)
    assert approved.status == "committed"


def test_delay_pushes_the_vehicles_new_work(hz_ctx: ToolContext) -> None:
    with pytest.raises(InputError, match="set the clock"):
        vehicle_delayed(hz_ctx, VehicleDelayRequest(vehicle_id="HZ-V1", minutes=30))
    set_clock(hz_ctx, ClockRequest(at=CLOCK))
    clock = parse_time(CLOCK)
    res = vehicle_delayed(hz_ctx, VehicleDelayRequest(vehicle_id="HZ-V1", minutes=45))
    plan = hz_ctx.store.get_plan(res.draft.plan_id).plan
    for r in plan.routes:
        if r.vehicle_id == "HZ-V1":
            assert all(v.start < clock or v.arrival >= clock + 45 * 60 for v in r.visits)
    _checked_draft(hz_ctx, res.draft)


def test_window_change_pin_and_manual_move(hz_ctx: ToolContext) -> None:
    res = change_window(hz_ctx, WindowChangeRequest(order_id="P23511", tw_start="15:00", tw_end="16:00"))
    plan = hz_ctx.store.get_plan(res.draft.plan_id).plan
    visit = next(v for r in plan.routes for v in r.visits if v.order_id == "P23511")
    assert parse_time("2022-05-01T15:00:00+08:00") <= visit.start <= parse_time("2022-05-01T16:00:00+08:00")
    _checked_draft(hz_ctx, res.draft)
    pinned = pin_order(hz_ctx, VehicleOrderRequest(order_id="P26066", vehicle_id="HZ-V6"))
    assert any(r.vehicle_id == "HZ-V6" and "P26066" in r.stops for r in pinned.draft.routes)
    _checked_draft(hz_ctx, pinned.draft)
    moved = move_order(hz_ctx, VehicleOrderRequest(order_id="P132230", vehicle_id="HZ-V5"))
    assert any(r.vehicle_id == "HZ-V5" and "P132230" in r.stops for r in moved.draft.routes)
    assert moved.draft.distance_delta_km is not None
    with pytest.raises(NotFound, match="unknown vehicle id 'HZ-V9'"):
        move_order(hz_ctx, VehicleOrderRequest(order_id="P132230", vehicle_id="HZ-V9"))


def test_a_draft_that_no_longer_fits_is_not_approved(hz_ctx: ToolContext) -> None:
    draft = plan_day(hz_ctx)
    plan = hz_ctx.store.get_plan(draft.plan_id).plan
    oid = plan.routes[0].order_ids[0]
    world = hz_ctx.world()
    order = world.order(oid)
    from dataclasses import replace

    from copilot.core.domain import TimeWindow

    late = TimeWindow(parse_time("2022-05-01T18:50:00+08:00"), parse_time("2022-05-01T18:55:00+08:00"))
    hz_ctx.store.update_order(hz_ctx.world_name, replace(order, windows=(late,)))
    with pytest.raises(InfeasibleError, match="no longer fits"):
        approve_plan(hz_ctx, PlanRef(plan_id=draft.plan_id))


def test_small_world_with_depot_deliveries_survives_every_event(tmp_path: object) -> None:
    """A hand-built world mixing pickups and depot deliveries: each event's draft passes the checker."""
    from pathlib import Path

    from solvers.auto import AutoSolver
    from solvers.checker import PlanChecker
    from tools.planning import PlanningDeps, PlanSettings
    from tools.sql import SqlStore
    from tools.world_io import read_world

    world = read_world(Path(__file__).resolve().parents[1] / "data" / "worlds" / "tiny")
    store = SqlStore(f"sqlite:///{Path(str(tmp_path)) / 'tiny.sqlite3'}")
    store.upgrade()
    store.import_world(world)
    ctx = ToolContext(store=store, planning=PlanningDeps(AutoSolver(), PlanChecker()), world_name=world.name, settings=PlanSettings(time_limit_s=0.5))
    try:
        approve_plan(ctx, PlanRef(plan_id=plan_day(ctx).plan_id))
        set_clock(ctx, ClockRequest(at="10:45"))
        steps = [
            lambda: add_order(ctx, NewOrderRequest(order_id="O6", kind="delivery", lat=30.431, lng=120.271, demand=2, tw_start="13:00", tw_end="16:00")),
            lambda: vehicle_delayed(ctx, VehicleDelayRequest(vehicle_id="V3", minutes=20)),
            lambda: change_window(ctx, WindowChangeRequest(order_id="O4", tw_start="14:30", tw_end="16:30")),
            lambda: pin_order(ctx, VehicleOrderRequest(order_id="O4", vehicle_id="V2")),
            lambda: vehicle_unavailable(ctx, VehicleUnavailableRequest(vehicle_id="V1", from_time="11:00")),
        ]
        for step in steps:
            res = step()
            _checked_draft(ctx, res.draft)
            approve_plan(ctx, PlanRef(plan_id=res.draft.plan_id))
        final = ctx.committed()
        assert final is not None
        served = final.plan.assigned_ids() | {u.order_id for u in final.plan.unassigned}
        assert {o.id for o in ctx.world().active_orders()} <= served
        assert "O4" in final.plan.orders_of_vehicle("V2")
    finally:
        store.close()


def test_unavailable_without_a_clock_means_the_whole_day(hz_ctx: ToolContext) -> None:
    from tools.events import VehicleUnavailableRequest, vehicle_unavailable

    assert hz_ctx.clock() is None
    result = vehicle_unavailable(hz_ctx, VehicleUnavailableRequest(vehicle_id="HZ-V4"))
    assert "the whole day" in result.event and result.vehicle_id == "HZ-V4"
    assert all(r.vehicle_id != "HZ-V4" or not r.stops for r in result.draft.routes)
