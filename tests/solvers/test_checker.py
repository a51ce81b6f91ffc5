"""Tests of the independent feasibility checker.

The domain world puts every place on one meridian, so that the great-circle distance between two places is
simply the difference of their offsets in metres; expected schedules are worked out with that integer
arithmetic here, not with the checker's own haversine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from copilot.core.domain import Depot, Location, Order, OrderKind, Plan, Route, TimeWindow, Unassigned, Vehicle, Visit, World
from copilot.core.ports import FeasibilityChecker, Violation
from copilot.core.routing import FleetVehicle, Pair, RoutingProblem, Stop
from solvers.checker import PlanChecker, check_plan, check_solution, drive_seconds, great_circle_m

# --------------------------------------------------------------------------------------------------
# The domain world
# --------------------------------------------------------------------------------------------------

DAY = 1_704_067_200  # 2024-01-01T00:00:00Z
H = 3600
R_EARTH = 6_371_008.8
BASE_LAT = 1.30
LNG = 103.80
SPEED_KMH = 36.0  # 10 metres a second


def north(metres: int) -> Location:
    """A place ``metres`` north of the depot on the depot's meridian."""
    return Location(BASE_LAT + metres / R_EARTH * 180.0 / math.pi, LNG)


# metres north of the depot
OFFSET = {"depot": 0, "d1": 3000, "pp": 4000, "d2": 6000, "dd": 5000, "p1": 2000, "d3": -3000, "c1": 1000}


def _tw(h0: float, h1: float) -> TimeWindow:
    return TimeWindow(DAY + int(h0 * H), DAY + int(h1 * H))


DEPOT = Depot("dep", "Station", north(0), _tw(6, 22))
V1 = Vehicle("v1", "dep", capacity=10, shift=_tw(8, 17), speed_kmh=SPEED_KMH, skills=frozenset({"fridge"}), max_route_duration_s=8 * H)
V2 = Vehicle("v2", "dep", capacity=6, shift=_tw(8, 17), speed_kmh=SPEED_KMH, skills=frozenset({"lift"}))
ORDERS = (
    Order("d1", OrderKind.DELIVERY, north(OFFSET["d1"]), demand=3, service_s=300, windows=(_tw(9, 10), _tw(14, 15))),
    Order("pp", OrderKind.PICKUP, north(OFFSET["pp"]), demand=2, service_s=60, pair_id="dd"),
    Order("d2", OrderKind.DELIVERY, north(OFFSET["d2"]), demand=2, service_s=120, required_skill="fridge"),
    Order("dd", OrderKind.DELIVERY, north(OFFSET["dd"]), demand=2, service_s=60, pair_id="pp", windows=(_tw(8, 12),)),
    Order("p1", OrderKind.PICKUP, north(OFFSET["p1"]), demand=4, service_s=60, windows=(_tw(8, 12),)),
    Order("d3", OrderKind.DELIVERY, north(OFFSET["d3"]), demand=3, service_s=120, windows=(_tw(10, 12),), required_skill="lift"),
    Order("c1", OrderKind.DELIVERY, north(OFFSET["c1"]), demand=1, cancelled=True),
)
WORLD = World("test", "2024-01-01", 0, (DEPOT,), (V1, V2), ORDERS)
BY_ID = {o.id: o for o in ORDERS}


def _travel(a: str, b: str) -> int:
    metres = abs(OFFSET[a] - OFFSET[b])
    return -(-metres // 10)  # 10 m/s, rounded up


def build_route(vehicle_id: str, start: int, order_ids: Sequence[str], onboard: int = 0) -> Route:
    """Earliest schedule of the orders from ``start``, with loads, by plain integer arithmetic."""
    t, here, dist = start, "depot", 0
    load = onboard + sum(BY_ID[o].demand for o in order_ids if BY_ID[o].kind is OrderKind.DELIVERY and BY_ID[o].pair_id is None)
    start_load = load
    visits = []
    for oid in order_ids:
        order = BY_ID[oid]
        arrival = t + _travel(here, oid)
        dist += abs(OFFSET[here] - OFFSET[oid])
        begin = arrival
        for w in order.windows:
            if w.end >= arrival:
                begin = max(arrival, w.start)
                break
        load += order.demand if order.kind is OrderKind.PICKUP else -order.demand
        visits.append(Visit(oid, arrival, begin, begin + order.service_s, load))
        t, here = begin + order.service_s, oid
    dist += abs(OFFSET[here])
    return Route(vehicle_id, start, t + _travel(here, "depot"), tuple(visits), dist, start_load)


V1_ORDERS = ("d1", "pp", "d2", "dd", "p1")
ROUTE1 = build_route("v1", DAY + int(8.5 * H), V1_ORDERS)
ROUTE2 = build_route("v2", DAY + int(9.75 * H), ("d3",))
PLAN = Plan((ROUTE1, ROUTE2))


def rules(found: list[Violation]) -> set[str]:
    return {v.rule for v in found}


def unchecked_plan(routes: tuple[Route, ...], unassigned: tuple[Unassigned, ...] = ()) -> Plan:
    """A plan that skips the Plan's own validation (the checker must not rely on it)."""
    plan = Plan(())
    object.__setattr__(plan, "routes", routes)
    object.__setattr__(plan, "unassigned", unassigned)
    return plan


def world_with(vehicle: Vehicle | None = None, orders: tuple[Order, ...] | None = None, depot: Depot | None = None) -> World:
    vehicles = tuple(vehicle if vehicle is not None and v.id == vehicle.id else v for v in WORLD.vehicles)
    return replace(WORLD, vehicles=vehicles, orders=orders if orders is not None else WORLD.orders, depots=(depot or DEPOT,))


# --------------------------------------------------------------------------------------------------
# Own arithmetic
# --------------------------------------------------------------------------------------------------


def test_great_circle_one_degree() -> None:
    one_degree = round(R_EARTH * math.pi / 180.0)
    assert great_circle_m(0.0, 0.0, 1.0, 0.0) == one_degree
    assert great_circle_m(0.0, 10.0, 0.0, 11.0) == one_degree
    assert great_circle_m(52.0, 13.0, 52.0, 13.0) == 0
    assert great_circle_m(0.0, 0.0, 0.0, 180.0) == round(R_EARTH * math.pi)


def test_meridian_offsets_are_exact() -> None:
    for ma in OFFSET.values():
        for mb in OFFSET.values():
            la, lb = north(ma), north(mb)
            assert great_circle_m(la.lat, la.lng, lb.lat, lb.lng) == abs(ma - mb)


def test_drive_seconds_rounds_up() -> None:
    assert drive_seconds(1500, 36.0) == 150
    assert drive_seconds(1501, 36.0) == 151
    assert drive_seconds(250, 3.6) == 250
    assert drive_seconds(0, 50.0) == 0


# --------------------------------------------------------------------------------------------------
# check_plan
# --------------------------------------------------------------------------------------------------


def test_hand_computed_schedule() -> None:
    # v1 leaves 08:30, reaches d1 (3 km) at 08:35, waits for its 09:00 window
    d1 = ROUTE1.visits[0]
    assert (d1.arrival, d1.start, d1.departure) == (DAY + 8 * H + 35 * 60, DAY + 9 * H, DAY + 9 * H + 300)
    assert ROUTE1.start_load == 5  # d1 + d2 loaded at the depot, the paired dd is not
    assert [v.load_after for v in ROUTE1.visits] == [2, 4, 2, 0, 4]
    assert ROUTE1.distance_m == 3000 + 1000 + 2000 + 1000 + 3000 + 2000
    assert ROUTE2.visits[0].start == DAY + 10 * H


def test_feasible_plan_has_no_violations() -> None:
    assert check_plan(WORLD, PLAN) == []
    assert PlanChecker().check_plan(WORLD, PLAN, clock=DAY + 9 * H) == []


def test_checker_satisfies_the_port() -> None:
    checker: FeasibilityChecker = PlanChecker()
    assert checker.check_plan(WORLD, PLAN) == []


def test_unassigned_orders_are_fine() -> None:
    plan = Plan((ROUTE1, replace(ROUTE2, visits=(), end=ROUTE2.start, distance_m=0, start_load=0)), (Unassigned("d3", "no time"),))
    assert check_plan(WORLD, plan) == []


def test_second_window_is_accepted() -> None:
    route = build_route("v1", DAY + 13 * H, ("d1",))
    assert route.visits[0].start == DAY + 14 * H
    plan = Plan((route, ROUTE2), (Unassigned("pp", ""), Unassigned("dd", ""), Unassigned("d2", ""), Unassigned("p1", "")))
    assert check_plan(WORLD, plan) == []


def test_late_arrival() -> None:
    late = build_route("v2", DAY + 11 * H + 58 * 60, ("d3",))  # arrives 12:03, window closed at 12:00
    found = check_plan(WORLD, replace(PLAN, routes=(ROUTE1, late)))
    assert rules(found) == {"time_window"}
    assert "d3" in found[0].where


def test_over_capacity() -> None:
    world = world_with(replace(V1, capacity=4))
    found = check_plan(world, PLAN)
    assert "capacity" in rules(found)
    assert rules(found) == {"capacity"}


def test_wrong_skill() -> None:
    r1 = build_route("v1", ROUTE1.start, (*V1_ORDERS, "d3"))
    r2 = Route("v2", ROUTE2.start, ROUTE2.start, (), 0)
    found = check_plan(WORLD, Plan((r1, r2)))
    assert rules(found) == {"skill"}


def test_duplicate_visit() -> None:
    r1 = build_route("v1", ROUTE1.start, (*V1_ORDERS, "d3"))
    found = check_plan(WORLD, unchecked_plan((r1, ROUTE2)))
    assert "duplicate_visit" in rules(found)


def test_duplicate_route_and_routed_and_unassigned() -> None:
    found = check_plan(WORLD, unchecked_plan((ROUTE1, ROUTE2, replace(ROUTE2, visits=())), (Unassigned("d3", "x"),)))
    assert {"duplicate_route", "routed_and_unassigned"} <= rules(found)


def test_missing_order() -> None:
    r2 = Route("v2", ROUTE2.start, ROUTE2.start, (), 0)
    found = check_plan(WORLD, Plan((ROUTE1, r2)))
    assert rules(found) == {"missing_order"}
    assert found[0].where == "order d3"


def test_cancelled_order_routed() -> None:
    r2 = build_route("v2", ROUTE2.start, ("c1", "d3"))
    found = check_plan(WORLD, Plan((ROUTE1, r2)))
    assert rules(found) == {"cancelled_order"}


def test_pair_reversed() -> None:
    r1 = build_route("v1", ROUTE1.start, ("d1", "dd", "d2", "pp", "p1"))
    found = check_plan(WORLD, Plan((r1, ROUTE2)))
    assert "pair" in rules(found)
    assert "capacity" in rules(found)  # the delivery unloads goods not yet on board


def test_pair_split_across_vehicles() -> None:
    r1 = build_route("v1", ROUTE1.start, ("d1", "pp", "d2", "p1"))
    r2 = build_route("v2", ROUTE2.start, ("d3", "dd"))
    found = check_plan(WORLD, Plan((r1, r2)))
    assert "pair" in rules(found)


def test_half_pair_unassigned() -> None:
    r1 = build_route("v1", ROUTE1.start, ("d1", "pp", "d2", "p1"))
    found = check_plan(WORLD, Plan((r1, ROUTE2), (Unassigned("dd", "no room"),)))
    assert rules(found) == {"pair"}


def test_shift_end_exceeded() -> None:
    world = world_with(replace(V2, shift=_tw(8, 10)))  # v2 is back at 10:07
    found = check_plan(world, PLAN)
    assert rules(found) == {"shift_end"}


def test_route_before_shift_and_depot_hours() -> None:
    world = world_with(depot=replace(DEPOT, hours=_tw(9, 10)))
    found = check_plan(world, PLAN)
    assert rules(found) == {"depot_hours"}
    early = build_route("v2", DAY + 7 * H, ("d3",))
    assert "shift_start" in rules(check_plan(WORLD, replace(PLAN, routes=(ROUTE1, early))))


def test_wrong_distance() -> None:
    found = check_plan(WORLD, replace(PLAN, routes=(ROUTE1, replace(ROUTE2, distance_m=ROUTE2.distance_m + 100))))
    assert rules(found) == {"distance"}
    # within 0.5 % + 1 m it passes
    assert check_plan(WORLD, replace(PLAN, routes=(replace(ROUTE1, distance_m=ROUTE1.distance_m + 60), ROUTE2))) == []


def test_vehicle_used_after_unavailable_from() -> None:
    world = world_with(replace(V2, unavailable_from=DAY + 9 * H + 55 * 60))
    found = check_plan(world, PLAN)
    assert rules(found) == {"unavailable_vehicle"}
    # a visit that starts before the breakdown is fine
    assert check_plan(world_with(replace(V2, unavailable_from=DAY + 10 * H)), PLAN) == []


def test_arrival_faster_than_driving() -> None:
    first = ROUTE2.visits[0]
    too_soon = replace(first, arrival=ROUTE2.start + 200)  # needs 300 s for 3 km
    found = check_plan(WORLD, replace(PLAN, routes=(ROUTE1, replace(ROUTE2, visits=(too_soon,)))))
    assert rules(found) == {"travel_time"}
    # one second of slack per leg
    ok = replace(first, arrival=first.arrival - 1)
    assert check_plan(WORLD, replace(PLAN, routes=(ROUTE1, replace(ROUTE2, visits=(ok,))))) == []


def test_end_before_return_and_bad_departure() -> None:
    r2 = replace(ROUTE2, end=ROUTE2.end - 100)
    assert rules(check_plan(WORLD, replace(PLAN, routes=(ROUTE1, r2)))) == {"travel_time"}
    v = ROUTE2.visits[0]
    r2 = replace(ROUTE2, visits=(replace(v, departure=v.departure - 60),))
    assert "schedule" in rules(check_plan(WORLD, replace(PLAN, routes=(ROUTE1, r2))))


def test_max_route_duration() -> None:
    assert ROUTE1.end - ROUTE1.start == 55 * 60  # 08:30 -> 09:25, 25 min of it waiting at d1
    assert check_plan(world_with(replace(V1, max_route_duration_s=55 * 60)), PLAN) == []
    found = check_plan(world_with(replace(V1, max_route_duration_s=45 * 60)), PLAN)
    assert rules(found) == {"max_duration"}


def test_wrong_loads() -> None:
    bad_visit = replace(ROUTE1.visits[1], load_after=5)
    r1 = replace(ROUTE1, visits=(ROUTE1.visits[0], bad_visit, *ROUTE1.visits[2:]))
    assert rules(check_plan(WORLD, replace(PLAN, routes=(r1, ROUTE2)))) == {"load"}
    assert rules(check_plan(WORLD, replace(PLAN, routes=(replace(ROUTE1, start_load=0), ROUTE2)))) == {"load"}


def test_unknown_vehicle_and_order() -> None:
    ghost = replace(ROUTE2, vehicle_id="v9")
    found = check_plan(WORLD, replace(PLAN, routes=(ROUTE1, ghost)))
    assert rules(found) == {"unknown_vehicle"}
    found = check_plan(WORLD, replace(PLAN, unassigned=(Unassigned("zz", "?"),)))
    assert rules(found) == {"unknown_order"}
    v = replace(ROUTE2.visits[0], order_id="zz")
    found = check_plan(WORLD, replace(PLAN, routes=(ROUTE1, replace(ROUTE2, visits=(*ROUTE2.visits, v)))))
    assert "unknown_order" in rules(found)


def test_pickup_done_before_clock() -> None:
    # pp was picked up before the re-plan and is no longer in the plan: its goods are on board from the start
    r1 = build_route("v1", ROUTE1.start, ("d1", "d2", "dd", "p1"), onboard=2)
    plan = Plan((r1, ROUTE2))
    assert check_plan(WORLD, plan, clock=DAY + 9 * H) == []
    assert check_plan(WORLD, replace(plan, clock=DAY + 9 * H)) == []
    # without a clock the pickup is missing, the pair half served, and the loads do not add up
    assert rules(check_plan(WORLD, plan)) == {"missing_order", "pair", "load", "capacity"}


def test_breakdown_replan_keeps_goods_on_board() -> None:
    # v1 served d1 and pp before the 09:08 re-plan, then everything else was dropped: the goods loaded for
    # d2 and picked up at pp stay on board of the route that left at 08:30
    clock = DAY + 9 * H + 8 * 60
    r1 = build_route("v1", ROUTE1.start, ("d1", "pp"), onboard=BY_ID["d2"].demand)
    assert r1.start_load == 5 and r1.visits[-1].start < clock
    dropped = tuple(Unassigned(o, "v1 broke down") for o in ("d2", "dd", "p1"))
    plan = Plan((r1, ROUTE2), dropped)
    assert check_plan(WORLD, plan, clock=clock) == []
    # without a clock both the half pair and the extra start load are wrong
    assert rules(check_plan(WORLD, plan)) == {"pair", "load"}
    # what a route that left before the clock carried is history (the orders' demand may have been changed since
    # it left): more on board than today's orders account for is taken as stated, within the vehicle's capacity
    heavier = build_route("v1", ROUTE1.start, ("d1", "pp"), onboard=BY_ID["d2"].demand + BY_ID["c1"].demand + 1)
    assert check_plan(WORLD, replace(plan, routes=(heavier, ROUTE2)), clock=clock) == []
    overloaded = build_route("v1", ROUTE1.start, ("d1", "pp"), onboard=V1.capacity + 1)
    assert "load" in rules(check_plan(WORLD, replace(plan, routes=(overloaded, ROUTE2)), clock=clock))
    # a route that leaves after the clock loads fresh at the depot
    assert rules(check_plan(WORLD, plan, clock=ROUTE1.start - 1)) == {"pair", "load"}


# --------------------------------------------------------------------------------------------------
# check_solution
# --------------------------------------------------------------------------------------------------


def _line_matrix(n: int, unit: int) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(abs(i - j) * unit for j in range(n)) for i in range(n))


STOPS = (
    Stop("s0", 1, delivery=2, service=10, windows=((0, 1000),)),
    Stop("s1", 2, pickup=3, service=10),
    Stop("s2", 3, delivery=3, service=10),
    Stop("s3", 4, delivery=1, service=10, windows=((0, 100), (500, 2000)), skill="fridge"),
    Stop("s4", 5, pickup=2, service=10, penalty=100, allowed_vehicles=frozenset({0})),
)
FLEET = (
    FleetVehicle("f0", 0, 0, capacity=5, latest_end=5000, skills=frozenset({"fridge"}), max_duration=1060),
    FleetVehicle("f1", 0, 0, capacity=5, latest_end=5000),
)
PROBLEM = RoutingProblem(_line_matrix(6, 1000), (_line_matrix(6, 100),), STOPS, FLEET, pairs=(Pair(1, 2),))
GOOD = [[0, 1, 2, 3, 4], []]


def problem_with(vehicle: int | None = None, stop: int | None = None, **changes: object) -> RoutingProblem:
    if vehicle is not None:
        fleet = list(PROBLEM.vehicles)
        fleet[vehicle] = replace(fleet[vehicle], **changes)  # type: ignore[arg-type]
        return replace(PROBLEM, vehicles=tuple(fleet))
    assert stop is not None
    stops = list(PROBLEM.stops)
    stops[stop] = replace(stops[stop], **changes)  # type: ignore[arg-type]
    return replace(PROBLEM, stops=tuple(stops))


def test_solution_feasible() -> None:
    assert check_solution(PROBLEM, GOOD) == []
    assert check_solution(PROBLEM, [[0, 1, 2, 3, 4]]) == []  # shorter list: f1 unused
    assert PlanChecker().check_solution(PROBLEM, GOOD) == []
    assert check_solution(PROBLEM, [[0, 1, 2, 3]]) == []  # s4 is optional


class _IntLike:
    """Stands for a numpy integer: usable as an index but not an ``int``."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __index__(self) -> int:
        return self.value


def test_solution_accepts_integer_like_indices() -> None:
    assert check_solution(PROBLEM, [[_IntLike(i) for i in GOOD[0]]]) == []  # type: ignore[misc]
    assert rules(check_solution(PROBLEM, [[0, 1, 2, 3, 4, "s1", 2.0, True]])) == {"unknown_stop"}  # type: ignore[list-item]


def test_solution_max_duration_counts_delayed_departure() -> None:
    # leaving at 0 the route is back at 1120 after waiting 70 s at s3; leaving at 70 it lasts 1050 s
    assert check_solution(problem_with(0, max_duration=1050), GOOD) == []
    found = check_solution(problem_with(0, max_duration=1049), GOOD)
    assert rules(found) == {"max_duration"}


@pytest.mark.parametrize(
    ("problem", "routes", "rule"),
    [
        (PROBLEM, [[0, 1, 2, 3, 4, 9]], "unknown_stop"),
        (PROBLEM, [[0, 1, 2, 3, 4, -1]], "unknown_stop"),
        (PROBLEM, [[0, 1, 2, 3, 4], [0]], "duplicate_visit"),
        (PROBLEM, [[0, 1, 2, 3, 4, 0]], "duplicate_visit"),
        (PROBLEM, [[1, 2, 3, 4]], "missing_mandatory"),
        (problem_with(stop=0, windows=((0, 50),)), GOOD, "time_window"),
        (problem_with(stop=3, windows=((0, 100), (200, 300))), GOOD, "time_window"),
        (problem_with(0, latest_end=1000), GOOD, "shift_end"),
        (problem_with(0, max_duration=900), GOOD, "max_duration"),
        (problem_with(0, capacity=3), GOOD, "capacity"),
        (problem_with(0, initial_load=2), GOOD, "capacity"),
        (PROBLEM, [[0, 2, 1, 3, 4]], "pair"),
        (PROBLEM, [[0, 1, 3, 4], [2]], "pair"),
        (PROBLEM, [[0, 1, 3, 4]], "pair"),
        (PROBLEM, [[0, 1, 2, 4], [3]], "skill"),
        (PROBLEM, [[0, 1, 2, 3], [4]], "allowed_vehicle"),
        (PROBLEM, [[0, 1, 2, 3, 4], [], [1]], "unknown_vehicle"),
    ],
)
def test_solution_infeasible(problem: RoutingProblem, routes: list[list[int]], rule: str) -> None:
    found = check_solution(problem, routes)
    assert rule in rules(found), found


def test_solution_single_rule_variants() -> None:
    assert rules(check_solution(problem_with(0, capacity=3), GOOD)) == {"capacity"}
    assert rules(check_solution(PROBLEM, [[0, 1, 2, 4], [3]])) == {"skill"}
    assert rules(check_solution(PROBLEM, [[0, 1, 2, 3], [4]])) == {"allowed_vehicle"}
    assert rules(check_solution(problem_with(stop=0, windows=((0, 50),)), GOOD)) == {"time_window"}


def test_onboard_goods_are_not_loaded_at_the_depot() -> None:
    loaded = problem_with(0, initial_load=2)
    assert "capacity" in rules(check_solution(loaded, GOOD))
    for onboard in (frozenset({0}), [0], ["s0"], {0: [0]}, {"f0": ["s0"]}):
        meta_problem = replace(loaded, meta={"onboard_stops": onboard})
        assert check_solution(meta_problem, GOOD) == [], onboard
    wrong = replace(loaded, meta={"onboard_stops": {1: [0]}})
    assert rules(check_solution(wrong, GOOD)) == {"pair"}


def test_paired_delivery_without_amount_unloads_the_pickup() -> None:
    p = problem_with(stop=2, delivery=0)
    assert check_solution(p, GOOD) == []


# --------------------------------------------------------------------------------------------------
# Property: the shortest route duration equals a brute force over every departure second
# --------------------------------------------------------------------------------------------------


def _brute_shortest(dur: list[list[int]], stops: list[Stop], seq: list[int], ready: int, latest: int) -> int | None:
    best: int | None = None
    for d in range(ready, latest + 1):
        t, here, ok = d, 0, True
        for i in seq:
            s = stops[i]
            arr = t + dur[here][s.location]
            opts = [max(arr, a) for a, b in s.windows if b >= arr]
            if s.windows and not opts:
                ok = False
                break
            t = (min(opts) if opts else arr) + s.service
            here = s.location
        back = t + dur[here][0]
        if ok and back <= latest:
            best = back - d if best is None else min(best, back - d)
    return best


@st.composite
def _duration_cases(draw: st.DrawFn) -> tuple[RoutingProblem, list[int], int]:
    n = draw(st.integers(1, 4))
    size = n + 1
    dur = [[0 if i == j else draw(st.integers(1, 30)) for j in range(size)] for i in range(size)]
    stops = []
    for k in range(n):
        windows: list[tuple[int, int]] = []
        t = draw(st.integers(0, 60))
        for _ in range(draw(st.integers(0, 3))):
            length = draw(st.integers(0, 30))
            windows.append((t, t + length))
            t += length + draw(st.integers(1, 60))
        stops.append(Stop(f"s{k}", k + 1, service=draw(st.integers(0, 10)), windows=tuple(windows)))
    ready = draw(st.integers(0, 20))
    latest = draw(st.integers(150, 300))
    seq = draw(st.permutations(list(range(n))))
    fleet = (FleetVehicle("v", 0, 0, capacity=1, ready=ready, latest_end=latest),)
    matrix = tuple(tuple(row) for row in dur)
    problem = RoutingProblem(matrix, (matrix,), tuple(stops), fleet)
    return problem, list(seq), latest


@settings(max_examples=300, deadline=None)
@given(_duration_cases())
def test_shortest_duration_matches_brute_force(case: tuple[RoutingProblem, list[int], int]) -> None:
    problem, seq, latest = case
    veh = problem.vehicles[0]
    dur = [list(row) for row in problem.durations[0]]
    best = _brute_shortest(dur, list(problem.stops), seq, veh.ready, latest)
    plain = check_solution(problem, [seq])
    if best is None:
        assert plain, "no departure works, the checker must object"
        return
    assert plain == []
    assert check_solution(replace(problem, vehicles=(replace(veh, max_duration=best),)), [seq]) == []
    if best > 0:
        tight = check_solution(replace(problem, vehicles=(replace(veh, max_duration=best - 1),)), [seq])
        assert rules(tight) == {"max_duration"}
