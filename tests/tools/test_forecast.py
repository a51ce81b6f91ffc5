"""Demand tools on the jilin-1001 world, the read-only history queries (SQLite and PostgreSQL), and history CSV import."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import scratch_pg
from sqlalchemy import exc, func, insert, literal, select, text

from copilot.core.domain import HistoryRow, World
from copilot.core.errors import ConfigurationError, ImportFailed, InputError, NotFound
from solvers.auto import AutoSolver
from solvers.checker import PlanChecker
from solvers.forecast_statsforecast import StatsForecaster
from tools.context import ToolContext
from tools.forecast import (
    FleetSizeRequest,
    ForecastRequest,
    HistoryRequest,
    ProfileRequest,
    day_of_week_profile,
    fleet_size,
    forecast_demand,
    forecast_total,
    history_volume,
    list_series,
)
from tools.history_io import read_history_csv
from tools.planning import PlanningDeps
from tools.sql import SqlStore
from tools.sql.history import HistoryQueries, QueryTimeout, ReadOnlyViolation
from tools.sql.schema import history
from tools.world_io import read_world

DATA = Path(__file__).resolve().parents[1] / "data"
JL = "jilin-1001"


@pytest.fixture(scope="module")
def forecaster() -> StatsForecaster:
    return StatsForecaster()


@pytest.fixture(scope="module")
def jl_world() -> World:
    return read_world(DATA / "worlds" / JL)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a scratch PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{(tmp_path / 'history.sqlite3').as_posix()}"
        return
    with scratch_pg() as url:
        yield url


@pytest.fixture
def jl_store(db_url: str, jl_world: World) -> Iterator[SqlStore]:
    store = SqlStore(db_url)
    store.upgrade()
    store.import_world(jl_world)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def jl_ctx(tmp_path: Path, jl_world: World, forecaster: StatsForecaster) -> Iterator[ToolContext]:
    store = SqlStore(f"sqlite:///{(tmp_path / 'jl.sqlite3').as_posix()}")
    store.upgrade()
    store.import_world(jl_world)
    try:
        yield ToolContext(store=store, planning=PlanningDeps(AutoSolver(), PlanChecker()), world_name=JL, forecaster=forecaster)
    finally:
        store.close()


# -------------------------------------------------------------------------------------------- tools


def test_history_volume_region_53_last_week_of_september(jl_ctx: ToolContext) -> None:
    out = history_volume(jl_ctx, HistoryRequest(series="53", start="2022-09-24", end="2022-09-30"))
    assert out.total == 630
    assert [d.date for d in out.days] == [f"2022-09-{d}" for d in range(24, 31)]
    assert out.days_with_data == 7 and out.note is None
    default = history_volume(jl_ctx, HistoryRequest(series=" 53 "))  # the last 7 days by default, spaces ignored
    assert (default.start, default.end, default.total) == ("2022-09-24", "2022-09-30", 630)


def test_forecast_for_jilin_starts_on_the_operating_day(jl_ctx: ToolContext) -> None:
    out = forecast_demand(jl_ctx, ForecastRequest(series="31", days=7))
    assert out.history_end == "2022-09-30"
    assert [d.date for d in out.days] == [f"2022-10-0{d}" for d in range(1, 8)]
    assert out.first_day == jl_ctx.world().date == "2022-10-01"
    assert out.total == pytest.approx(sum(d.forecast for d in out.days), abs=0.5)
    assert out.total_lower < out.total < out.total_upper
    assert not out.fallback and out.model
    # the evaluator's number is the tool's number, and it does not change between calls
    assert forecast_total(jl_ctx, "31", 7) == out.total
    assert forecast_demand(jl_ctx, ForecastRequest(series="31", days=7)) == out
    three = forecast_demand(jl_ctx, ForecastRequest(series="129", days=3))
    assert len(three.days) == 3 and three.last_day == "2022-10-03"
    assert 100 < three.total < 300  # about 60-80 a day in September
    before = jl_ctx.store.load_world(JL)
    assert jl_ctx.store.load_world(JL) == before and len(jl_ctx.store.audit(JL)) == 1  # read-only: only the import is audited


def test_unknown_series_and_missing_forecaster(jl_ctx: ToolContext) -> None:
    with pytest.raises(NotFound, match=r"unknown series id '99'.*129, 165, 31, 53"):
        forecast_demand(jl_ctx, ForecastRequest(series="99", days=7))
    with pytest.raises(NotFound, match="unknown series"):
        history_volume(jl_ctx, HistoryRequest(series="region 31"))
    with pytest.raises(InputError, match="start 2022-09-30 is after end 2022-09-01"):
        history_volume(jl_ctx, HistoryRequest(series="31", start="2022-09-30", end="2022-09-01"))
    with pytest.raises(InputError, match="date like"):
        history_volume(jl_ctx, HistoryRequest(series="31", start="30/09/2022"))
    jl_ctx.forecaster = None
    with pytest.raises(ConfigurationError, match="no forecaster is configured"):
        forecast_total(jl_ctx, "31", 7)


def test_list_series_and_weekday_profile(jl_ctx: ToolContext) -> None:
    listed = list_series(jl_ctx)
    assert [s.series for s in listed.series] == ["31", "53", "129", "165"]
    r53 = listed.series[1]
    assert (r53.first_day, r53.last_day, r53.days) == ("2022-05-13", "2022-09-30", 141)
    profile = day_of_week_profile(jl_ctx, ProfileRequest(series="31", start="2022-06-27", end="2022-09-25"))
    assert [w.weekday for w in profile.weekdays] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert all(w.days == 13 for w in profile.weekdays)
    assert profile.weekdays[2].mean == 68.9 and profile.busiest == "Wed"  # the data README's steady-window table
    assert profile.max_min_ratio == 1.17


def test_fleet_size_is_quick_and_repeatable(jl_ctx: ToolContext) -> None:
    request = FleetSizeRequest(samples=2, iterations=20, seed=3)
    out = fleet_size(jl_ctx, request)
    assert out.day == "2022-10-01" and out.series == ["31", "53", "129", "165"]
    assert 150 < out.volume_forecast < 350
    assert all(s.unserved == 0 and s.vehicles >= -(-s.orders // 60) for s in out.samples)  # at least orders / capacity
    assert out.vehicles_p50 <= out.vehicles_p90 and out.fleet_available == 4
    assert "disk around" in out.location_model
    assert fleet_size(jl_ctx, request) == out
    with pytest.raises(InputError, match="1 to 28 days after"):
        fleet_size(jl_ctx, FleetSizeRequest(day="2022-09-15", samples=1))


# ------------------------------------------------------------------------------ read-only queries


def test_write_attempts_through_the_query_layer_fail(jl_store: SqlStore) -> None:
    reader = jl_store.history_reader()
    before = reader.daily(JL, "53")
    for statement in (insert(history).values(world_id=1, seq=10_000, date="2022-10-01", series="53", volume=1), text("DELETE FROM history")):
        with pytest.raises(ReadOnlyViolation, match="only SELECT"):
            reader.run_select(statement)  # type: ignore[arg-type]
    with pytest.raises(ReadOnlyViolation, match="does not lock"):
        reader.run_select(select(history.c.seq).with_for_update())
    # past the guard, the connection itself refuses to write
    with reader._engine.connect() as conn, pytest.raises(exc.DBAPIError, match=r"(?i)read-?only"):
        conn.exec_driver_sql("DELETE FROM history")
    assert reader.daily(JL, "53") == before


def test_queries_have_row_limits_and_a_time_out(jl_store: SqlStore) -> None:
    url = jl_store._engine.url
    small = HistoryQueries(url, max_rows=10)
    try:
        with pytest.raises(InputError, match="more than 10 rows"):
            small.daily(JL, "31")
        assert len(small.daily(JL, "31", "2022-09-21", "2022-09-30")) == 10
    finally:
        small.close()
    slow = HistoryQueries(url, timeout_s=0.2)
    try:
        n = select(literal(1).label("n")).cte("n", recursive=True)
        n = n.union_all(select(n.c.n + 1).where(n.c.n < 10**9))
        with pytest.raises(QueryTimeout, match=r"longer than 0\.2 s"):
            slow.run_select(select(func.count()).select_from(n))
        assert slow.total(JL, "53", "2022-09-24", "2022-09-30") == (630, 7)  # the connection is still usable
    finally:
        slow.close()


def test_unknown_world_or_series_in_queries(jl_store: SqlStore) -> None:
    reader = jl_store.history_reader()
    with pytest.raises(NotFound, match=r"unknown world id 'nowhere'.*jilin-1001"):
        reader.series("nowhere")
    with pytest.raises(NotFound, match="unknown series id '7'"):
        reader.daily(JL, "7")


# ------------------------------------------------------------------------------ history CSV import


def _csv(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "volumes.csv"
    path.write_text(body, encoding="utf-8")
    return path


def test_bad_history_csv_is_rejected_with_every_problem_located(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "day,hub,orders\n"
        "2022-09-01,A,10\n"
        ",A,11\n"  # missing date
        "2022-09-31,A,12\n"  # not a date
        "2022-09-02,A,-3\n"  # negative
        "2022-09-03,A,many\n"  # not a number
        "2022-09-03,B,2.5\n"  # not whole
        "2022-09-01,A,9\n",  # the same day twice
    )
    with pytest.raises(ImportFailed) as caught:
        read_history_csv(path, key="hub", value="orders", date_column="day")
    text_ = str(caught.value)
    for expected in (
        "volumes.csv row 3, column day: the date is missing",
        "volumes.csv row 4, column day: expected a date like 2022-05-13, got '2022-09-31'",
        "volumes.csv row 5, column orders: expected a whole number of orders, zero or more, got '-3'",
        "volumes.csv row 6, column orders: expected a whole number of orders, zero or more, got 'many'",
        "volumes.csv row 7, column orders: expected a whole number of orders, zero or more, got '2.5'",
        "volumes.csv row 8, column day: series 'A' has two rows for 2022-09-01: rows 2 and 8",
    ):
        assert expected in text_
    with pytest.raises(ImportFailed, match="missing required column volume"):
        read_history_csv(path, key="hub", value="volume", date_column="day")


def test_missing_days_are_an_error_unless_filled_with_zero(tmp_path: Path) -> None:
    path = _csv(tmp_path, "date,region,courier,n\n2022-09-01,1,x,5\n2022-09-04,1,x,7\n2022-09-01,1,y,1\n")
    with pytest.raises(ImportFailed, match=r"series 1/x: 2 missing day\(s\) between 2022-09-01 and 2022-09-04: 2022-09-02, 2022-09-03"):
        read_history_csv(path, key="region,courier", value="n")
    data = read_history_csv(path, key=["region", "courier"], value="n", missing="zero")
    assert data.filled == {"1/x": ["2022-09-02", "2022-09-03"]}
    assert [(r.series, r.date, r.volume) for r in data.rows] == [
        ("1/x", "2022-09-01", 5),
        ("1/x", "2022-09-02", 0),
        ("1/x", "2022-09-03", 0),
        ("1/x", "2022-09-04", 7),
        ("1/y", "2022-09-01", 1),
    ]


def test_history_import_into_the_store(jl_store: SqlStore) -> None:
    data = read_history_csv(DATA / "lade_jilin" / "daily_volume_by_courier_region165.csv", key="courier_id", value="deliveries", end="2022-09-30")
    jl_store.import_history(JL, data.rows, actor="tester")
    reader = jl_store.history_reader()
    assert [s.key for s in reader.series(JL)] == ["31", "53", "129", "165", "290", "1656", "2709", "3156", "3867"]
    assert jl_store.audit(JL)[-1].action == "import_history"
    with pytest.raises(InputError, match="already has history for series 1656, 2709, 290, 3156, 3867"):
        jl_store.import_history(JL, data.rows)
    jl_store.import_history(JL, [HistoryRow("2022-09-30", "290", 4)], replace=True)
    assert reader.daily(JL, "290") == [("2022-09-30", 4)]
    assert reader.total(JL, "53") == (10229, 141)  # other series untouched
