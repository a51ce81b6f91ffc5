"""Domain model: validation at construction with messages a user understands, and plan invariants."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from copilot.core.domain import Depot, Location, Order, OrderKind, Plan, Route, TimeWindow, Vehicle, Visit, World
from copilot.core.errors import InputError, NotFound
from copilot.core.units import format_clock, haversine_m, haversine_matrix, parse_offset, parse_time, travel_matrices, travel_seconds

T0 = parse_time("2022-05-01T08:00:00+08:00")
HOME = Location(30.43, 120.27)


def _world(**kw: object) -> World:
    depot = Depot("D1", "station", HOME, TimeWindow(T0, T0 + 12 * 3600))
    v = Vehicle("V1", "D1", 10, TimeWindow(T0, T0 + 8 * 3600), 18.0, skills=frozenset({"bulky"}))
    o = Order("O1", OrderKind.PICKUP, Location(30.44, 120.28), 2, 120, (TimeWindow(T0, T0 + 3600),))
    args: dict[str, object] = {"name": "w", "date": "2022-05-01", "utc_offset_s": 8 * 3600, "depots": (depot,), "vehicles": (v,), "orders": (o,)}
    args.update(kw)
    return World(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Location(91.0, 0.0), "latitude must be a number between -90 and 90"),
        (lambda: Location(0.0, float("nan")), "longitude must be a number between -180 and 180"),
        (lambda: TimeWindow(10, 5), "ends (5) before it starts (10)"),
        (lambda: Vehicle("V", "D", 0, TimeWindow(0, 1), 18.0), "capacity must be a positive whole number"),
        (lambda: Vehicle("V", "D", 5, TimeWindow(0, 1), -3.0), "speed must be between 0 and 200"),
        (lambda: Vehicle(" V", "D", 5, TimeWindow(0, 1), 10.0), "leading or trailing spaces"),
        (lambda: Order("O", OrderKind.PICKUP, HOME, -1), "demand must be a whole number of parcels"),
        (lambda: Order("O", OrderKind.PICKUP, HOME, 1, windows=(TimeWindow(0, 10), TimeWindow(5, 20))), "time windows overlap"),
        (lambda: Order("O", OrderKind.PICKUP, HOME, 1, pair_id="O"), "cannot be paired with itself"),
        (lambda: Order("", OrderKind.PICKUP, HOME, 1), "order id must be a non-empty text"),
    ],
)
def test_invalid_values_are_rejected_with_a_clear_message(build: object, message: str) -> None:
    with pytest.raises(InputError) as exc:
        build()  # type: ignore[operator]
    assert message in str(exc.value)


def test_world_checks_references() -> None:
    w = _world()
    with pytest.raises(InputError, match="unknown depot 'D9'"):
        _world(vehicles=(Vehicle("V2", "D9", 5, TimeWindow(T0, T0 + 10), 18.0),))
    with pytest.raises(InputError, match="duplicate order id 'O1'"):
        _world(orders=(w.orders[0], w.orders[0]))
    with pytest.raises(InputError, match="no vehicle has skill 'crane'"):
        _world(orders=(Order("O2", OrderKind.PICKUP, HOME, 1, required_skill="crane"),))
    with pytest.raises(NotFound, match="unknown order id 'nope'"):
        w.order("nope")


def test_plan_rejects_double_visits() -> None:
    v = Visit("O1", T0, T0, T0 + 60, 2)
    route = Route("V1", T0, T0 + 600, (v, v), 1000)
    with pytest.raises(InputError, match="more than once"):
        Plan((route,))


def test_units_round_trip_and_known_distance() -> None:
    assert parse_offset("+08:00") == 8 * 3600 and parse_offset("-05:30") == -(5 * 3600 + 1800)
    assert format_clock(T0, 8 * 3600) == "08:00"
    with pytest.raises(ValueError, match="with offset"):
        parse_time("2022-05-01 08:00")
    # One degree of latitude is about 111.2 km.
    assert abs(haversine_m(30.0, 120.0, 31.0, 120.0) - 111_195) < 50
    assert travel_seconds(18_000, 18.0) == 3600


@settings(max_examples=60, deadline=None)
@given(
    lat1=st.floats(-89, 89),
    lng1=st.floats(-179, 179),
    lat2=st.floats(-89, 89),
    lng2=st.floats(-179, 179),
    lat3=st.floats(-89, 89),
    lng3=st.floats(-179, 179),
)
def test_haversine_is_a_metric(lat1: float, lng1: float, lat2: float, lng2: float, lat3: float, lng3: float) -> None:
    ab, ba = haversine_m(lat1, lng1, lat2, lng2), haversine_m(lat2, lng2, lat1, lng1)
    assert ab == ba and ab >= 0
    assert haversine_m(lat1, lng1, lat3, lng3) <= ab + haversine_m(lat2, lng2, lat3, lng3) + 2


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-89, 89), st.floats(-179, 179)), min_size=0, max_size=12), st.lists(st.floats(1, 90), min_size=1, max_size=3))
def test_travel_matrices_are_entry_for_entry_the_pairwise_functions(points: list[tuple[float, float]], speeds: list[float]) -> None:
    points = points + points[:2]  # repeated points: zero off the diagonal as well
    dist, durations = travel_matrices(points, speeds)
    assert [list(r) for r in dist] == haversine_matrix(points)
    n = len(points)
    assert all(dist[i][j] == (haversine_m(*points[i], *points[j]) if i != j else 0) for i in range(n) for j in range(n))
    assert len(durations) == len(speeds)
    for speed, matrix in zip(speeds, durations, strict=True):
        assert all(matrix[i][j] == travel_seconds(dist[i][j], speed) for i in range(n) for j in range(n))


def test_travel_matrices_share_one_int_object_per_value() -> None:
    points = [(30.0 + k * 0.01, 120.0) for k in range(6)] * 2
    dist, durations = travel_matrices(points, [20.0, 30.0])
    seen: dict[int, int] = {}
    for m in (dist, *durations):
        for row in m:
            for v in row:
                assert seen.setdefault(v, id(v)) == id(v)
