"""The partner API under careless and hostile input, over real HTTP on 127.0.0.1: bounded numbers and texts answer
4xx (never 500), work per request is capped, one partner over its limits gets 429 while another is served,
and concurrent facts on one vehicle both land."""

from __future__ import annotations

import json
import stat
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from http_loopback import serve

from copilot.apps.partner.gate import Limits, PartnerLimiter
from copilot.apps.partner.routes import create_app
from copilot.apps.partner.tenancy import create_key
from copilot.apps.wiring import make_context
from tools import events, lifecycle
from tools.planning import PlanSettings
from tools.sql import SqlStore
from tools.sql.partners import SqlPartnerStore
from tools.world_io import read_world

TINY = Path(__file__).resolve().parents[1] / "data" / "worlds" / "tiny"


def _upload(name: str, **changes: str) -> dict[str, Any]:
    meta = json.loads((TINY / "world.json").read_text(encoding="utf-8"))
    body: dict[str, Any] = {"name": name, "world": {k: meta[k] for k in ("city", "date", "timezone")}}
    for f in ("depots", "vehicles", "orders"):
        body[f"{f}_csv"] = (TINY / f"{f}.csv").read_text(encoding="utf-8")
    body.update(changes)
    return body


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, httpx.Client, SqlStore]]:
    """Partner alpha (tiny world planned and approved) and partner beta, on a server with small per-partner limits."""
    db = tmp_path_factory.mktemp("hardening") / "api.sqlite3"
    store = SqlStore(f"sqlite:///{db}")
    store.upgrade()
    keys = SqlPartnerStore(store)
    limits = Limits(rate_per_s=5, burst=60, in_flight=8, planning_in_flight=1, planning_total=2)
    app = create_app(store, keys=keys, settings=PlanSettings(time_limit_s=0.3), limits=limits)
    with serve(app) as url:
        clients = []
        for name in ("alpha", "beta"):
            key, _ = create_key(keys, name, ["read", "plan", "dispatch"])
            clients.append(httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60))
        alpha, beta = clients
        assert alpha.post("/v1/worlds", json=_upload("tiny")).status_code == 201
        draft = alpha.post("/v1/worlds/tiny/plans", json={}).json()
        assert alpha.post(f"/v1/worlds/tiny/plans/{draft['plan_id']}/approve").status_code == 200
        yield alpha, beta, store
        for c in clients:
            c.close()
    store.close()


def _error(r: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert r.status_code in statuses, (r.status_code, r.text[:500])
    err = r.json()["error"]
    assert err["type"] and err["message"]
    return err


@pytest.mark.parametrize(
    "path",
    [
        "/v1/worlds/tiny/plans/99999999999999999999999",
        f"/v1/worlds/tiny/plans/{2**63}",
        f"/v1/worlds/tiny/plans/{2**63}/kpis",
        "/v1/worlds/tiny/plans/0",
        "/v1/worlds/tiny/kpis?plan=99999999999999999999999",
        f"/v1/worlds/tiny/kpis?plan={2**63}",
        "/v1/worlds/tiny/kpis?plan=%C2%B2",  # '²': isdigit() says yes, int() says no
        "/v1/worlds/tiny/orders/O1?plan=%C2%B2",
        "/v1/worlds/tiny/orders?offset=99999999999999999999999",
    ],
)
def test_huge_or_odd_plan_ids_answer_4xx(served: tuple[httpx.Client, httpx.Client, SqlStore], path: str) -> None:
    alpha, _, _ = served
    _error(alpha.get(path), 400, 404, 422)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/worlds/tiny/orders", {"lat": 30.43, "lng": 120.27, "demand": 1e30}),
        ("POST", "/v1/worlds/tiny/orders", {"lat": 30.43, "lng": 120.27, "service_min": 1e300}),
        ("POST", "/v1/worlds/tiny/orders", {"lat": 30.43, "lng": 120.27, "service_min": 1.6e308}),
        ("POST", "/v1/worlds/tiny/orders", {"order_id": "a/b", "lat": 30.43, "lng": 120.27}),
        ("POST", "/v1/worlds/tiny/orders", {"order_id": "x" * 101, "lat": 30.43, "lng": 120.27}),
        ("POST", "/v1/worlds/tiny/orders", {"lat": 30.43, "lng": 120.27, "notes": "n" * 6000}),
        ("POST", "/v1/worlds/tiny/orders", {"lat": 30.43, "lng": 120.27, "tw_start": "9999-12-31T10:00:00+08:00", "tw_end": "9999-12-31T11:00:00+08:00"}),
        ("POST", "/v1/worlds/tiny/orders", {"lat": 30.43, "lng": 120.27, "tw_start": "0001-01-01T10:00:00+08:00", "tw_end": "0001-01-01T11:00:00+08:00"}),
        ("PATCH", "/v1/worlds/tiny/orders/O1", {"demand": 10**30}),
        ("POST", "/v1/worlds/tiny/what-if", {"changes": [{"kind": "add_vehicles", "like": "V1", "capacity": 10**30}]}),
        ("POST", "/v1/worlds/tiny/what-if", {"changes": [{"kind": "resample_orders", "count": 100_000}]}),
        ("POST", "/v1/worlds/tiny/plans", {"time_limit_s": 600}),
        ("POST", "/v1/worlds/tiny/forecast/fleet-size", {"samples": 50, "time_limit_s": 60}),
        ("POST", "/v1/worlds/tiny/insertion-advice", {"lat": 30.43, "lng": 120.27, "demand": 1e30}),
    ],
)
def test_unbounded_numbers_and_texts_answer_4xx_not_500(served: tuple[httpx.Client, httpx.Client, SqlStore], method: str, path: str, body: Any) -> None:
    alpha, _, _ = served
    _error(alpha.request(method, path, json=body), 400, 409, 422)


@pytest.mark.parametrize(
    "changes",
    [
        {"orders_csv": (TINY / "orders.csv").read_text().replace(",2,3,2022", ",1e30,3,2022", 1)},  # demand 1e30
        {"orders_csv": (TINY / "orders.csv").read_text().replace(",2,3,2022", ",2,1e300,2022", 1)},  # service 1e300 min
        {"vehicles_csv": (TINY / "vehicles.csv").read_text().replace("D1,20,", "D1,1e30,", 1)},  # capacity
        {"orders_csv": (TINY / "orders.csv").read_text().replace("2022-05-01T09:00", "9999-05-01T09:00")},  # year 9999
        {"world": {"city": "Testville", "date": "0001-05-01", "timezone": "+08:00"}},
    ],
)
def test_imports_with_unbounded_values_are_rejected_with_located_problems(served: tuple[httpx.Client, httpx.Client, SqlStore], changes: dict[str, Any]) -> None:
    alpha, _, _ = served
    err = _error(alpha.post("/v1/worlds", json=_upload("bad", **changes)), 400, 422)
    assert "nothing was changed" in err["message"] or err["type"] in ("import_failed", "input_error")


def test_a_huge_bad_csv_gets_a_small_error_body(served: tuple[httpx.Client, httpx.Client, SqlStore]) -> None:
    alpha, _, _ = served
    header, first = (TINY / "orders.csv").read_text().splitlines()[:2]
    bad_row = first.replace(",2,3,2022", ",many,3,2022").replace("Alice", "A" * 2000)
    text = "\n".join([header, *(bad_row.replace("O1,", f"B{i},", 1) for i in range(2000))]) + "\n"
    assert len(text) > 4_000_000
    r = alpha.post("/v1/worlds", json=_upload("bad", orders_csv=text))
    _error(r, 422)
    assert len(r.content) < 200_000  # the problems are counted, the first ones shown, each cut short


def test_a_partner_over_its_limits_gets_429_while_another_is_served(served: tuple[httpx.Client, httpx.Client, SqlStore]) -> None:
    alpha, beta, _ = served
    statuses = [alpha.get("/v1/me").status_code for _ in range(150)]  # burst 60, 5 per second: 429 unless this took 18 s
    assert 429 in statuses and statuses[0] == 200
    refused = alpha.get("/v1/me")
    if refused.status_code == 429:
        assert int(refused.headers["retry-after"]) >= 1 and refused.json()["error"]["type"] == "rate_limited"
    assert beta.get("/v1/me").status_code == 200  # beta's own bucket is untouched


def test_the_limiter_counts_rate_in_flight_and_planning_per_partner() -> None:
    now = [0.0]
    limiter = PartnerLimiter(Limits(rate_per_s=1, burst=2, in_flight=3, planning_in_flight=1, planning_total=2), clock=lambda: now[0])
    assert limiter.admit("a", planning=True) is None
    refused = limiter.admit("a", planning=True)
    assert refused is not None and "planning" in refused.message  # one planning request of a at a time
    assert limiter.admit("b", planning=True) is None  # b has its own
    refused = limiter.admit("c", planning=True)
    assert refused is not None and "other partners" in refused.message  # two planning requests over all partners
    assert limiter.admit("a", planning=False) is None  # a's bucket: burst 2, now empty
    refused = limiter.admit("a", planning=False)
    assert refused is not None and refused.retry_after_s >= 1
    now[0] += 1.0
    assert limiter.admit("a", planning=False) is None  # one token back per second
    limiter.release("a", planning=True)
    limiter.release("b", planning=True)
    assert limiter.admit("c", planning=True) is None


def test_two_concurrent_facts_on_one_vehicle_both_land(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'facts.sqlite3'}")
    store.upgrade()
    store.import_world(replace(read_world(TINY), name="tiny"))
    ctx = make_context(store, "tiny", settings=PlanSettings(time_limit_s=0.5))
    lifecycle.approve_plan(ctx, lifecycle.PlanRef(plan_id=lifecycle.plan_day(ctx).plan_id))
    lifecycle.set_clock(ctx, lifecycle.ClockRequest(at="09:30"))
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def report(event: Any) -> None:
        try:
            start.wait(10)
            event()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    delay = lambda: events.vehicle_delayed(ctx, events.VehicleDelayRequest(vehicle_id="V1", minutes=20))  # noqa: E731
    breakdown = lambda: events.vehicle_unavailable(ctx, events.VehicleUnavailableRequest(vehicle_id="V1", from_time="14:00"))  # noqa: E731
    threads = [threading.Thread(target=report, args=(e,)) for e in (delay, breakdown)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    v1 = store.load_world("tiny").vehicle("V1")
    assert v1.delayed_until is not None and v1.unavailable_from is not None  # neither write overwrote the other
    drafts = [p for p in store.plans("tiny") if p.status.value == "draft"]
    assert len(drafts) == 2  # each fact came with its own draft
    store.close()


def test_the_sqlite_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "private.sqlite3"
    SqlStore(f"sqlite:///{path}").upgrade()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("engine", ["ortools", "pyvrp"])
def test_the_servers_engine_setting_is_honoured(tmp_path: Path, engine: str) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'engine.sqlite3'}")
    store.upgrade()
    keys = SqlPartnerStore(store)
    key, _ = create_key(keys, "acme", ["read", "plan", "dispatch"])
    with serve(create_app(store, keys=keys, settings=PlanSettings(time_limit_s=0.5), engine=engine)) as url, httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60
    ) as client:
        assert client.post("/v1/worlds", json=_upload("tiny", orders_csv=_without_skills())).status_code == 201
        draft = client.post("/v1/worlds/tiny/plans", json={}).json()
    assert draft["solver"].split(" ")[0] == engine  # the named engine ran, not the automatic choice
    store.close()


def _without_skills() -> str:
    # PyVRP takes problems without skills; the same world for both engines
    return (TINY / "orders.csv").read_text(encoding="utf-8").replace(",bulky,", ",,").replace(",cold,", ",,")


@pytest.mark.parametrize("clock", ["09:05", "11:00", "12:00", "13:30", "16:00"])
def test_orders_edited_in_the_committed_plan_can_still_be_replanned_once_the_clock_passes_them(tmp_path: Path, clock: str) -> None:
    # found by the fuzz suite: a visit that started (or is under way) keeps the plan's times; the facts changed since
    # (service time, parcels) must not make every later re-plan fail the independent check
    store = SqlStore(f"sqlite:///{tmp_path / 'edits.sqlite3'}")
    store.upgrade()
    keys = SqlPartnerStore(store)
    key, _ = create_key(keys, "acme", ["read", "plan", "dispatch"])
    with serve(create_app(store, keys=keys, settings=PlanSettings(time_limit_s=0.5))) as url, httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60
    ) as c:
        assert c.post("/v1/worlds", json=_upload("tiny")).status_code == 201
        plan = c.post("/v1/worlds/tiny/plans").json()
        assert c.post(f"/v1/worlds/tiny/plans/{plan['plan_id']}/approve").status_code == 200
        for oid in ("O1", "O2", "O3", "O4", "O5"):
            assert c.patch(f"/v1/worlds/tiny/orders/{oid}", json={"service_min": 1, "demand": 0}).status_code == 200
        assert c.put("/v1/worlds/tiny/clock", json={"at": clock}).status_code == 200
        replanned = c.post("/v1/worlds/tiny/plans")
        assert replanned.status_code == 201, replanned.text
        event = c.post("/v1/worlds/tiny/events/delay", json={"vehicle_id": "V1", "minutes": 5})
        assert event.status_code in (200, 400), event.text  # 400 only when V1 has finished its day
    store.close()
