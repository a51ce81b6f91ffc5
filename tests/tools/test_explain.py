"""Explanations: every stated alternative or move cost is reproduced by apply_move to the metre and passes the checker."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from copilot.core.domain import Depot, Location, Order, OrderKind, Plan, PlanStatus, TimeWindow, Unassigned, Vehicle, World
from copilot.core.errors import InputError, NotFound
from copilot.core.units import haversine_m, parse_time
from solvers.auto import AutoSolver
from solvers.checker import PlanChecker, check_plan
from tools.context import ToolContext
from tools.explain import (
    MoveCostRequest,
    WhyOnVehicleRequest,
    WhyUnassignedRequest,
    apply_move,
    cost_of_move,
    why_on_vehicle,
    why_unassigned,
)
from tools.planning import PlanningDeps, _Frozen, time_route
from tools.sql import SqlStore

HZ = "hangzhou-0501"
CLOCK = "2022-05-01T10:30:00+08:00"


def _t(hhmm: str) -> int:
    return parse_time(f"2022-05-01T{hhmm}:00+08:00")


# --------------------------------------------------------------------------------------------------
# a small world: V1 (capacity 10) serves A then B, V2 (capacity 5, skill 'cold') serves C then D; 36 km/h


def small_world() -> World:
    depot = Depot("D0", "depot", Location(30.0, 120.0), TimeWindow(_t("07:00"), _t("20:00")))
    shift = TimeWindow(_t("08:00"), _t("12:00"))

    def pickup(oid: str, lat: float, lng: float, demand: int, window: tuple[str, str] | None = None, skill: str | None = None) -> Order:
        windows = (TimeWindow(_t(window[0]), _t(window[1])),) if window else ()
        return Order(oid, OrderKind.PICKUP, Location(lat, lng), demand, 300, windows, required_skill=skill)

    return World(
        "small", "2022-05-01", 8 * 3600, (depot,),
        (Vehicle("V1", "D0", 10, shift, 36.0), Vehicle("V2", "D0", 5, shift, 36.0, skills=frozenset({"cold"}))),
        (
            pickup("A", 30.01, 120.0, 3, ("08:00", "12:00")),
            pickup("B", 30.02, 120.005, 3, ("09:00", "09:30")),
            pickup("C", 30.0, 120.01, 2),
            pickup("D", 30.0, 120.02, 2, ("08:00", "12:00"), "cold"),
        ),
    )


def small_plan(world: World) -> Plan:
    ready = _Frozen(ready=_t("08:00"))
    return Plan(tuple(time_route(world, world.vehicle(v), ready, ids) for v, ids in (("V1", ["A", "B"]), ("V2", ["C", "D"]))))


@pytest.fixture
def small_ctx(tmp_path: Path) -> Iterator[ToolContext]:
    world = small_world()
    store = SqlStore(f"sqlite:///{tmp_path / 'small.sqlite3'}")
    store.upgrade()
    store.import_world(world)
    store.commit_plan("small", store.save_plan("small", small_plan(world), PlanStatus.DRAFT))
    try:
        yield ToolContext(store=store, planning=PlanningDeps(AutoSolver(), PlanChecker()), world_name="small")
    finally:
        store.close()


def _committed(ctx: ToolContext) -> Plan:
    stored = ctx.committed()
    assert stored is not None
    return stored.plan


def _force(ctx: ToolContext, order_id: str, vehicle_id: str, position: int) -> Plan:
    """Apply the stated move and require the independent checker to accept it."""
    world = ctx.world()
    clock = ctx.clock()
    forced = apply_move(world, _committed(ctx), order_id, vehicle_id, position, clock)
    assert check_plan(world, forced, clock) == []
    assert forced.route_of(order_id) is not None
    route = forced.route_of(order_id)
    assert route is not None and route.vehicle_id == vehicle_id and route.order_ids[position - 1] == order_id
    return forced


def _durations(plan: Plan, vehicles: set[str]) -> int:
    return sum(r.end - r.start for r in plan.routes if r.vehicle_id in vehicles and r.visits)


# --------------------------------------------------------------------------------------------------
# small world


def test_small_why_on_vehicle_window_and_capacity(small_ctx: ToolContext) -> None:
    out = why_on_vehicle(small_ctx, WhyOnVehicleRequest(order_id="B"))
    assert (out.vehicle_id, out.position, out.stops_on_route, out.eta, out.window) == ("V1", 2, 2, "09:00", "09:00-09:30")
    assert out.window_slack_min == 30.0 and out.waited_min > 50
    assert {c.name: c.binding for c in out.constraints}["window"] is True  # it waits for the window to open
    assert (out.load_after, out.peak_load, out.capacity) == (6, 6, 10)
    # V2 carries C and D (4 of 5): B's 3 units do not fit
    assert out.alternative is None
    assert [(r.vehicle_id, r.code) for r in out.alternative_reasons] == [("V2", "capacity")]


def test_small_why_on_vehicle_best_alternative_by_brute_force(small_ctx: ToolContext) -> None:
    world = small_ctx.world()
    plan = _committed(small_ctx)
    out = why_on_vehicle(small_ctx, WhyOnVehicleRequest(order_id="C"))
    assert out.alternative is not None
    # brute force: every position on V1, whole routes re-timed by time_route, judged by the checker
    ready = _Frozen(ready=_t("08:00"))
    v2 = time_route(world, world.vehicle("V2"), ready, ["D"])
    best = None
    for p in range(3):
        ids = ["A", "B"]
        ids.insert(p, "C")
        cand = Plan((time_route(world, world.vehicle("V1"), ready, ids), v2))
        if check_plan(world, cand) == []:
            delta = cand.distance_m - plan.distance_m
            best = min(best or (delta, p + 1), (delta, p + 1))
    assert best is not None
    assert (out.alternative.vehicle_id, out.alternative.cost_delta_m, out.alternative.position) == ("V1", *best)
    forced = _force(small_ctx, "C", "V1", out.alternative.position)
    assert forced.distance_m - plan.distance_m == out.alternative.cost_delta_m
    assert _durations(forced, {"V1", "V2"}) - _durations(plan, {"V1", "V2"}) == out.alternative.time_delta_s


def test_small_why_on_vehicle_skill(small_ctx: ToolContext) -> None:
    out = why_on_vehicle(small_ctx, WhyOnVehicleRequest(order_id="D"))
    assert out.required_skill == "cold" and out.vehicles_with_skill == ["V2"]
    assert {c.name: c.binding for c in out.constraints}["skill"] is True
    assert out.alternative is None and [(r.vehicle_id, r.code) for r in out.alternative_reasons] == [("V1", "skill")]


def test_small_cost_of_move_matches_hand_computation(small_ctx: ToolContext) -> None:
    plan = _committed(small_ctx)
    out = cost_of_move(small_ctx, MoveCostRequest(order_id="C", vehicle_id="V1", position=3))
    assert out.feasible and (out.from_vehicle_id, out.from_position, out.insert_after) == ("V2", 1, "B")
    dep, a, b, c, d = (30.0, 120.0), (30.01, 120.0), (30.02, 120.005), (30.0, 120.01), (30.0, 120.02)
    h = haversine_m
    v1_before = h(*dep, *a) + h(*a, *b) + h(*b, *dep)
    v1_after = h(*dep, *a) + h(*a, *b) + h(*b, *c) + h(*c, *dep)
    v2_before = h(*dep, *c) + h(*c, *d) + h(*d, *dep)
    v2_after = 2 * h(*dep, *d)
    assert out.cost_delta_m == (v1_after - v1_before) + (v2_after - v2_before)
    forced = _force(small_ctx, "C", "V1", 3)
    assert forced.distance_m - plan.distance_m == out.cost_delta_m
    assert _durations(forced, {"V1", "V2"}) - _durations(plan, {"V1", "V2"}) == out.time_delta_s
    assert {s.order_id for s in out.shifted_stops} == {"D"}  # D is now first on V2: earlier
    assert all(s.minutes_later < 0 for s in out.shifted_stops)


def test_small_cost_of_move_infeasible_and_same_place(small_ctx: ToolContext) -> None:
    plan = _committed(small_ctx)
    out = cost_of_move(small_ctx, MoveCostRequest(order_id="A", vehicle_id="V2"))
    assert not out.feasible and out.code == "capacity" and out.position is None and out.cost_delta_m is None
    out = cost_of_move(small_ctx, MoveCostRequest(order_id="A", vehicle_id="V2", position=1))
    assert not out.feasible and out.code == "capacity"
    forced = apply_move(small_ctx.world(), plan, "A", "V2", 1, None)
    assert forced.distance_m - plan.distance_m == out.cost_delta_m
    assert check_plan(small_ctx.world(), forced) != []
    out = cost_of_move(small_ctx, MoveCostRequest(order_id="A", vehicle_id="V1", position=1))
    assert out.feasible and out.cost_delta_m == 0 and out.time_delta_s == 0 and out.shifted_stops == []
    out = cost_of_move(small_ctx, MoveCostRequest(order_id="A", vehicle_id="V1", position=2))  # B first, then A
    assert out.feasible and out.insert_after == "B"
    assert _force(small_ctx, "A", "V1", 2).distance_m - plan.distance_m == out.cost_delta_m
    with pytest.raises(InputError, match=r"position 4 on V1 is not possible: choose 1\.\.3"):
        cost_of_move(small_ctx, MoveCostRequest(order_id="C", vehicle_id="V1", position=4))


def test_small_started_orders_cannot_move(small_ctx: ToolContext) -> None:
    small_ctx.store.set_clock("small", _t("08:03"))  # A started at 08:01:52
    with pytest.raises(InputError, match=r"order A already started at 08:01 on V1 .*cannot be moved"):
        cost_of_move(small_ctx, MoveCostRequest(order_id="A", vehicle_id="V2"))
    with pytest.raises(InputError, match="already started"):
        apply_move(small_ctx.world(), _committed(small_ctx), "A", "V1", 2, _t("08:03"))
    out = why_on_vehicle(small_ctx, WhyOnVehicleRequest(order_id="A"))
    assert out.started and out.alternative is None and {r.code for r in out.alternative_reasons} == {"started"}
    with pytest.raises(InputError, match=r"stops 1\.\.1 have already started"):
        cost_of_move(small_ctx, MoveCostRequest(order_id="B", vehicle_id="V1", position=1))


def test_small_pins_bind_the_order(small_ctx: ToolContext) -> None:
    world = small_ctx.world()
    small_ctx.store.update_order("small", replace(world.order("C"), pinned_vehicle="V2"))
    out = why_on_vehicle(small_ctx, WhyOnVehicleRequest(order_id="C"))
    assert {c.name: c.binding for c in out.constraints}["pinned"] is True
    assert out.alternative is None and [(r.vehicle_id, r.code) for r in out.alternative_reasons] == [("V1", "pinned")]
    move = cost_of_move(small_ctx, MoveCostRequest(order_id="C", vehicle_id="V1"))  # a manual move overrides the pin
    assert move.feasible and move.notes == ["C is pinned to V2; the move replaces the pin"]


def test_unknown_ids_are_not_found(small_ctx: ToolContext) -> None:
    with pytest.raises(NotFound, match="unknown order id 'ZZ'"):
        why_on_vehicle(small_ctx, WhyOnVehicleRequest(order_id="ZZ"))
    with pytest.raises(NotFound, match="unknown order id 'ZZ'"):
        why_unassigned(small_ctx, WhyUnassignedRequest(order_id="ZZ"))
    with pytest.raises(NotFound, match="unknown order id 'ZZ'"):
        cost_of_move(small_ctx, MoveCostRequest(order_id="ZZ", vehicle_id="V1"))
    with pytest.raises(NotFound, match="unknown vehicle id 'V9'"):
        cost_of_move(small_ctx, MoveCostRequest(order_id="A", vehicle_id="V9"))


def test_small_why_unassigned(small_ctx: ToolContext) -> None:
    store = small_ctx.store
    big = Order("E", OrderKind.PICKUP, Location(30.005, 120.0), 8, 60)
    small_one = Order("F", OrderKind.PICKUP, Location(30.005, 120.0), 1, 60, (TimeWindow(_t("08:00"), _t("11:00")),))
    store.add_order("small", big)
    store.add_order("small", small_one)
    with pytest.raises(InputError, match="order A is stop 1 on V1"):
        why_unassigned(small_ctx, WhyUnassignedRequest(order_id="A"))
    out = why_unassigned(small_ctx, WhyUnassignedRequest(order_id="E"))
    assert out.status == "not_in_plan" and out.could_insert == []
    assert {r.vehicle_id: r.code for r in out.vehicles} == {"V1": "capacity", "V2": "capacity"}
    assert "demand 8 exceeds V2's capacity 5" in out.summary
    # listed unassigned in a committed plan, with the plan's reason
    plan = _committed(small_ctx)
    store.commit_plan("small", store.save_plan("small", replace(plan, unassigned=(Unassigned("E", "too big"), Unassigned("F", "late")))))
    out = why_unassigned(small_ctx, WhyUnassignedRequest(order_id="F"))
    assert out.status == "unassigned" and out.plan_reason == "late"
    assert out.could_insert and out.could_insert[0].vehicle_id == "V1"
    for opt in out.could_insert:
        forced = _force(small_ctx, "F", opt.vehicle_id, opt.position)
        assert forced.distance_m - plan.distance_m == opt.extra_m
        assert all(u.order_id != "F" for u in forced.unassigned)
    store.update_order("small", replace(small_one, cancelled=True))
    out = why_unassigned(small_ctx, WhyUnassignedRequest(order_id="F"))
    assert out.status == "cancelled" and "cancelled" in out.summary


# --------------------------------------------------------------------------------------------------
# hangzhou-0501


def _check_why(ctx: ToolContext, order_id: str) -> bool:
    """why_on_vehicle's alternative, forced, reproduces its stated numbers; True when there was one."""
    before = _committed(ctx)
    out = why_on_vehicle(ctx, WhyOnVehicleRequest(order_id=order_id))
    route = before.route_of(order_id)
    assert route is not None and out.vehicle_id == route.vehicle_id and route.order_ids[out.position - 1] == order_id
    alt = out.alternative
    if alt is None:
        assert out.alternative_reasons
        return False
    assert alt.vehicle_id != out.vehicle_id
    forced = _force(ctx, order_id, alt.vehicle_id, alt.position)
    assert forced.distance_m - before.distance_m == alt.cost_delta_m
    assert alt.cost_delta_km == round(alt.cost_delta_m / 1000, 3)
    if ctx.clock() is None:
        assert _durations(forced, {out.vehicle_id, alt.vehicle_id}) - _durations(before, {out.vehicle_id, alt.vehicle_id}) == alt.time_delta_s
    return True


def test_hz_why_on_vehicle_alternatives_reproduce(hz_ctx: ToolContext) -> None:
    plan = _committed(hz_ctx)
    sample = [oid for r in plan.routes for oid in r.order_ids][::9]
    assert sum(_check_why(hz_ctx, oid) for oid in sample) > 0


def test_hz_why_on_vehicle_with_clock(hz_ctx: ToolContext) -> None:
    clock = parse_time(CLOCK)
    hz_ctx.store.set_clock(HZ, clock)
    plan = _committed(hz_ctx)
    started = [v.order_id for r in plan.routes for v in r.visits if v.start < clock]
    later = [v.order_id for r in plan.routes for v in r.visits if v.start >= clock]
    out = why_on_vehicle(hz_ctx, WhyOnVehicleRequest(order_id=started[0]))
    assert out.started and out.alternative is None
    with pytest.raises(InputError, match="already started"):
        cost_of_move(hz_ctx, MoveCostRequest(order_id=started[0], vehicle_id="HZ-V1"))
    assert sum(_check_why(hz_ctx, oid) for oid in later[::8]) > 0


def test_hz_bulky_order_explains_the_skill(hz_ctx: ToolContext) -> None:
    world = hz_ctx.world()
    bulky = next(o.id for o in world.orders if o.required_skill == "bulky")
    out = why_on_vehicle(hz_ctx, WhyOnVehicleRequest(order_id=bulky))
    assert out.vehicle_id in {"HZ-V2", "HZ-V5"} and out.vehicles_with_skill == ["HZ-V2", "HZ-V5"]
    assert {r.vehicle_id for r in out.alternative_reasons if r.code == "skill"} == {"HZ-V1", "HZ-V3", "HZ-V4", "HZ-V6"}
    assert out.alternative is None or out.alternative.vehicle_id in {"HZ-V2", "HZ-V5"}
    _check_why(hz_ctx, bulky)


def test_hz_cost_of_move_reproduces(hz_ctx: ToolContext) -> None:
    audit_before = len(hz_ctx.store.audit(HZ))
    plans_before = [(p.id, p.status) for p in hz_ctx.store.plans(HZ)]
    plan = _committed(hz_ctx)
    world = hz_ctx.world()
    feasible = infeasible = 0
    for oid in [oid for r in plan.routes for oid in r.order_ids][::15]:
        for v in world.vehicles:
            out = cost_of_move(hz_ctx, MoveCostRequest(order_id=oid, vehicle_id=v.id))
            if out.feasible:
                feasible += 1
                assert out.position is not None
                forced = _force(hz_ctx, oid, v.id, out.position)
                assert forced.distance_m - plan.distance_m == out.cost_delta_m
                cur = plan.route_of(oid)
                assert cur is not None
                if cur.vehicle_id == v.id:
                    assert out.cost_delta_m is not None and out.cost_delta_m <= 0  # the best place on its own route is no worse
            else:
                infeasible += 1
                assert out.code and out.reason
    assert feasible > 0 and infeasible > 0
    # an explicit position: the stated cost is what apply_move gives, feasible or not
    oid = plan.routes[0].order_ids[3]
    out = cost_of_move(hz_ctx, MoveCostRequest(order_id=oid, vehicle_id=plan.routes[1].vehicle_id, position=2))
    forced = apply_move(world, plan, oid, plan.routes[1].vehicle_id, 2, None)
    assert forced.distance_m - plan.distance_m == out.cost_delta_m
    assert (check_plan(world, forced) == []) == out.feasible
    out = cost_of_move(hz_ctx, MoveCostRequest(order_id=oid, vehicle_id=plan.routes[0].vehicle_id, position=4))
    assert out.feasible and out.cost_delta_m == 0 and out.shifted_stops == []
    assert len(hz_ctx.store.audit(HZ)) == audit_before
    assert [(p.id, p.status) for p in hz_ctx.store.plans(HZ)] == plans_before


def test_hz_why_unassigned(hz_ctx: ToolContext) -> None:
    world = hz_ctx.world()
    plan = _committed(hz_ctx)
    routed = plan.routes[0].order_ids[0]
    with pytest.raises(InputError, match="in the committed plan; ask why it is on that vehicle"):
        why_unassigned(hz_ctx, WhyUnassignedRequest(order_id=routed))
    hz_ctx.store.update_order(HZ, replace(world.order(routed), cancelled=True))
    out = why_unassigned(hz_ctx, WhyUnassignedRequest(order_id=routed))
    assert out.status == "cancelled"
    huge = Order("NEW-BIG", OrderKind.PICKUP, Location(30.43, 120.275), 45, 60)
    fits = Order("NEW-OK", OrderKind.PICKUP, Location(30.43, 120.275), 1, 60, (TimeWindow(_t("12:00"), _t("16:00")),))
    hz_ctx.store.add_order(HZ, huge)
    hz_ctx.store.add_order(HZ, fits)
    out = why_unassigned(hz_ctx, WhyUnassignedRequest(order_id="NEW-BIG"))
    assert out.status == "not_in_plan" and out.could_insert == []
    assert {r.code for r in out.vehicles} == {"capacity"} and len(out.vehicles) == 6
    out = why_unassigned(hz_ctx, WhyUnassignedRequest(order_id="NEW-OK"))
    assert out.could_insert
    world = hz_ctx.world()
    for opt in out.could_insert:
        forced = apply_move(world, plan, "NEW-OK", opt.vehicle_id, opt.position, None)
        assert forced.distance_m - plan.distance_m == opt.extra_m
        # the cancelled order is still routed and NEW-BIG is in no plan: nothing else may be reported
        rest = [v for v in check_plan(world, forced) if v.rule != "cancelled_order" and not (v.rule == "missing_order" and "NEW-BIG" in v.where)]
        assert rest == []
