"""Questions over the data (tools/query.py, compiled in tools/sql/aggregates.py) on a real store.

Every expected number is computed here independently: with pandas over the jilin-1001 world's history.csv,
and from the stored plan's routes for the orders of hangzhou-0501.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import scratch_pg
from pydantic import ValidationError

from copilot.core.domain import PlanStatus, Unassigned, World
from copilot.core.errors import InputError
from copilot.core.ports import DataQuery
from solvers.auto import AutoSolver
from solvers.checker import PlanChecker
from tools.context import ToolContext
from tools.planning import PlanningDeps, PlanSettings
from tools.query import QueryResult, QuerySpec, run_query
from tools.sql import SqlStore
from tools.sql.aggregates import DataQueries
from tools.world_io import read_world

DATA = Path(__file__).resolve().parents[1] / "data"
JL = "jilin-1001"
HZ = "hangzhou-0501"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@pytest.fixture(scope="module")
def jl_world() -> World:
    return read_world(DATA / "worlds" / JL)


@pytest.fixture(scope="module")
def hist() -> pd.DataFrame:
    """The world's history as the CSV has it: one row per region and day."""
    df = pd.read_csv(DATA / "worlds" / JL / "history.csv", dtype={"region": str, "date": str})
    df["ts"] = pd.to_datetime(df["date"])
    return df


def _ctx(store: SqlStore, world: str) -> ToolContext:
    return ToolContext(store=store, planning=PlanningDeps(AutoSolver(), PlanChecker()), world_name=world, settings=PlanSettings(time_limit_s=1.0))


@pytest.fixture
def jl_ctx(tmp_path: Path, jl_world: World) -> Iterator[ToolContext]:
    store = SqlStore(f"sqlite:///{(tmp_path / 'query.sqlite3').as_posix()}")
    store.upgrade()
    store.import_world(jl_world)
    try:
        yield _ctx(store, JL)
    finally:
        store.close()


def ask(ctx: ToolContext, **spec: Any) -> QueryResult:
    return run_query(ctx, QuerySpec(**spec))


def _between(df: pd.DataFrame, lo: str, hi: str) -> pd.DataFrame:
    return df[(df["date"] >= lo) & (df["date"] <= hi)]


# -- history ------------------------------------------------------------------------------------


def test_busiest_region_in_july_is_the_top_group_of_the_sums(jl_ctx: ToolContext, hist: pd.DataFrame) -> None:
    july = _between(hist, "2022-07-01", "2022-07-31")
    sums = july.groupby("region")["volume"].sum()
    res = ask(jl_ctx, source="history", metric="sum", field="volume", group_by=["region"], date_from="2022-07-01", date_to="2022-07-31", order="desc", top_k=1)
    assert len(res.rows) == 1
    row = res.rows[0]
    assert row.group == {"region": sums.idxmax()} and row.value == int(sums.max())
    assert isinstance(row.value, int) and row.rows == int((july["region"] == sums.idxmax()).sum())
    assert res.groups == 4 and res.total == int(july["volume"].sum())
    assert res.period is not None and (res.period.days_in_range, res.period.days_with_data) == (31, 31)
    assert res.note is None and "per region" in res.meaning and "largest first" in res.meaning


def test_peak_day_of_one_region_and_each_day_of_a_week(jl_ctx: ToolContext, hist: pd.DataFrame) -> None:
    sep31 = _between(hist[hist["region"] == "31"], "2022-09-01", "2022-09-30")
    peak = ask(jl_ctx, source="history", metric="sum", group_by=["date"], regions=["31"], date_from="2022-09-01", date_to="2022-09-30", order="desc", top_k=1)
    best = sep31["volume"].max()
    assert peak.rows[0].value == int(best)
    assert peak.rows[0].group["date"] == min(sep31[sep31["volume"] == best]["date"])  # ties: the earliest day
    assert peak.spec.field == "volume" and peak.groups == 30

    week = ask(jl_ctx, source="history", metric="sum", group_by=["date"], regions=[" 129 "], date_from="2022-09-20", date_to="2022-09-26")
    want = _between(hist[hist["region"] == "129"], "2022-09-20", "2022-09-26").sort_values("date")
    assert [(r.group["date"], r.value) for r in week.rows] == list(zip(want["date"], want["volume"].astype(int), strict=True))
    assert week.total == int(want["volume"].sum()) and week.groups == 7


def test_total_of_all_regions_on_one_day(jl_ctx: ToolContext, hist: pd.DataFrame) -> None:
    res = ask(jl_ctx, source="history", metric="sum", date_from="2022-09-10", date_to="2022-09-10")
    day = hist[hist["date"] == "2022-09-10"]
    assert [(r.group, r.value, r.rows) for r in res.rows] == [({}, int(day["volume"].sum()), len(day))]
    assert res.total == int(day["volume"].sum())
    counted = ask(jl_ctx, source="history", metric="count", date_from="2022-09-01", date_to="2022-09-30")
    assert counted.rows[0].value == counted.total == len(_between(hist, "2022-09-01", "2022-09-30"))


def test_means_maxima_and_weekdays(jl_ctx: ToolContext, hist: pd.DataFrame) -> None:
    r31 = hist[hist["region"] == "31"]
    res = ask(jl_ctx, source="history", metric="mean", group_by=["weekday"], regions=["31"])
    want = r31.groupby(r31["ts"].dt.weekday)["volume"].agg(["sum", "count"])
    assert [r.group["weekday"] for r in res.rows] == list(WEEKDAYS)
    for r in res.rows:
        s, n = want.loc[WEEKDAYS.index(str(r.group["weekday"]))]
        assert r.value == round(int(s) / int(n), 2) and r.rows == n
    assert res.total is None  # a mean has no total

    months = ask(jl_ctx, source="history", metric="max", group_by=["region", "month"], order="asc", top_k=3)
    per = hist.assign(month=hist["date"].str[:7]).groupby(["region", "month"])["volume"].max().reset_index()
    per = per.sort_values(["volume", "region", "month"]).head(3)
    assert [(r.group["region"], r.group["month"], r.value) for r in months.rows] == list(zip(per["region"], per["month"], per["volume"].astype(int), strict=True))
    assert months.groups == len(hist.assign(month=hist["date"].str[:7]).groupby(["region", "month"]))


def test_top_k_without_order_takes_the_largest(jl_ctx: ToolContext, hist: pd.DataFrame) -> None:
    res = ask(jl_ctx, source="history", metric="sum", group_by=["region"], top_k=2)
    sums = hist.groupby("region")["volume"].sum().sort_values(ascending=False)
    assert res.spec.order == "desc"
    assert [(r.group["region"], r.value) for r in res.rows] == [(k, int(v)) for k, v in sums.head(2).items()]
    plain = ask(jl_ctx, source="history", metric="sum", group_by=["region"])
    assert [r.group["region"] for r in plain.rows] == ["31", "53", "129", "165"]  # by group, numbers by value


def test_compare_period_side_by_side(jl_ctx: ToolContext, hist: pd.DataFrame) -> None:
    res = ask(
        jl_ctx, source="history", metric="sum", group_by=["region"], date_from="2022-07-01", date_to="2022-07-31", compare_from="2022-06-01", compare_to="2022-06-30"
    )
    july = _between(hist, "2022-07-01", "2022-07-31").groupby("region")["volume"].sum()
    june = _between(hist, "2022-06-01", "2022-06-30").groupby("region")["volume"].sum()
    assert len(res.rows) == 4
    for r in res.rows:
        key = str(r.group["region"])
        a, b = int(july[key]), int(june[key])
        assert (r.value, r.compare_value, r.difference) == (a, b, a - b)
        assert r.percent_change == round((a - b) / b * 100, 2)
    assert res.compare is not None
    assert res.compare.total == int(june.sum()) and res.total == int(july.sum())
    assert res.compare.difference == int(july.sum() - june.sum())
    assert res.compare.percent_change == round((july.sum() - june.sum()) / june.sum() * 100, 2)
    assert res.compare.period.days_in_range == 30 and res.compare.period.days_with_data == 30
    assert res.note is not None and "different lengths" in res.note

    mean = ask(jl_ctx, source="history", metric="mean", regions=["53"], date_from="2022-09-01", date_to="2022-09-07", compare_from="2022-08-01", compare_to="2022-08-07")
    s = _between(hist[hist["region"] == "53"], "2022-09-01", "2022-09-07")["volume"]
    c = _between(hist[hist["region"] == "53"], "2022-08-01", "2022-08-07")["volume"]
    row = mean.rows[0]
    assert (row.value, row.compare_value) == (round(s.sum() / 7, 2), round(c.sum() / 7, 2))
    assert row.difference == round(s.sum() / 7 - c.sum() / 7, 2)
    assert row.percent_change == round((s.sum() - c.sum()) / c.sum() * 100, 2)


def test_period_reports_the_days_with_data(jl_ctx: ToolContext, hist: pd.DataFrame) -> None:
    res = ask(jl_ctx, source="history", metric="sum", regions=["31"], date_from="2022-09-25", date_to="2022-10-05")
    assert res.period is not None
    assert (res.period.first_with_data, res.period.last_with_data, res.period.days_with_data, res.period.days_in_range) == ("2022-09-25", "2022-09-30", 6, 11)
    assert res.rows[0].value == int(_between(hist[hist["region"] == "31"], "2022-09-25", "2022-10-05")["volume"].sum())
    assert res.note is not None and "runs from 2022-05-13 to 2022-09-30" in res.note

    nothing = ask(jl_ctx, source="history", metric="max", date_from="2023-01-01", date_to="2023-01-31")
    assert nothing.rows[0].value is None and nothing.rows[0].rows == 0 and nothing.total is None
    assert nothing.period is not None and nothing.period.first_with_data is None and nothing.period.days_with_data == 0
    assert nothing.note is not None and "no history row" in nothing.note
    zero = ask(jl_ctx, source="history", metric="sum", date_from="2023-01-01", date_to="2023-01-31")
    assert zero.rows[0].value == 0 and zero.total == 0

    whole = ask(jl_ctx, source="history", metric="sum")
    assert whole.period is not None and (whole.period.date_from, whole.period.date_to) == ("2022-05-12", "2022-09-30")
    assert whole.total == int(hist["volume"].sum())


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"source": "history", "metric": "sum", "regions": ["999"]}, "the regions of world 'jilin-1001' are: 31, 53, 129, 165"),
        ({"source": "history", "metric": "sum", "regions": ["31\x00"]}, "not a region name"),
        ({"source": "history", "metric": "sum", "field": "demand"}, "history has 'volume'"),
        ({"source": "orders", "metric": "sum", "field": "volume"}, "orders has 'demand'"),
        ({"source": "history", "metric": "sum", "date_from": "2022-09-30", "date_to": "2022-09-01"}, "date_from 2022-09-30 is after date_to 2022-09-01"),
        ({"source": "history", "metric": "sum", "date_from": "30/09/2022"}, "date_from must be a date like"),
        ({"source": "history", "metric": "count", "group_by": ["vehicle"]}, "history can be grouped by region, date, weekday, month"),
        ({"source": "orders", "metric": "count", "group_by": ["region"]}, "orders can be grouped by kind, status, priority, vehicle, skill"),
        ({"source": "history", "metric": "sum", "group_by": ["region", "region"]}, "twice"),
        ({"source": "history", "metric": "sum", "kind": "pickup"}, "kind filter(s) orders"),
        ({"source": "orders", "metric": "count", "date_from": "2022-09-01"}, "date_from apply to history"),
        ({"source": "history", "metric": "sum", "date_from": "2022-09-01", "date_to": "2022-09-07", "compare_from": "2022-08-01"}, "both compare_from and compare_to"),
        ({"source": "history", "metric": "sum", "compare_from": "2022-08-01", "compare_to": "2022-08-07"}, "date_from and date_to for the first period"),
        (
            {
                "source": "history",
                "metric": "sum",
                "group_by": ["date"],
                "date_from": "2022-09-01",
                "date_to": "2022-09-07",
                "compare_from": "2022-08-01",
                "compare_to": "2022-08-07",
            },
            "does not line up",
        ),
        (
            {"source": "history", "metric": "sum", "date_from": "2022-09-01", "date_to": "2022-09-07", "compare_from": "2022-08-07", "compare_to": "2022-08-01"},
            "compare_from",
        ),
    ],
)
def test_invalid_specs_say_what_to_ask(jl_ctx: ToolContext, spec: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError) as err:
        run_query(jl_ctx, QuerySpec(**spec))
    assert message in str(err.value)


def test_the_schema_bounds_the_spec() -> None:
    for bad in (
        {"source": "history", "metric": "median"},
        {"source": "sales", "metric": "sum"},
        {"source": "history", "metric": "sum", "top_k": 0},
        {"source": "history", "metric": "sum", "top_k": 101},
        {"source": "history", "metric": "sum", "group_by": ["region", "date", "weekday"]},
        {"source": "history", "metric": "sum", "group_by": ["customer"]},
        {"source": "orders", "metric": "count", "status": "late"},
    ):
        with pytest.raises(ValidationError):
            QuerySpec(**bad)
    blank = QuerySpec.model_validate({"source": "history", "metric": "sum", "date_from": "", "regions": [], "vehicle": " ", "order": ""})
    assert blank.date_from is None and blank.regions is None and blank.vehicle is None and blank.order is None
    schema = QuerySpec.model_json_schema()
    assert set(schema["required"]) == {"source", "metric"}


def test_too_many_groups_ask_for_top_k(jl_ctx: ToolContext) -> None:
    reader = jl_ctx.data_reader()
    assert isinstance(reader, DataQueries)
    with pytest.raises(InputError, match="top_k"):
        reader.aggregate(DataQuery(world=JL, source="history", metric="sum", column="volume", group_by=("region", "date"), max_groups=100))
    top = reader.aggregate(DataQuery(world=JL, source="history", metric="sum", column="volume", group_by=("region", "date"), order="desc", limit=2, max_groups=100))
    assert len(top.groups) == 2 and top.group_count == 565
    with pytest.raises(InputError, match="can be grouped by"):
        reader.aggregate(DataQuery(world=JL, source="history", metric="sum", column="volume", group_by=("volume; drop table history",)))


def test_questions_write_nothing(jl_ctx: ToolContext) -> None:
    before = (jl_ctx.store.audit(JL), jl_ctx.store.plans(JL), jl_ctx.world())
    ask(jl_ctx, source="history", metric="sum", group_by=["region"], date_from="2022-07-01", date_to="2022-07-31", compare_from="2022-06-01", compare_to="2022-06-30")
    ask(jl_ctx, source="orders", metric="count", group_by=["status"])
    assert (jl_ctx.store.audit(JL), jl_ctx.store.plans(JL), jl_ctx.world()) == before


# -- orders -------------------------------------------------------------------------------------


def test_orders_per_vehicle_match_the_committed_plan(hz_ctx: ToolContext) -> None:
    committed = hz_ctx.committed()
    assert committed is not None
    world = hz_ctx.world()
    demand = {o.id: o.demand for o in world.orders}
    res = ask(hz_ctx, source="orders", metric="count", group_by=["vehicle"])
    want = {r.vehicle_id: len(r.visits) for r in committed.plan.routes if r.visits}
    assert {r.group["vehicle"]: r.value for r in res.rows} == want | ({None: len(committed.plan.unassigned)} if committed.plan.unassigned else {})
    assert res.plan_id == committed.id and res.total == len(world.orders)

    summed = ask(hz_ctx, source="orders", metric="sum", field="demand", group_by=["vehicle"], order="desc", top_k=2)
    per = sorted(((sum(demand[v.order_id] for v in r.visits), r.vehicle_id) for r in committed.plan.routes), key=lambda t: (-t[0], t[1]))[:2]
    assert [(r.value, r.group["vehicle"]) for r in summed.rows] == per
    assert summed.total == sum(demand.values())

    one = committed.plan.routes[0]
    only = ask(hz_ctx, source="orders", metric="count", vehicle=one.vehicle_id.lower())
    assert only.rows[0].value == len(one.visits) and only.spec.vehicle == one.vehicle_id

    kinds = ask(hz_ctx, source="orders", metric="count", group_by=["priority", "skill"])
    want_ps = Counter((o.priority.value, o.required_skill) for o in world.orders)
    assert {(r.group["priority"], r.group["skill"]): r.value for r in kinds.rows} == dict(want_ps)
    mean = ask(hz_ctx, source="orders", metric="mean", kind="pickup")
    assert mean.rows[0].value == round(sum(demand.values()) / len(world.orders), 2)


def test_order_states_follow_cancellations_and_the_draft(hz_ctx: ToolContext) -> None:
    committed = hz_ctx.committed()
    assert committed is not None
    plan = committed.plan
    first = plan.routes[0]
    gone = first.order_ids[0]
    order = hz_ctx.world().order(gone)
    hz_ctx.store.update_order(HZ, dataclasses.replace(order, cancelled=True))

    states = ask(hz_ctx, source="orders", metric="count", group_by=["status"])
    served = sum(len(r.visits) for r in plan.routes)
    assert {r.group["status"]: r.value for r in states.rows} == {"assigned": served - 1, "cancelled": 1} | (
        {"unassigned": len(plan.unassigned)} if plan.unassigned else {}
    )
    on_first = ask(hz_ctx, source="orders", metric="count", status="assigned", vehicle=first.vehicle_id)
    assert on_first.rows[0].value == len(first.visits) - 1

    with pytest.raises(InputError, match="no draft plan"):
        ask(hz_ctx, source="orders", metric="count", plan="draft")
    draft = dataclasses.replace(
        plan, routes=plan.routes[1:], unassigned=plan.unassigned + tuple(Unassigned(oid, "left out by the test") for oid in first.order_ids), id=None, created_at=None
    )
    draft_id = hz_ctx.store.save_plan(HZ, draft, PlanStatus.DRAFT)
    res = ask(hz_ctx, source="orders", metric="count", group_by=["status", "vehicle"], plan="draft")
    assert res.plan_id == draft_id
    got = {(r.group["status"], r.group["vehicle"]): r.value for r in res.rows}
    assert got[("unassigned", None)] == len(first.visits) - 1 + len(plan.unassigned)
    assert got[("cancelled", None)] == 1
    assert {v: n for (s, v), n in got.items() if s == "assigned"} == {r.vehicle_id: len(r.visits) for r in plan.routes[1:]}
    assert first.vehicle_id not in {r.group["vehicle"] for r in res.rows}


def test_orders_without_a_plan_are_not_planned(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{(tmp_path / 'tiny.sqlite3').as_posix()}")
    store.upgrade()
    try:
        store.import_world(read_world(DATA / "worlds" / "tiny"))
        ctx = _ctx(store, "tiny")
        res = ask(ctx, source="orders", metric="sum", group_by=["kind", "status"])
        assert {(r.group["kind"], r.group["status"]): r.value for r in res.rows} == {("delivery", "not_planned"): 4, ("pickup", "not_planned"): 5}
        assert res.plan_id is None and res.note is not None and "no committed plan" in res.note
        with pytest.raises(InputError, match="no history"):
            ask(ctx, source="history", metric="sum")
        with pytest.raises(InputError, match="V1"):
            ask(ctx, source="orders", metric="count", vehicle="V9")
    finally:
        store.close()


# -- the doors ----------------------------------------------------------------------------------


def test_mcp_tool_and_http_route(jl_ctx: ToolContext, hist: pd.DataFrame) -> None:
    from fastapi.testclient import TestClient
    from mcp.server.mcpserver.exceptions import ToolError

    from copilot.apps.mcp_server import TOOLS, McpTools
    from copilot.apps.partner.routes import create_app
    from copilot.apps.partner.tenancy import create_key, stored_name
    from tools.sql.partners import SqlPartnerStore

    spec = next(t for t in TOOLS if t.name == "query_data")
    assert (spec.request, spec.result, spec.scope) == (QuerySpec, QueryResult, "read")
    store = jl_ctx.store
    assert isinstance(store, SqlStore)
    tools = McpTools(store, world=JL, keys=None, settings=PlanSettings(time_limit_s=0.3), engine="auto")
    out = tools.call(spec, None, None, {"source": "history", "metric": "sum", "date_from": "2022-09-10", "date_to": "2022-09-10"})
    assert isinstance(out, QueryResult) and out.total == int(hist[hist["date"] == "2022-09-10"]["volume"].sum())
    with pytest.raises(ToolError, match="InputError: unknown region '7'"):
        tools.call(spec, None, None, {"source": "history", "metric": "sum", "regions": ["7"]})

    keys = SqlPartnerStore(store)
    store.import_world(dataclasses.replace(jl_ctx.world(), name=stored_name("acme", "jl")))
    read_key, _ = create_key(keys, "acme", ["read"])
    with TestClient(create_app(store, keys=keys, settings=PlanSettings(time_limit_s=0.3))) as client:
        body = {"source": "history", "metric": "sum", "group_by": ["region"], "date_from": "2022-07-01", "date_to": "2022-07-31", "order": "desc", "top_k": 1}
        r = client.post("/v1/worlds/jl/query", json=body, headers={"X-API-Key": read_key})
        assert r.status_code == 200, r.text
        sums = _between(hist, "2022-07-01", "2022-07-31").groupby("region")["volume"].sum()
        assert r.json()["rows"] == [
            {"group": {"region": sums.idxmax()}, "value": int(sums.max()), "rows": 31, "compare_value": None, "difference": None, "percent_change": None}
        ]
        bad = client.post("/v1/worlds/jl/query", json={**body, "group_by": ["vehicle"]}, headers={"X-API-Key": read_key})
        assert bad.status_code == 400 and bad.json()["error"]["type"] == "input_error"
        malformed = client.post("/v1/worlds/jl/query", json={**body, "top_k": 0}, headers={"X-API-Key": read_key})
        assert malformed.status_code == 422
        hidden = client.post(f"/v1/worlds/{JL}/query", json=body, headers={"X-API-Key": read_key})
        assert hidden.status_code == 404  # another partner's (here: the operator's) world
        assert "/v1/worlds/{world}/query" in client.get("/openapi.json").json()["paths"]


# -- PostgreSQL -----------------------------------------------------------------------------------


@pytest.fixture
def pg_url() -> Iterator[str]:
    with scratch_pg() as url:
        yield url


@pytest.mark.postgres
def test_postgres_gives_the_same_answers(pg_url: str, jl_ctx: ToolContext, jl_world: World, hz_world: World, hz_day_plan: Any) -> None:
    store = SqlStore(pg_url)
    try:
        store.upgrade()
        store.import_world(jl_world)
        store.import_world(hz_world)
        pid = store.save_plan(HZ, hz_day_plan, PlanStatus.DRAFT)
        store.commit_plan(HZ, pid)
        pg_jl = _ctx(store, JL)
        specs: list[dict[str, Any]] = [
            {"source": "history", "metric": "sum", "group_by": ["region"], "date_from": "2022-07-01", "date_to": "2022-07-31", "order": "desc", "top_k": 1},
            {"source": "history", "metric": "mean", "group_by": ["weekday"], "regions": ["31"]},
            {"source": "history", "metric": "max", "group_by": ["month", "region"], "order": "asc", "top_k": 5},
            {
                "source": "history",
                "metric": "sum",
                "group_by": ["region"],
                "date_from": "2022-07-01",
                "date_to": "2022-07-31",
                "compare_from": "2022-06-01",
                "compare_to": "2022-06-30",
            },
            {"source": "history", "metric": "count", "date_from": "2022-09-25", "date_to": "2022-10-05"},
        ]
        for spec in specs:
            assert ask(pg_jl, **spec).model_dump() == ask(jl_ctx, **spec).model_dump(), spec
        pg_hz = _ctx(store, HZ)
        res = ask(pg_hz, source="orders", metric="count", group_by=["vehicle"])
        assert {r.group["vehicle"]: r.value for r in res.rows} == {r.vehicle_id: len(r.visits) for r in hz_day_plan.routes if r.visits} | (
            {None: len(hz_day_plan.unassigned)} if hz_day_plan.unassigned else {}
        )
        states = ask(pg_hz, source="orders", metric="sum", group_by=["status", "priority"], order="desc")
        assert sum(r.value or 0 for r in states.rows) == states.total == sum(o.demand for o in hz_world.orders)
    finally:
        store.close()
