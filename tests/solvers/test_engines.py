"""Contract suite: every routing engine on the same small problems, checked by the independent checker."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest

from copilot.core.errors import InfeasibleError, InputError
from copilot.core.routing import FleetVehicle, Pair, RoutingProblem, SolveOptions, Stop, route_distance
from solvers.auto import AutoSolver
from solvers.checker import check_solution
from solvers.pyvrp_engine import fits

ENGINES = ["ortools", "pyvrp", "auto"]


def _grid_problem(n: int = 12, seed: int = 3, vehicles: int = 3, capacity: int = 20, windows: bool = True) -> RoutingProblem:
    rng = random.Random(seed)
    pts = [(50.0, 50.0)] + [(rng.uniform(0, 100), rng.uniform(0, 100)) for _ in range(n)]
    d = tuple(tuple(round(math.dist(a, b)) for b in pts) for a in pts)
    stops = []
    for k in range(n):
        early = rng.randrange(0, 300)
        stops.append(
            Stop(
                id=f"s{k}",
                location=k + 1,
                delivery=rng.randint(1, 4),
                service=5,
                windows=((early, early + 200),) if windows else (),
            )
        )
    fleet = tuple(FleetVehicle(id=f"v{i}", start=0, end=0, capacity=capacity, ready=0, latest_end=1000) for i in range(vehicles))
    return RoutingProblem(d, (d,), tuple(stops), fleet, name="grid")


def _solve(engine: str, problem: RoutingProblem, **kw: object) -> tuple[list[tuple[int, ...]], tuple[int, ...]]:
    opts = SolveOptions(time_limit_s=float(kw.get("time_limit_s", 1.0)), seed=int(kw.get("seed", 1)), iterations=kw.get("iterations"), engine=engine)  # type: ignore[arg-type]
    sol = AutoSolver().solve(problem, opts)
    return list(sol.routes), sol.dropped


@pytest.mark.parametrize("engine", ENGINES)
def test_serves_every_stop_feasibly(engine: str) -> None:
    p = _grid_problem()
    routes, dropped = _solve(engine, p)
    assert dropped == ()
    assert check_solution(p, routes) == []
    assert sorted(i for r in routes for i in r) == list(range(len(p.stops)))


@pytest.mark.parametrize("engine", ENGINES)
def test_capacity_forces_more_routes(engine: str) -> None:
    p = _grid_problem(windows=False, vehicles=10, capacity=6)
    routes, _ = _solve(engine, p)
    assert check_solution(p, routes) == []
    total = sum(s.delivery for s in p.stops)
    assert sum(1 for r in routes if r) >= math.ceil(total / 6)


@pytest.mark.parametrize("engine", ENGINES)
def test_pickup_and_delivery_pairs(engine: str) -> None:
    base = _grid_problem(n=8, windows=False)
    stops = [replace(s, delivery=0, pickup=2) if k % 2 == 0 else replace(s, delivery=2) for k, s in enumerate(base.stops)]
    pairs = tuple(Pair(k, k + 1) for k in range(0, 8, 2))
    p = replace(base, stops=tuple(stops), pairs=pairs)
    routes, dropped = _solve(engine, p)
    assert dropped == ()
    assert check_solution(p, routes) == []
    for pr in pairs:
        (r,) = [r for r in routes if pr.pickup in r]
        assert pr.delivery in r and r.index(pr.pickup) < r.index(pr.delivery)


@pytest.mark.parametrize("engine", ["ortools", "auto"])
def test_mixed_pickups_and_depot_deliveries_respect_capacity(engine: str) -> None:
    base = _grid_problem(n=10, windows=False, vehicles=4, capacity=8)
    stops = [replace(s, delivery=0, pickup=s.delivery) if k % 2 else s for k, s in enumerate(base.stops)]
    p = replace(base, stops=tuple(stops))
    routes, dropped = _solve(engine, p)
    assert dropped == ()
    assert check_solution(p, routes) == []


@pytest.mark.parametrize("engine", ["ortools", "auto"])
def test_skills_pins_and_several_windows(engine: str) -> None:
    base = _grid_problem(n=10)
    fleet = (replace(base.vehicles[0], skills=frozenset({"bulky"})), *base.vehicles[1:])
    stops = list(base.stops)
    stops[0] = replace(stops[0], skill="bulky")
    stops[1] = replace(stops[1], allowed_vehicles=frozenset({2}))
    stops[2] = replace(stops[2], windows=((0, 30), (600, 700)))
    p = replace(base, stops=tuple(stops), vehicles=fleet)
    assert fits(p) is not None
    routes, dropped = _solve(engine, p)
    assert dropped == ()
    assert check_solution(p, routes) == []
    assert 0 in routes[0] and 1 in routes[2]


def test_pyvrp_refuses_what_it_cannot_model() -> None:
    base = _grid_problem(n=4)
    p = replace(base, stops=(replace(base.stops[0], windows=((0, 30), (600, 700))), *base.stops[1:]))
    with pytest.raises(InputError, match="several time windows"):
        AutoSolver().solve(p, SolveOptions(time_limit_s=0.5, engine="pyvrp"))


def test_pyvrp_models_skills_and_pins_as_load_dimensions() -> None:
    """Every restricted stop lands on a vehicle allowed to serve it, although serving it elsewhere is shorter."""
    base = _grid_problem(n=16, windows=False, vehicles=4, capacity=40)
    fleet = list(base.vehicles)
    fleet[1] = replace(fleet[1], skills=frozenset({"cold"}))
    fleet[2] = replace(fleet[2], skills=frozenset({"cold", "bulky"}))
    stops = list(base.stops)
    for k in range(0, 16, 3):
        stops[k] = replace(stops[k], skill="cold")
    stops[4] = replace(stops[4], skill="bulky")
    stops[5] = replace(stops[5], allowed_vehicles=frozenset({3}))
    stops[7] = replace(stops[7], allowed_vehicles=frozenset({0, 3}))
    p = replace(base, stops=tuple(stops), vehicles=tuple(fleet))
    assert fits(p) is None
    routes, dropped = _solve("pyvrp", p)
    assert dropped == ()
    assert check_solution(p, routes) == []
    on = {si: vi for vi, seq in enumerate(routes) for si in seq}
    assert all(on[k] in (1, 2) for k in range(0, 16, 3))
    assert on[4] == 2 and on[5] == 3 and on[7] in (0, 3)


def test_pyvrp_takes_what_is_on_board_off_the_room() -> None:
    """A vehicle under way with 8 of 10 parcels already picked up has room for 2 more pickups."""
    base = _grid_problem(n=6, windows=False, vehicles=2, capacity=10)
    stops = tuple(replace(s, delivery=0, pickup=1) for s in base.stops)
    fleet = (replace(base.vehicles[0], capacity=4), replace(base.vehicles[1], start=3, initial_load=8))
    p = replace(base, stops=stops, vehicles=fleet)
    assert fits(p) is None
    routes, dropped = _solve("pyvrp", p)
    assert dropped == ()
    assert len(routes[1]) <= 2 and len(routes[0]) <= 4
    assert check_solution(p, routes) == []


def test_replan_that_drops_orders_gets_more_search() -> None:
    """A stable re-plan (disruption cost) whose draft leaves stops out is searched again and serves them."""
    base = _grid_problem(n=30, seed=3, windows=True, vehicles=2, capacity=60)
    stops = tuple(replace(s, penalty=10**9, previous_vehicle=0) for s in base.stops)
    p = replace(base, stops=stops, move_penalty=50)
    draft = AutoSolver().solve(p, SolveOptions(time_limit_s=0.05, engine="ortools", iterations=1))
    sol = AutoSolver().solve(p, SolveOptions(time_limit_s=0.05, iterations=1))
    assert draft.dropped  # one solution of OR-Tools' construction leaves some out
    assert check_solution(p, list(sol.routes)) == []
    assert len(sol.dropped) < len(draft.dropped)
    assert sol.engine == "ortools+pyvrp" and "stable re-plan left" in sol.notes[0]


@pytest.mark.parametrize("engine", ENGINES)
def test_optional_stops_are_dropped_by_penalty(engine: str) -> None:
    base = _grid_problem(n=6, windows=False, vehicles=1, capacity=100)
    stops = list(base.stops)
    stops[0] = replace(stops[0], penalty=1)  # cheaper to drop than to visit
    stops[1] = replace(stops[1], penalty=10**6)  # worth visiting
    p = replace(base, stops=tuple(stops))
    routes, dropped = _solve(engine, p)
    assert 0 in dropped and 1 not in dropped
    assert check_solution(p, routes) == []


@pytest.mark.parametrize("engine", ENGINES)
def test_vehicle_continuing_mid_route_with_goods_on_board(engine: str) -> None:
    base = _grid_problem(n=6, windows=False, vehicles=2, capacity=10)
    stops = list(base.stops)
    stops[0] = replace(stops[0], delivery=4, allowed_vehicles=frozenset({1}))  # goods already on v1
    fleet = (base.vehicles[0], replace(base.vehicles[1], start=3, ready=100, initial_load=7))
    p = replace(base, stops=tuple(stops), vehicles=fleet, meta={"onboard_stops": [0]})
    routes, dropped = _solve(engine, p)
    assert dropped == ()
    assert 0 in routes[1]
    assert check_solution(p, routes) == []


def test_mandatory_stop_nobody_may_serve_is_infeasible() -> None:
    base = _grid_problem(n=3)
    p = replace(base, stops=(replace(base.stops[0], skill="crane"), *base.stops[1:]))
    with pytest.raises(InfeasibleError, match=r"crane|no vehicle"):
        AutoSolver().solve(p, SolveOptions(time_limit_s=0.5))


@pytest.mark.parametrize("engine", ["ortools", "pyvrp"])
def test_same_seed_same_plan(engine: str) -> None:
    p = _grid_problem(n=25, vehicles=5)
    a = _solve(engine, p, iterations=200, time_limit_s=30.0, seed=7)
    b = _solve(engine, p, iterations=200, time_limit_s=30.0, seed=7)
    assert a == b


def test_warm_start_is_used_and_never_worse() -> None:
    p = _grid_problem(n=20, vehicles=4)
    first, _ = _solve("ortools", p, time_limit_s=1.0)
    warm = replace(p, warm_start=tuple(first))
    again, dropped = _solve("ortools", warm, iterations=1, time_limit_s=5.0)
    assert dropped == ()
    cost = lambda rs: sum(route_distance(p, i, r) for i, r in enumerate(rs))  # noqa: E731
    assert cost(again) <= cost(first)


def test_unknown_engine_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="unknown engine"):
        AutoSolver().solve(_grid_problem(n=2), SolveOptions(engine="gurobi"))


@pytest.mark.parametrize("engine", ENGINES)
def test_multi_depot_vehicles_return_to_their_own_depot(engine: str) -> None:
    pts = [(0.0, 0.0), (100.0, 100.0)] + [(float(x), float(x)) for x in (2, 4, 6, 94, 96, 98)]
    d = tuple(tuple(round(math.dist(a, b)) for b in pts) for a in pts)
    stops = tuple(Stop(id=f"s{k}", location=k + 2, delivery=1) for k in range(6))
    fleet = (FleetVehicle("a", 0, 0, 10), FleetVehicle("b", 1, 1, 10))
    p = RoutingProblem(d, (d,), stops, fleet)
    routes, dropped = _solve(engine, p)
    assert dropped == () and check_solution(p, routes) == []
    assert set(routes[0]) == {0, 1, 2} and set(routes[1]) == {3, 4, 5}


@pytest.mark.parametrize("engine", ENGINES)
def test_maximum_route_duration_splits_routes(engine: str) -> None:
    base = _grid_problem(n=10, windows=False, vehicles=6, capacity=100)
    p = replace(base, vehicles=tuple(replace(v, max_duration=260) for v in base.vehicles))
    routes, dropped = _solve(engine, p)
    assert dropped == () and check_solution(p, routes) == []
    assert sum(1 for r in routes if r) >= 2


def test_vroom_engine_holds_skills_pins_and_goods_on_board() -> None:
    base = _grid_problem(n=16, windows=False, vehicles=3, capacity=40)
    stops = list(base.stops)
    stops[0] = replace(stops[0], skill="cold")
    stops[1] = replace(stops[1], allowed_vehicles=frozenset({2}))
    stops[2] = replace(stops[2], delivery=4, allowed_vehicles=frozenset({1}))  # goods already on v1
    fleet = (base.vehicles[0], replace(base.vehicles[1], start=3, ready=50, initial_load=30), replace(base.vehicles[2], skills=frozenset({"cold"})))
    p = replace(base, stops=tuple(stops), vehicles=fleet, meta={"onboard_stops": [2]})
    routes, dropped = _solve("vroom", p)
    assert dropped == ()
    assert check_solution(p, routes) == []
    assert 0 in routes[2] and 1 in routes[2] and 2 in routes[1]


def test_the_engine_names_agree_everywhere() -> None:
    from typing import get_args

    from copilot.apps.scenario import Planning
    from copilot.core.routing import ENGINE_NAMES
    from solvers.auto import ENGINES

    assert ENGINES == ENGINE_NAMES
    assert get_args(Planning.model_fields["engine"].annotation) == ENGINE_NAMES


def test_a_restricted_problem_is_solved_by_two_searches_and_the_better_is_kept() -> None:
    p = _restricted()
    sol = AutoSolver().solve(p, SolveOptions(time_limit_s=1.0, seed=1))
    assert check_solution(p, list(sol.routes)) == []
    note = " ".join(sol.notes)
    assert "portfolio" in note and "pyvrp:" in note and "ortools (second):" in note


def _restricted(n: int = 20) -> RoutingProblem:
    base = _grid_problem(n=n, windows=True, vehicles=4, capacity=40)
    fleet = tuple(replace(v, skills=frozenset({"cold"})) if i % 2 else v for i, v in enumerate(base.vehicles))
    stops = tuple(replace(s, skill="cold", penalty=10**9) if i % 4 == 0 else replace(s, penalty=10**9) for i, s in enumerate(base.stops))
    return replace(base, stops=stops, vehicles=fleet)


def test_a_large_restricted_problem_starts_both_searches_from_vroom(monkeypatch: pytest.MonkeyPatch) -> None:
    import solvers.auto as auto

    monkeypatch.setattr(auto, "PORTFOLIO_ORTOOLS_MAX_STOPS", 10)  # this 20-stop problem counts as large
    p = _restricted()
    sol = AutoSolver().solve(p, SolveOptions(time_limit_s=2.0, seed=1))
    assert check_solution(p, list(sol.routes)) == []
    assert sol.dropped == ()
    note = " ".join(sol.notes)
    assert "portfolio (skills or pins)" in note and "vroom+pyvrp: " in note and "vroom+pyvrp (second): " in note
    assert "ortools" not in note


def test_a_pickup_and_delivery_day_runs_the_hybrid_against_vroom_then_pyvrp() -> None:
    base = _grid_problem(n=8, windows=False)
    stops = [replace(s, delivery=0, pickup=2) if k % 2 == 0 else replace(s, delivery=2) for k, s in enumerate(base.stops)]
    p = replace(base, stops=tuple(stops), pairs=tuple(Pair(k, k + 1) for k in range(0, 8, 2)))
    sol = AutoSolver().solve(p, SolveOptions(time_limit_s=2.0, seed=1))
    assert check_solution(p, list(sol.routes)) == [] and sol.dropped == ()
    note = " ".join(sol.notes)
    assert "portfolio (pickup-and-delivery)" in note and "ortools+pyvrp: " in note and "vroom+pyvrp (second): " in note
