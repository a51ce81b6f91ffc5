"""Why unassigned, with the fix: each cause gets its smallest change, the change is verified by re-planning,
applying it independently serves the order, and the store never changes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from copilot.core.domain import Depot, Location, Order, OrderKind, Plan, PlanStatus, TimeWindow, Unassigned, Vehicle, World
from copilot.core.errors import InputError
from copilot.core.units import parse_time
from solvers.auto import AutoSolver
from solvers.checker import PlanChecker
from tools.context import ToolContext, parse_user_time
from tools.events import VehicleUnavailableRequest, vehicle_unavailable
from tools.lifecycle import ClockRequest, set_clock
from tools.planning import PlanningDeps, PlanSettings, _Frozen, plan_world, time_route
from tools.remedies import FixGroup, FixOut, RemedyRequest, UnassignedFixes, fix_unassigned
from tools.sql import SqlStore
from tools.whatif import AddVehicles, Change, ChangeShift, RemoveOrders, plan_changes

DEPS = PlanningDeps(AutoSolver(), PlanChecker())
FAST = PlanSettings(time_limit_s=0.5)
QUICK = RemedyRequest(solve_s=0.5, budget_s=5.0)
MakeCtx = Callable[..., ToolContext]


def t(hhmm: str) -> int:
    return parse_time(f"2022-05-01T{hhmm}:00+08:00")


# --------------------------------------------------------------------------------------------------
# small worlds: one depot at (30, 120), vehicles at 36 km/h (0.01 degree of latitude is 1.1 km, 111 s)


def world(vehicles: list[Vehicle], orders: list[Order], depot_open: str = "07:00") -> World:
    depot = Depot("D0", "depot", Location(30.0, 120.0), TimeWindow(t(depot_open), t("20:00")))
    return World("small", "2022-05-01", 8 * 3600, (depot,), tuple(vehicles), tuple(orders))


def vehicle(vid: str, end: str = "12:00", capacity: int = 10, skills: frozenset[str] = frozenset(), **kw: Any) -> Vehicle:
    return Vehicle(vid, "D0", capacity, TimeWindow(t("08:00"), t(end)), 36.0, skills=skills, **kw)


def pickup(oid: str, lat: float, lng: float = 120.0, demand: int = 1, window: tuple[str, str] | None = None, skill: str | None = None, service_s: int = 300) -> Order:
    windows = (TimeWindow(t(window[0]), t(window[1])),) if window else ()
    return Order(oid, OrderKind.PICKUP, Location(lat, lng), demand, service_s, windows, required_skill=skill)


def short_shift() -> World:
    """B is 15 km out (50 min there and back, 10 min service): V1's half-hour shift cannot take it, 45 more minutes can (30 cannot)."""
    return world([vehicle("V1", end="08:30")], [pickup("A", 30.01), pickup("B", 30.135, service_s=600)])


def missing_skill() -> World:
    """C needs 'cold': only V2 has it, and V2 has broken down; V1 has room."""
    return world([vehicle("V1"), vehicle("V2", skills=frozenset({"cold"}), unavailable_from=t("08:00"))], [pickup("A", 30.01), pickup("C", 30.0, 120.02, skill="cold")])


def too_heavy() -> World:
    """D's 8 parcels do not fit beside A's 2 in V1's 5: V1 needs 5 more."""
    return world([vehicle("V1", capacity=5)], [pickup("A", 30.01, demand=2), pickup("D", 30.0, 120.01, demand=8)])


def early_window() -> World:
    """E's window closes at 07:30; the depot opens, and V1 starts, at 08:00: the window must end 45 minutes later."""
    return world([vehicle("V1")], [pickup("A", 30.01), pickup("E", 30.0, 120.01, window=("07:00", "07:30"))], depot_open="08:00")


def broken_fleet() -> World:
    """The only vehicle has broken down before the day starts."""
    return world([vehicle("V1", unavailable_from=t("07:00"))], [pickup("A", 30.01), pickup("F", 30.02)])


@pytest.fixture
def make_ctx(tmp_path: Path) -> Iterator[MakeCtx]:
    stores: list[SqlStore] = []

    def make(w: World, *, commit: bool = True, plan: Plan | None = None) -> ToolContext:
        store = SqlStore(f"sqlite:///{tmp_path / f'remedies-{len(stores)}.sqlite3'}")
        stores.append(store)
        store.upgrade()
        store.import_world(w)
        made = plan if plan is not None else plan_world(w, DEPS, FAST)
        plan_id = store.save_plan(w.name, made, PlanStatus.DRAFT)
        if commit:
            store.commit_plan(w.name, plan_id)
        return ToolContext(store=store, planning=DEPS, world_name=w.name, settings=FAST)

    yield make
    for s in stores:
        s.close()


def snapshot(ctx: ToolContext) -> tuple[object, ...]:
    """Everything fix_unassigned must leave alone."""
    return ctx.world(), [(p.id, p.status, p.plan) for p in ctx.store.plans(ctx.world_name)], len(ctx.store.audit(ctx.world_name)), ctx.clock()


def only_group(out: UnassignedFixes, order_id: str) -> FixGroup:
    [group] = [g for g in out.groups if order_id in g.orders]
    return group


def served(w: World) -> set[str]:
    return plan_world(w, DEPS, FAST).assigned_ids()


def with_vehicle(w: World, vid: str, **changes: Any) -> World:
    return replace(w, vehicles=tuple(replace(v, **changes) if v.id == vid else v for v in w.vehicles))


def applied(w: World, fix: FixOut) -> tuple[World, list[Change]]:
    """The fix as stated, applied by hand (what-if changes where there are some): the world and the changes to plan it with."""
    if fix.kind == "extend_shift":
        assert fix.vehicle_id is not None and fix.shift_start is not None and fix.shift_end is not None
        return w, [ChangeShift(vehicles=[fix.vehicle_id], start=fix.shift_start, end=fix.shift_end)]
    if fix.kind == "add_vehicle":
        assert fix.vehicle_id is not None and fix.count is not None
        return w, [AddVehicles(like=fix.vehicle_id, count=fix.count)]
    if fix.kind == "add_skill":
        assert fix.vehicle_id is not None and fix.skill is not None
        return with_vehicle(w, fix.vehicle_id, skills=w.vehicle(fix.vehicle_id).skills | {fix.skill}), []
    if fix.kind == "add_capacity":
        assert fix.vehicle_id is not None
        return with_vehicle(w, fix.vehicle_id, capacity=fix.capacity), []
    if fix.kind == "move_window":
        new = {c.order_id: c for c in fix.windows}

        def moved(o: Order) -> Order:
            c = new[o.id]
            keep = o.windows[:-1] if fix.side == "end_later" else o.windows[1:]
            window = TimeWindow(parse_user_time(c.new_start, w), parse_user_time(c.new_end, w))
            return replace(o, windows=(*keep, window) if fix.side == "end_later" else (window, *keep))

        return replace(w, orders=tuple(moved(o) if o.id in new else o for o in w.orders)), []
    assert fix.kind == "replan"
    return w, []


def serves_after(ctx: ToolContext, out: UnassignedFixes, group: FixGroup, settings: PlanSettings = FAST) -> bool:
    """Apply the group's fix by hand and plan as a what-if does (the plan's orders and the group's): are they all served?"""
    w, changes = applied(ctx.world(), group.fix)
    stored = ctx.store.get_plan(out.plan_id)
    others = [u.order_id for u in stored.plan.unassigned if u.order_id not in group.orders]
    if others:
        changes = [*changes, RemoveOrders(order_ids=others)]
    committed = ctx.committed()
    _w, plan, _words = plan_changes(w, changes, DEPS, settings, clock=ctx.clock(), committed=committed.plan if committed is not None else None)
    return set(group.orders) <= plan.assigned_ids() and stored.plan.assigned_ids() <= plan.assigned_ids()


# --------------------------------------------------------------------------------------------------


def test_short_shift_gets_the_smallest_verified_extension(make_ctx: MakeCtx) -> None:
    w = short_shift()
    ctx = make_ctx(w)
    before = snapshot(ctx)
    out = fix_unassigned(ctx, QUICK)
    assert snapshot(ctx) == before and out.saved is False
    assert out.plan_status == "committed" and out.unassigned_count == 1 and out.examined == 1
    g = only_group(out, "B")
    assert g.cause == "shift_end" and g.count == 1
    f = g.fix
    assert (f.kind, f.vehicle_id, f.side, f.minutes, f.shift_end) == ("extend_shift", "V1", "end_later", 45, "09:15")
    assert f.verified and f.status == "verified" and f.screened and f.attempts == 1
    assert f.orders_served_before == 1 and f.orders_served_after == 2 and f.extra_km is not None and f.extra_km > 0
    assert f.orders_not_served == [] and f.orders_lost == []
    assert out.verified_groups == 1 and out.solves == 1 and out.not_tried_groups == 0
    # independently: 45 more minutes serve both orders, 30 do not (the smallest of the steps)
    assert serves_after(ctx, out, g)
    shift = w.vehicle("V1").shift
    assert not {"A", "B"} <= served(with_vehicle(w, "V1", shift=TimeWindow(shift.start, shift.end + 30 * 60)))


def test_missing_skill_is_given_to_a_vehicle_with_room(make_ctx: MakeCtx) -> None:
    w = missing_skill()
    ctx = make_ctx(w)
    before = snapshot(ctx)
    out = fix_unassigned(ctx, QUICK)
    assert snapshot(ctx) == before
    g = only_group(out, "C")
    assert g.cause == "skill"
    assert (g.fix.kind, g.fix.vehicle_id, g.fix.skill, g.fix.verified) == ("add_skill", "V1", "cold", True)
    assert g.fix.orders_served_after == 2
    assert serves_after(ctx, out, g)
    assert "C" in served(with_vehicle(w, "V1", skills=frozenset({"cold"})))


def test_capacity_grows_by_what_the_route_needs(make_ctx: MakeCtx) -> None:
    w = too_heavy()
    ctx = make_ctx(w)
    before = snapshot(ctx)
    out = fix_unassigned(ctx, QUICK)
    assert snapshot(ctx) == before
    g = only_group(out, "D")
    assert g.cause == "capacity"
    assert (g.fix.kind, g.fix.vehicle_id, g.fix.capacity_added, g.fix.capacity, g.fix.verified) == ("add_capacity", "V1", 5, 10, True)
    assert serves_after(ctx, out, g)
    assert not {"A", "D"} <= served(with_vehicle(w, "V1", capacity=9))


def test_early_window_ends_later(make_ctx: MakeCtx) -> None:
    w = early_window()
    ctx = make_ctx(w)
    before = snapshot(ctx)
    out = fix_unassigned(ctx, QUICK)
    assert snapshot(ctx) == before
    g = only_group(out, "E")
    assert g.cause == "window"
    f = g.fix
    assert (f.kind, f.side, f.minutes, f.verified) == ("move_window", "end_later", 45, True)
    [moved] = f.windows
    assert (moved.order_id, moved.old_start, moved.old_end, moved.new_start, moved.new_end) == ("E", "07:00", "07:30", "07:00", "08:15")
    assert serves_after(ctx, out, g)
    e = w.order("E")
    later = replace(e, windows=(TimeWindow(e.windows[0].start, e.windows[0].end + 30 * 60),))
    assert "E" not in served(replace(w, orders=tuple(later if o.id == "E" else o for o in w.orders)))


def test_broken_fleet_gets_a_vehicle_like_the_broken_one(make_ctx: MakeCtx) -> None:
    w = broken_fleet()
    ctx = make_ctx(w)
    before = snapshot(ctx)
    out = fix_unassigned(ctx, QUICK)
    assert snapshot(ctx) == before
    g = only_group(out, "F")
    assert g.cause == "vehicle_unavailable" and sorted(g.orders) == ["A", "F"]
    f = g.fix
    assert (f.kind, f.vehicle_id, f.count, f.new_vehicle_ids, f.verified) == ("add_vehicle", "V1", 1, ["WHATIF-1"], True)
    assert serves_after(ctx, out, g)


def test_without_a_committed_plan_the_latest_draft_is_used(make_ctx: MakeCtx) -> None:
    ctx = make_ctx(short_shift(), commit=False)
    out = fix_unassigned(ctx, QUICK)
    assert out.plan_status == "draft" and only_group(out, "B").fix.verified
    assert fix_unassigned(ctx, RemedyRequest(plan=out.plan_id, solve_s=0.5, budget_s=1.0)).plan_id == out.plan_id
    with pytest.raises(InputError):
        fix_unassigned(ctx, RemedyRequest(plan="committed"))


def test_an_order_that_fits_as_is_needs_only_a_replan(make_ctx: MakeCtx) -> None:
    w = world([vehicle("V1")], [pickup("A", 30.01), pickup("G", 30.02)])
    route = time_route(w, w.vehicle("V1"), _Frozen(ready=t("08:00")), ["A"])
    ctx = make_ctx(w, plan=Plan((route,), (Unassigned("G", "left out by hand"),)))
    g = only_group(fix_unassigned(ctx, QUICK), "G")
    assert (g.cause, g.fix.kind, g.fix.verified, g.fix.orders_served_after) == ("fits_now", "replan", True, 2)


def test_an_exhausted_budget_leaves_the_candidates_unverified(make_ctx: MakeCtx) -> None:
    ctx = make_ctx(short_shift())
    out = fix_unassigned(ctx, RemedyRequest(solve_s=1.0, budget_s=0.5))
    f = only_group(out, "B").fix
    assert (f.kind, f.minutes, f.status, f.verified, f.screened, f.attempts) == ("extend_shift", 45, "not_tried", False, True, 0)
    assert f.orders_served_after is None and out.solves == 0 and out.not_tried_groups == 1 and out.verified_groups == 0


def test_groups_are_largest_first_and_max_orders_caps_the_work(make_ctx: MakeCtx) -> None:
    # two far orders out of V1's reach share one extension; the window order is a group of its own
    w = world(
        [vehicle("V1", end="08:30")],
        [pickup("A", 30.01), pickup("B1", 30.135, service_s=600), pickup("B2", 30.136, service_s=60), pickup("E", 30.0, 120.01, window=("07:00", "07:30"))],
        depot_open="08:00",
    )
    ctx = make_ctx(w)
    out = fix_unassigned(ctx, QUICK)
    assert [g.count for g in out.groups] == sorted((g.count for g in out.groups), reverse=True)
    assert sum(g.count for g in out.groups) == out.examined == out.unassigned_count
    capped = fix_unassigned(ctx, RemedyRequest(max_orders=1, solve_s=0.5, budget_s=2.0))
    assert capped.examined == 1 and len(capped.not_examined) == out.unassigned_count - 1


def test_after_a_breakdown_at_the_clock_the_draft_is_fixed_from_the_clock(hz_ctx: ToolContext) -> None:
    set_clock(hz_ctx, ClockRequest(at="10:30"))
    vehicle_unavailable(hz_ctx, VehicleUnavailableRequest(vehicle_id="HZ-V3"))
    vehicle_unavailable(hz_ctx, VehicleUnavailableRequest(vehicle_id="HZ-V4"))
    before = snapshot(hz_ctx)
    out = fix_unassigned(hz_ctx, RemedyRequest(plan="draft", solve_s=1.0, budget_s=3.0))
    assert snapshot(hz_ctx) == before
    assert out.clock == "10:30" and out.plan_status == "draft" and out.unassigned_count > 0
    assert out.solves <= 3 and out.verified_groups + out.failed_groups + out.not_tried_groups + sum(g.fix.status == "no_candidate" for g in out.groups) == len(out.groups)
    verified = [g for g in out.groups if g.fix.verified]
    assert verified, [g.model_dump() for g in out.groups]
    assert serves_after(hz_ctx, out, verified[0], PlanSettings(time_limit_s=2.0))


def test_request_bounds() -> None:
    for bad in ({"budget_s": 0}, {"budget_s": 121}, {"solve_s": 11}, {"max_orders": 0}, {"plan": 0}, {"plan": "latest"}, {"budget_s": float("nan")}):
        with pytest.raises(ValidationError):
            RemedyRequest.model_validate(bad)
