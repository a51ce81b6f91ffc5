"""Edits of orders and vehicles, undo, and the read-only context of a question, on a real SQLite store."""

from __future__ import annotations

import dataclasses

import pytest

from copilot.core.domain import PlanStatus
from copilot.core.errors import InputError, ReadOnlyViolation
from tools import events, lifecycle, order_edits, undo, vehicle_edits
from tools.context import ToolContext, parse_user_time


def _state(ctx: ToolContext) -> tuple[object, list[tuple[int, str]]]:
    return ctx.world(), [(p.id, p.status.value) for p in ctx.store.plans(ctx.world_name)]


def test_a_question_writes_nothing_and_still_gets_the_numbers(hz_ctx: ToolContext) -> None:
    before = _state(hz_ctx)
    ro = hz_ctx.read_only()
    result = events.vehicle_unavailable(ro, events.VehicleUnavailableRequest(vehicle_id="HZ-V2"))
    assert result.draft.plan_id == 0  # never saved
    assert result.draft.vehicles_used <= len(hz_ctx.world().vehicles) - 1
    assert all(r.vehicle_id != "HZ-V2" for r in result.draft.routes)
    with pytest.raises(ReadOnlyViolation):
        ro.store.update_vehicle(hz_ctx.world_name, hz_ctx.world().vehicle("HZ-V2"))
    with pytest.raises(ReadOnlyViolation):
        lifecycle.set_clock(ro, lifecycle.ClockRequest(at="10:00"))
    order_edits.update_order(ro, order_edits.OrderUpdateRequest(order_id=hz_ctx.world().orders[0].id, notes="call first"))
    assert _state(hz_ctx) == before


def test_order_edit_sets_skill_and_the_draft_respects_it(hz_ctx: ToolContext) -> None:
    world = hz_ctx.world()
    skill = sorted({s for v in world.vehicles for s in v.skills})[0]
    target = next(o for o in world.active_orders() if o.required_skill is None)
    result = order_edits.update_order(hz_ctx, order_edits.OrderUpdateRequest(order_id=target.id, required_skill=skill, demand=target.demand + 1))
    assert result.changed == ["demand", "required_skill"]
    stored = hz_ctx.world().order(target.id)
    assert stored.required_skill == skill and stored.demand == target.demand + 1
    assert result.draft is not None
    route = next((r for r in result.draft.routes if target.id in r.stops), None)
    if route is not None:
        assert skill in hz_ctx.world().vehicle(route.vehicle_id).skills
    with pytest.raises(InputError, match="no vehicle has skill"):
        order_edits.update_order(hz_ctx, order_edits.OrderUpdateRequest(order_id=target.id, required_skill="helicopter"))


def test_shift_end_earlier_moves_later_stops_to_others(hz_ctx: ToolContext) -> None:
    world = hz_ctx.world()
    lifecycle.set_clock(hz_ctx, lifecycle.ClockRequest(at="11:00"))
    result = vehicle_edits.update_vehicle(hz_ctx, vehicle_edits.VehicleUpdateRequest(vehicle_id="HZ-V1", shift_end="15:00"))
    assert result.changed == ["shift"]
    end = parse_user_time("15:00", world)
    assert hz_ctx.world().vehicle("HZ-V1").shift.end == end
    stored = hz_ctx.store.get_plan(result.draft.plan_id).plan
    route = next((r for r in stored.routes if r.vehicle_id == "HZ-V1"), None)
    assert route is None or route.end <= end
    with pytest.raises(InputError, match="already"):
        vehicle_edits.update_vehicle(hz_ctx, vehicle_edits.VehicleUpdateRequest(vehicle_id="HZ-V1", shift_end="10:00"))


def test_undo_a_breakdown_restores_the_vehicle_and_discards_its_draft(hz_ctx: ToolContext) -> None:
    committed = hz_ctx.committed()
    assert committed is not None
    broken = events.vehicle_unavailable(hz_ctx, events.VehicleUnavailableRequest(vehicle_id="HZ-V2"))
    assert not hz_ctx.world().vehicle("HZ-V2").available
    result = undo.undo_last(hz_ctx, undo.UndoRequest(vehicle_id="HZ-V2"))
    assert hz_ctx.world().vehicle("HZ-V2").available
    assert result.reverted == ["unavailable_from"] and result.kept == []
    assert result.discarded_drafts == [broken.draft.plan_id] and result.draft is None
    assert hz_ctx.store.get_plan(broken.draft.plan_id).status is PlanStatus.DISCARDED
    assert hz_ctx.committed().id == committed.id  # type: ignore[union-attr]
    assert hz_ctx.store.audit(hz_ctx.world_name)[-2].action == "undo"
    with pytest.raises(InputError, match=r"no recorded change"):
        undo.undo_last(hz_ctx, undo.UndoRequest(vehicle_id="HZ-V2"))


def test_undo_keeps_a_field_changed_since_and_reverses_windows(hz_ctx: ToolContext) -> None:
    oid = hz_ctx.world().active_orders()[3].id
    old = hz_ctx.world().order(oid)
    order_edits.update_order(hz_ctx, order_edits.OrderUpdateRequest(order_id=oid, tw_start="16:00", tw_end="18:00", demand=old.demand + 2))
    changed = hz_ctx.world().order(oid)
    # someone else changes the demand again afterwards (a field update of its own)
    hz_ctx.store.update_order(hz_ctx.world_name, dataclasses.replace(changed, demand=old.demand + 5), base=changed)
    result = undo.undo_last(hz_ctx, undo.UndoRequest(order_id=oid))  # the latest fact on it is the demand +5 change
    assert result.reverted == ["demand"]
    assert hz_ctx.world().order(oid).demand == old.demand + 2
    result = undo.undo_last(hz_ctx, undo.UndoRequest(order_id=oid))
    now = hz_ctx.world().order(oid)
    assert now.windows == old.windows and now.demand == old.demand
    assert set(result.reverted) == {"demand", "windows"}


def test_undo_a_new_order_cancels_it(hz_ctx: ToolContext) -> None:
    o = hz_ctx.world().active_orders()[0]
    events.add_order(hz_ctx, events.NewOrderRequest(order_id="NEW1", lat=o.location.lat, lng=o.location.lng))
    undo.undo_last(hz_ctx, undo.UndoRequest())
    assert hz_ctx.world().order("NEW1").cancelled


def test_back_in_service_clears_a_delay(hz_ctx: ToolContext) -> None:
    lifecycle.set_clock(hz_ctx, lifecycle.ClockRequest(at="10:00"))
    events.vehicle_delayed(hz_ctx, events.VehicleDelayRequest(vehicle_id="HZ-V3", minutes=30))
    assert hz_ctx.world().vehicle("HZ-V3").delayed_until is not None
    result = vehicle_edits.update_vehicle(hz_ctx, vehicle_edits.VehicleUpdateRequest(vehicle_id="HZ-V3", back_in_service=True))
    assert result.changed == ["delay cleared"] and hz_ctx.world().vehicle("HZ-V3").delayed_until is None
