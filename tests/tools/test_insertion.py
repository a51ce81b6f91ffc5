"""Insertion advice: exact against time_route + the independent checker, on a small hand-built world and on hangzhou-0501."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from copilot.core.domain import Depot, Location, Order, OrderKind, Plan, PlanStatus, Route, TimeWindow, Unassigned, Vehicle, World
from copilot.core.errors import InputError
from copilot.core.units import haversine_m, parse_time
from solvers.auto import AutoSolver
from solvers.checker import PlanChecker, check_plan
from tools.context import ToolContext
from tools.insertion import InsertionAdvice, InsertionRequest, advise_insertion, prospective_order
from tools.planning import PlanningDeps, _Frozen, time_route
from tools.routes import PlanState, apply_move
from tools.sql import SqlStore

HZ = "hangzhou-0501"
CLOCK = "2022-05-01T10:30:00+08:00"


def _t(hhmm: str) -> int:
    return parse_time(f"2022-05-01T{hhmm}:00+08:00")


# --------------------------------------------------------------------------------------------------
# a small world: depot D, V1 (capacity 10) serves A then B, V2 (capacity 5, skill 'cold') serves C then D
# at 36 km/h (10 m/s): 0.01 degree of latitude is 1112 m = 112 s


def small_world() -> World:
    depot = Depot("D0", "depot", Location(30.0, 120.0), TimeWindow(_t("07:00"), _t("20:00")))
    shift = TimeWindow(_t("08:00"), _t("12:00"))
    v1 = Vehicle("V1", "D0", 10, shift, 36.0)
    v2 = Vehicle("V2", "D0", 5, shift, 36.0, skills=frozenset({"cold"}))

    def pickup(oid: str, lat: float, lng: float, demand: int, window: tuple[str, str] | None = None, skill: str | None = None) -> Order:
        windows = (TimeWindow(_t(window[0]), _t(window[1])),) if window else ()
        return Order(oid, OrderKind.PICKUP, Location(lat, lng), demand, 300, windows, required_skill=skill)

    orders = (
        pickup("A", 30.01, 120.0, 3, ("08:00", "12:00")),
        pickup("B", 30.02, 120.005, 3, ("09:00", "09:30")),
        pickup("C", 30.0, 120.01, 2),
        pickup("D", 30.0, 120.02, 2, ("08:00", "12:00"), "cold"),
    )
    return World("small", "2022-05-01", 8 * 3600, (depot,), (v1, v2), orders)


def small_plan(world: World) -> Plan:
    routes = [time_route(world, world.vehicle(vid), _Frozen(ready=_t("08:00")), ids) for vid, ids in (("V1", ["A", "B"]), ("V2", ["C", "D"]))]
    return Plan(tuple(routes))


@pytest.fixture
def small_ctx(tmp_path: Path) -> Iterator[ToolContext]:
    world = small_world()
    plan = small_plan(world)
    assert check_plan(world, plan) == []
    store = SqlStore(f"sqlite:///{tmp_path / 'small.sqlite3'}")
    store.upgrade()
    store.import_world(world)
    store.commit_plan("small", store.save_plan("small", plan, PlanStatus.DRAFT))
    try:
        yield ToolContext(store=store, planning=PlanningDeps(AutoSolver(), PlanChecker()), world_name="small")
    finally:
        store.close()


def _brute_force(world: World, plan: Plan, order: Order) -> list[tuple[int, int, str, int]]:
    """Every feasible (extra m, extra s, vehicle, position) by timing whole routes with time_route and asking the checker."""
    world2 = replace(world, orders=(*world.orders, order))
    found = []
    for v in world.vehicles:
        old = next((r for r in plan.routes if r.vehicle_id == v.id), None)
        ids = list(old.order_ids) if old is not None else []
        for p in range(len(ids) + 1):
            seq = [*ids[:p], order.id, *ids[p:]]
            new = time_route(world2, v, _Frozen(ready=max(v.shift.start, world.depots[0].hours.start)), seq)
            routes = tuple(new if r.vehicle_id == v.id else r for r in plan.routes) if old is not None else (*plan.routes, new)
            if check_plan(world2, Plan(routes)) == []:
                old_d = old.distance_m if old is not None else 0
                old_t = old.end - old.start if old is not None else 0
                found.append((new.distance_m - old_d, (new.end - new.start) - old_t, v.id, p + 1))
    return sorted(found)


def _assert_reproducible(ctx: ToolContext, req: InsertionRequest, advice: InsertionAdvice) -> None:
    """Every option, forced with apply_move, passes the checker and has the stated distance and ETA."""
    world = ctx.world()
    stored = ctx.committed()
    assert stored is not None
    clock = ctx.clock()
    order = prospective_order(world, req, "NEW-1")
    world2 = replace(world, orders=(*world.orders, order))
    for opt in advice.options:
        forced = apply_move(world2, stored.plan, order.id, opt.vehicle_id, opt.position, clock)
        assert check_plan(world2, forced, clock) == []
        assert ctx.planning.checker.check_plan(world2, forced, clock) == []
        assert forced.distance_m - stored.plan.distance_m == opt.extra_m
        route = next(r for r in forced.routes if r.vehicle_id == opt.vehicle_id)
        visit = route.visits[opt.position - 1]
        assert visit.order_id == order.id
        prev = route.visits[opt.position - 2].order_id if opt.position > 1 else "depot"
        assert prev == opt.insert_after


# --------------------------------------------------------------------------------------------------
# small world


def test_small_world_best_option_is_the_collinear_detour(small_ctx: ToolContext) -> None:
    # N lies halfway between the depot and A on the same meridian: as first stop of V1 it costs (almost) nothing
    req = InsertionRequest(lat=30.005, lng=120.0, demand=1, service_min=0)
    advice = advise_insertion(small_ctx, req)
    assert advice.feasible
    best = advice.options[0]
    assert (best.vehicle_id, best.position, best.insert_after) == ("V1", 1, "depot")
    by_hand = haversine_m(30.0, 120.0, 30.005, 120.0) + haversine_m(30.005, 120.0, 30.01, 120.0) - haversine_m(30.0, 120.0, 30.01, 120.0)
    assert best.extra_m == by_hand and abs(by_hand) <= 1
    assert best.extra_s in (0, 1)  # B waits for 09:00 anyway, so the day ends as before
    assert all(s.order_id != "B" for s in best.shifted_stops)
    _assert_reproducible(small_ctx, req, advice)


@pytest.mark.parametrize(
    "req",
    [
        InsertionRequest(lat=30.015, lng=120.01, demand=2, service_min=5, k=50),
        InsertionRequest(lat=30.005, lng=120.015, demand=1, service_min=10, tw_start="08:00", tw_end="08:30", k=50),
        InsertionRequest(lat=30.03, lng=120.0, demand=4, service_min=5, tw_start="09:20", tw_end="09:40", k=50),
        InsertionRequest(lat=30.0, lng=120.03, demand=3, service_min=3, required_skill="cold", k=50),
        InsertionRequest(lat=30.015, lng=120.002, demand=2, service_min=2, kind="delivery", k=50),
        InsertionRequest(lat=30.015, lng=120.002, demand=5, service_min=2, kind="delivery", tw_end="09:00", k=50),
    ],
)
def test_small_world_options_match_brute_force(small_ctx: ToolContext, req: InsertionRequest) -> None:
    world = small_ctx.world()
    stored = small_ctx.committed()
    assert stored is not None
    advice = advise_insertion(small_ctx, req)
    expected = _brute_force(world, stored.plan, prospective_order(world, req, "NEW-1"))
    got = [(o.extra_m, o.extra_s, o.vehicle_id, o.position) for o in advice.options]
    assert got == expected
    assert advice.feasible == bool(expected)
    _assert_reproducible(small_ctx, req, advice)


def test_small_world_capacity_and_skill_reasons(small_ctx: ToolContext) -> None:
    advice = advise_insertion(small_ctx, InsertionRequest(lat=30.005, lng=120.0, demand=6))
    assert not advice.feasible and advice.options == []
    reasons = {r.vehicle_id: r for r in advice.reasons}
    assert reasons["V2"].code == "capacity" and "demand 6 exceeds V2's capacity 5" in reasons["V2"].reason
    assert reasons["V1"].code == "capacity" and "load would reach 12, capacity is 10" in reasons["V1"].reason  # A and B already take 6
    advice = advise_insertion(small_ctx, InsertionRequest(lat=30.005, lng=120.0, demand=1, required_skill="cold", k=10))
    assert {o.vehicle_id for o in advice.options} == {"V2"}
    assert [(r.vehicle_id, r.code) for r in advice.reasons] == [("V1", "skill")]


def test_small_world_clock_freezes_started_visits(small_ctx: ToolContext) -> None:
    small_ctx.store.set_clock("small", _t("08:03"))  # A (08:01:52) and C (08:01:37) have started
    advice = advise_insertion(small_ctx, InsertionRequest(lat=30.005, lng=120.0, demand=1, k=50))
    assert advice.clock == "08:03"
    assert advice.options and all(o.position >= 2 for o in advice.options)
    assert all(o.eta >= "08:03" for o in advice.options)
    _assert_reproducible(small_ctx, InsertionRequest(lat=30.005, lng=120.0, demand=1, k=50), advice)


def test_request_validation(small_ctx: ToolContext) -> None:
    with pytest.raises(InputError, match=r"ends .* before it starts"):
        advise_insertion(small_ctx, InsertionRequest(lat=30.0, lng=120.0, demand=1, tw_start="10:00", tw_end="09:00"))
    with pytest.raises(InputError, match="not a time"):
        advise_insertion(small_ctx, InsertionRequest(lat=30.0, lng=120.0, demand=1, tw_start="ten o'clock"))
    with pytest.raises(ValueError):
        InsertionRequest(lat=95.0, lng=120.0, demand=1)


def test_no_committed_plan_is_a_clear_error(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    store.upgrade()
    store.import_world(small_world())
    ctx = ToolContext(store=store, planning=PlanningDeps(AutoSolver(), PlanChecker()), world_name="small")
    try:
        with pytest.raises(InputError, match="no committed plan; plan and approve the day first"):
            advise_insertion(ctx, InsertionRequest(lat=30.0, lng=120.0, demand=1))
    finally:
        store.close()


# --------------------------------------------------------------------------------------------------
# hangzhou-0501


def test_fast_evaluation_equals_time_route_at_every_position(hz_ctx: ToolContext) -> None:
    """The incremental evaluator agrees with time_route on every (vehicle, position), with and without a clock."""
    world = hz_ctx.world()
    stored = hz_ctx.committed()
    assert stored is not None
    order = Order("NEW-1", OrderKind.PICKUP, Location(30.43, 120.275), 2, 180, (TimeWindow(_t("09:00"), _t("16:00")),))
    world2 = replace(world, orders=(*world.orders, order))
    for clock in (None, parse_time(CLOCK)):
        state = PlanState(world2, stored.plan, clock)
        feasible = 0
        for base in state.bases():
            for j in range(len(base.tail) + 1):
                ins = base.insert(order, j)
                forced = apply_move(world2, stored.plan, order.id, base.vehicle_id, ins.position, clock)
                route = next(r for r in forced.routes if r.vehicle_id == base.vehicle_id)
                visit = route.visits[ins.position - 1]
                assert (visit.arrival, visit.start, route.start, route.end) == (ins.arrival, ins.start, ins.route_start, ins.route_end)
                assert route.distance_m == base.distance_m + ins.extra_m
                moved = {(s.order_id, s.new_start) for s in ins.shifts}
                assert moved == {(v.order_id, v.start) for v, b in zip(route.visits[ins.position:], base.route.visits[ins.position - 1:], strict=True)
                                 if v.start != b.start}
                if ins.feasible:
                    feasible += 1
                    assert check_plan(world2, forced, clock) == []
                elif base.screen(order) is None:
                    assert check_plan(world2, forced, clock) != [], ins.reason
        assert feasible > 0


def test_hz_best_options_are_feasible_and_change_nothing(hz_ctx: ToolContext) -> None:
    audit_before = len(hz_ctx.store.audit(HZ))
    plans_before = [(p.id, p.status) for p in hz_ctx.store.plans(HZ)]
    req = InsertionRequest(lat=30.4300, lng=120.2750, demand=2, service_min=3, tw_start="13:00", tw_end="15:00")
    advice = advise_insertion(hz_ctx, req)
    assert advice.feasible and 1 <= len(advice.options) <= 3
    extras = [o.extra_m for o in advice.options]
    assert extras == sorted(extras)
    assert all("13:00" <= o.eta <= "15:00" for o in advice.options)
    _assert_reproducible(hz_ctx, req, advice)
    assert len(hz_ctx.store.audit(HZ)) == audit_before
    assert [(p.id, p.status) for p in hz_ctx.store.plans(HZ)] == plans_before


def _commit_with_room(ctx: ToolContext, vehicle_ids: tuple[str, ...], room: int) -> None:
    """Commit a plan where the given vehicles drop their last stops (listed unassigned) until ``room`` units are free."""
    world = ctx.world()
    stored = ctx.committed()
    assert stored is not None
    routes = []
    dropped = []
    for r in stored.plan.routes:
        ids = list(r.order_ids)
        if r.vehicle_id in vehicle_ids:
            v = world.vehicle(r.vehicle_id)
            while ids and sum(world.order(i).demand for i in ids) > v.capacity - room:
                dropped.append(ids.pop())
            r = time_route(world, v, _Frozen(ready=max(v.shift.start, world.depots[0].hours.start)), ids)
        routes.append(r)
    plan = Plan(tuple(routes), tuple(Unassigned(i, "dropped by the test") for i in dropped))
    assert check_plan(world, plan) == []
    ctx.store.commit_plan(HZ, ctx.store.save_plan(HZ, plan, PlanStatus.DRAFT))


def test_hz_bulky_only_on_vehicles_with_the_skill(hz_ctx: ToolContext) -> None:
    req = InsertionRequest(lat=30.4300, lng=120.2750, demand=2, service_min=3, required_skill="bulky", k=20)
    advice = advise_insertion(hz_ctx, req)  # HZ-V2 and HZ-V5 may be full in the day plan: then capacity is their reason
    assert {o.vehicle_id for o in advice.options} <= {"HZ-V2", "HZ-V5"}
    reasons = {r.vehicle_id: r.code for r in advice.reasons}
    assert {v for v, c in reasons.items() if c == "skill"} == {"HZ-V1", "HZ-V3", "HZ-V4", "HZ-V6"}
    assert {o.vehicle_id for o in advice.options} | set(reasons) == {f"HZ-V{i}" for i in range(1, 7)}

    _commit_with_room(hz_ctx, ("HZ-V2", "HZ-V5"), 3)
    advice = advise_insertion(hz_ctx, req)
    assert advice.feasible
    assert {o.vehicle_id for o in advice.options} == {"HZ-V2", "HZ-V5"}
    assert {r.vehicle_id: r.code for r in advice.reasons} == {v: "skill" for v in ("HZ-V1", "HZ-V3", "HZ-V4", "HZ-V6")}
    _assert_reproducible(hz_ctx, req, advice)


def test_hz_demand_500_is_a_capacity_reason_everywhere(hz_ctx: ToolContext) -> None:
    advice = advise_insertion(hz_ctx, InsertionRequest(lat=30.43, lng=120.275, demand=500))
    assert not advice.feasible and advice.options == []
    assert {r.vehicle_id: r.code for r in advice.reasons} == {f"HZ-V{i}": "capacity" for i in range(1, 7)}
    assert "no vehicle can take it" in advice.summary


def test_hz_window_already_past_is_a_window_reason(hz_ctx: ToolContext) -> None:
    hz_ctx.store.set_clock(HZ, parse_time(CLOCK))
    advice = advise_insertion(hz_ctx, InsertionRequest(lat=30.43, lng=120.275, demand=1, tw_start="08:00", tw_end="09:00"))
    assert not advice.feasible
    assert {r.code for r in advice.reasons} == {"window"}
    assert len(advice.reasons) == 6


def test_hz_clock_no_option_before_a_started_visit(hz_ctx: ToolContext) -> None:
    clock = parse_time(CLOCK)
    hz_ctx.store.set_clock(HZ, clock)
    stored = hz_ctx.committed()
    assert stored is not None
    started = {r.vehicle_id: sum(1 for v in r.visits if v.start < clock) for r in stored.plan.routes}
    assert sum(started.values()) > 0
    req = InsertionRequest(lat=30.4300, lng=120.2750, demand=1, service_min=2, k=50)
    advice = advise_insertion(hz_ctx, req)
    assert advice.feasible and advice.clock == "10:30"
    for o in advice.options:
        assert o.position > started.get(o.vehicle_id, 0)
        assert o.eta >= "10:30"
    _assert_reproducible(hz_ctx, req, advice)


def test_route_helper_keeps_other_routes(hz_ctx: ToolContext) -> None:
    stored = hz_ctx.committed()
    assert stored is not None
    world = hz_ctx.world()
    order = Order("NEW-1", OrderKind.PICKUP, Location(30.43, 120.275), 1, 60)
    world2 = replace(world, orders=(*world.orders, order))
    forced = apply_move(world2, stored.plan, order.id, "HZ-V4", 2, None)
    untouched: dict[str, Route] = {r.vehicle_id: r for r in stored.plan.routes if r.vehicle_id != "HZ-V4"}
    assert all(r == untouched[r.vehicle_id] for r in forced.routes if r.vehicle_id != "HZ-V4")
    with pytest.raises(InputError, match="position 99 on HZ-V4 is not possible"):
        apply_move(world2, stored.plan, order.id, "HZ-V4", 99, None)


def test_small_world_unavailable_and_delayed_vehicles(small_ctx: ToolContext) -> None:
    world = small_ctx.world()
    req = InsertionRequest(lat=30.005, lng=120.0, demand=1, k=50)
    small_ctx.store.update_vehicle("small", replace(world.vehicle("V2"), unavailable_from=_t("08:00")))
    advice = advise_insertion(small_ctx, req)
    assert [(r.vehicle_id, r.code) for r in advice.reasons] == [("V2", "unavailable")]
    assert {o.vehicle_id for o in advice.options} == {"V1"}
    small_ctx.store.update_vehicle("small", world.vehicle("V2"))
    small_ctx.store.update_vehicle("small", replace(world.vehicle("V1"), delayed_until=_t("09:20")))
    advice = advise_insertion(small_ctx, req)
    v1 = [o for o in advice.options if o.vehicle_id == "V1"]
    assert v1 and all(o.eta >= "09:20" for o in v1)
    _assert_reproducible(small_ctx, req, advice)
