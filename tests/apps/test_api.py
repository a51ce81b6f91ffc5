"""The partner tool API over real HTTP on 127.0.0.1: keys and scopes, tenant isolation, idempotency, limits, OpenAPI."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from http_loopback import serve
from openapi_spec_validator import validate

from copilot.apps.cli import main
from copilot.apps.partner.routes import create_app
from copilot.apps.partner.tenancy import create_key
from tools.planning import PlanSettings
from tools.sql import SqlStore
from tools.sql.partners import SqlPartnerStore

DATA = Path(__file__).resolve().parents[1] / "data" / "worlds"
TINY = DATA / "tiny"


def _upload(name: str, *, rename: bool = False, history: bool = False) -> dict[str, Any]:
    """The tiny world as an import body; ``rename`` gives every id another letter (orders Q*, vehicles W*, depot E1)."""
    texts = {f: (TINY / f).read_text(encoding="utf-8") for f in ("depots.csv", "vehicles.csv", "orders.csv")}
    if rename:
        for f, text in texts.items():
            text = re.sub(r"\bO(\d)\b", r"Q\1", text)
            text = re.sub(r"\bV(\d)\b", r"W\1", text)
            texts[f] = re.sub(r"\bD1\b", "E1", text)
    meta = json.loads((TINY / "world.json").read_text(encoding="utf-8"))
    body: dict[str, Any] = {
        "name": name,
        "world": {k: meta[k] for k in ("city", "date", "timezone")},
        "depots_csv": texts["depots.csv"],
        "vehicles_csv": texts["vehicles.csv"],
        "orders_csv": texts["orders.csv"],
    }
    if history:
        rows = (DATA / "jilin-1001" / "history.csv").read_text(encoding="utf-8").splitlines()
        body["history_csv"] = "\n".join([rows[0], *(r for r in rows[1:] if r.split(",")[1] == "31")]) + "\n"
    return body


@dataclass
class Partner:
    name: str
    client: httpx.Client
    world: str
    plan_id: int
    order_ids: list[str]
    vehicle_ids: list[str]


@dataclass
class Api:
    url: str
    store: SqlStore
    keys: SqlPartnerStore
    alpha: Partner
    beta: Partner
    alpha_read_only: httpx.Client

    def client(self, key: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _partner(url: str, keys: SqlPartnerStore, name: str, world: str, upload: dict[str, Any]) -> Partner:
    key, _ = create_key(keys, name, ["read", "plan", "dispatch"])
    client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60)
    info = _ok(client.post("/v1/worlds", json=upload), 201)
    assert info["world"] == world and info["orders"] == 5
    draft = _ok(client.post(f"/v1/worlds/{world}/plans", json={}), 201)
    assert draft["status"] == "draft" and draft["orders_served"] == 5
    committed = _ok(client.post(f"/v1/worlds/{world}/plans/{draft['plan_id']}/approve"))
    assert committed["status"] == "committed"
    orders = [o["order_id"] for o in _ok(client.get(f"/v1/worlds/{world}/orders"))["orders"]]
    vehicles = [v["vehicle_id"] for v in _ok(client.get(f"/v1/worlds/{world}/vehicles"))["vehicles"]]
    return Partner(name, client, world, draft["plan_id"], orders, vehicles)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A served API on a fresh SQLite store; partners alpha and beta each imported, planned and approved a world."""
    db = tmp_path_factory.mktemp("api") / "api.sqlite3"
    store = SqlStore(f"sqlite:///{db}")
    store.upgrade()
    keys = SqlPartnerStore(store)
    app = create_app(store, keys=keys, settings=PlanSettings(time_limit_s=0.3))
    with serve(app) as url:
        alpha = _partner(url, keys, "alpha", "alpha-day", _upload("alpha-day"))
        beta = _partner(url, keys, "beta", "beta-day", _upload("beta-day", rename=True, history=True))
        ro_key, _ = create_key(keys, "alpha", ["read"])
        ro = httpx.Client(base_url=url, headers={"X-API-Key": ro_key}, timeout=60)
        yield Api(url, store, keys, alpha, beta, ro)
        for c in (alpha.client, beta.client, ro):
            c.close()
    store.close()


# -- the document ------------------------------------------------------------------------------


def test_openapi_document_validates_and_names_the_doors(api: Api) -> None:
    spec = httpx.get(f"{api.url}/openapi.json").json()
    validate(spec)
    paths = spec["paths"]
    for path in (
        "/v1/worlds",
        "/v1/worlds/{world}/orders/{order_id}",
        "/v1/worlds/{world}/plans/{plan_id}/approve",
        "/v1/worlds/{world}/insertion-advice",
        "/v1/worlds/{world}/events/breakdown",
        "/v1/worlds/{world}/forecast",
        "/v1/worlds/{world}/kpis",
    ):
        assert path in paths, path
    assert {"bearerKey", "apiKeyHeader"} <= set(spec["components"]["securitySchemes"])
    schemas = spec["components"]["schemas"]
    assert {"NewOrderRequest", "EventResult", "PlanSummary", "InsertionRequest", "InsertionAdvice", "Kpis", "OrderStatus", "ErrorBody"} <= set(schemas)
    params = {p["name"] for p in paths["/v1/worlds/{world}/orders"]["post"]["parameters"]}
    assert "Idempotency-Key" in params


# -- keys and scopes ---------------------------------------------------------------------------


def test_missing_unknown_and_revoked_keys_answer_401(api: Api) -> None:
    for client in (api.client(None), api.client("lck_0000_not-a-key"), api.client("garbage")):
        with client:
            r = client.get("/v1/worlds")
            assert r.status_code == 401
            assert r.json()["error"]["type"] == "unauthorized" and r.json()["error"]["message"]
            assert r.headers["www-authenticate"] == "Bearer"
    key, rec = create_key(api.keys, "alpha", ["read"])
    with api.client(key) as client:
        assert client.get("/v1/worlds").status_code == 200
        api.keys.revoke_api_key(rec.key_id)
        assert client.get("/v1/worlds").status_code == 401


def test_read_only_key_reads_but_cannot_approve_plan_or_write(api: Api) -> None:
    a = api.alpha
    ro = api.alpha_read_only
    assert _ok(ro.get("/v1/me"))["scopes"] == ["read"]
    assert _ok(ro.get(f"/v1/worlds/{a.world}/plans/{a.plan_id}"))["plan_id"] == a.plan_id
    draft = _ok(a.client.post(f"/v1/worlds/{a.world}/plans", json={}), 201)
    for method, path, body in (
        ("POST", f"/v1/worlds/{a.world}/plans/{draft['plan_id']}/approve", None),
        ("POST", f"/v1/worlds/{a.world}/plans", {}),
        ("POST", f"/v1/worlds/{a.world}/orders", {"lat": 30.43, "lng": 120.27}),
        ("POST", f"/v1/worlds/{a.world}/orders/{a.order_ids[0]}/cancel", None),
        ("POST", f"/v1/worlds/{a.world}/events/breakdown", {"vehicle_id": a.vehicle_ids[0]}),
    ):
        r = ro.request(method, path, json=body)
        assert r.status_code == 403, (path, r.text)
        assert r.json()["error"]["type"] == "forbidden" and "scope" in r.json()["error"]["message"]
    assert _ok(ro.get(f"/v1/worlds/{a.world}/plans/{draft['plan_id']}"))["status"] == "draft"  # still not approved
    plan_only, _ = create_key(api.keys, "alpha", ["read", "plan"])
    with api.client(plan_only) as client:
        assert client.post(f"/v1/worlds/{a.world}/plans/{draft['plan_id']}/approve").status_code == 403
        assert _ok(client.post(f"/v1/worlds/{a.world}/plans/{draft['plan_id']}/discard"))["status"] == "discarded"


# -- tenant isolation --------------------------------------------------------------------------


def test_each_partner_sees_only_its_own_data_in_every_list_and_look_up(api: Api) -> None:
    for me, other in ((api.alpha, api.beta), (api.beta, api.alpha)):
        c, w = me.client, me.world
        mine = _ok(c.get("/v1/me"))
        assert mine["partner"] == me.name and other.world not in mine["worlds"]
        assert [x["world"] for x in _ok(c.get("/v1/worlds"))["worlds"]] == [w] or other.world not in str(_ok(c.get("/v1/worlds")))
        info = _ok(c.get(f"/v1/worlds/{w}"))
        assert info["world"] == w and info["committed_plan_id"] == me.plan_id
        depots = [d["depot_id"] for d in _ok(c.get(f"/v1/worlds/{w}/depots"))["depots"]]
        assert depots == (["D1"] if me is api.alpha else ["E1"])
        assert set(me.order_ids).isdisjoint(other.order_ids) and set(me.vehicle_ids).isdisjoint(other.vehicle_ids)
        assert [o["order_id"] for o in _ok(c.get(f"/v1/worlds/{w}/orders"))["orders"]] == me.order_ids
        plans = [p["plan_id"] for p in _ok(c.get(f"/v1/worlds/{w}/plans"))["plans"]]
        assert me.plan_id in plans and other.plan_id not in plans
        status = _ok(c.get(f"/v1/worlds/{w}/orders/{me.order_ids[0]}"))
        assert status["order_id"] == me.order_ids[0] and status["vehicle_id"] in me.vehicle_ids and status["eta"]
        stops = _ok(c.get(f"/v1/worlds/{w}/vehicles/{status['vehicle_id']}"))
        assert me.order_ids[0] in stops["order_ids"] and set(stops["order_ids"]) <= set(me.order_ids)
        kpis = _ok(c.get(f"/v1/worlds/{w}/kpis"))
        assert kpis["plan_id"] == me.plan_id and kpis["orders_served"] == 5
        summary = _ok(c.get(f"/v1/worlds/{w}/plans/{me.plan_id}"))
        assert {s for r in summary["routes"] for s in r["stops"]} == set(me.order_ids)
        trail = _ok(c.get(f"/v1/worlds/{w}/audit"))
        assert trail["world"] == w and all(e["actor"] == f"partner:{me.name}" for e in trail["entries"])
        assert other.name not in json.dumps(trail)


def test_another_partners_ids_answer_404_like_ids_that_do_not_exist(api: Api) -> None:
    for me, other in ((api.alpha, api.beta), (api.beta, api.alpha)):
        c, w = me.client, me.world
        probes = [
            ("GET", f"/v1/worlds/{other.world}", "/v1/worlds/no-such-world"),
            ("GET", f"/v1/worlds/{other.world}/orders", "/v1/worlds/no-such-world/orders"),
            ("GET", f"/v1/worlds/{other.world}/kpis", "/v1/worlds/no-such-world/kpis"),
            ("GET", f"/v1/worlds/{w}/orders/{other.order_ids[0]}", f"/v1/worlds/{w}/orders/NOPE"),
            ("GET", f"/v1/worlds/{w}/vehicles/{other.vehicle_ids[0]}", f"/v1/worlds/{w}/vehicles/NOPE"),
            ("GET", f"/v1/worlds/{w}/plans/{other.plan_id}", f"/v1/worlds/{w}/plans/999999"),
            ("GET", f"/v1/worlds/{w}/plans/{other.plan_id}/kpis", f"/v1/worlds/{w}/plans/999999/kpis"),
            ("GET", f"/v1/worlds/{w}/kpis?plan={other.plan_id}", f"/v1/worlds/{w}/kpis?plan=999999"),
            ("POST", f"/v1/worlds/{w}/plans/{other.plan_id}/approve", f"/v1/worlds/{w}/plans/999999/approve"),
            ("POST", f"/v1/worlds/{w}/plans/{other.plan_id}/discard", f"/v1/worlds/{w}/plans/999999/discard"),
            ("POST", f"/v1/worlds/{w}/orders/{other.order_ids[0]}/cancel", f"/v1/worlds/{w}/orders/NOPE/cancel"),
            ("PATCH", f"/v1/worlds/{w}/orders/{other.order_ids[0]}", f"/v1/worlds/{w}/orders/NOPE"),
            ("POST", f"/v1/worlds/{other.world}/plans", "/v1/worlds/no-such-world/plans"),
        ]
        for method, theirs, missing in probes:
            body = {"notes": "x"} if method == "PATCH" else None
            r1, r2 = c.request(method, theirs, json=body), c.request(method, missing, json=body)
            assert r1.status_code == 404 == r2.status_code, (theirs, r1.text)
            # the same reply as for an id that does not exist, apart from the id the caller sent
            text1, text2 = r1.text, r2.text
            for a, b in zip(re.split(r"[/?=]", theirs), re.split(r"[/?=]", missing), strict=True):
                if a != b:
                    text1, text2 = text1.replace(a, "<id>"), text2.replace(b, "<id>")
            assert text1 == text2 and r1.json()["error"]["type"] == "not_found"
        for vid in (other.vehicle_ids[0],):
            r = c.post(f"/v1/worlds/{w}/events/breakdown", json={"vehicle_id": vid})
            assert r.status_code == 404 and r.json()["error"]["type"] == "not_found"
    # the other partner's data is untouched by all of that
    assert _ok(api.alpha.client.get(f"/v1/worlds/{api.alpha.world}"))["committed_plan_id"] == api.alpha.plan_id
    assert _ok(api.beta.client.get(f"/v1/worlds/{api.beta.world}"))["orders"] == 5


def test_world_names_are_per_partner(api: Api) -> None:
    # beta may name a world like alpha's: it is beta's own, alpha's world is neither seen nor changed
    info = _ok(api.beta.client.post("/v1/worlds", json=_upload(api.alpha.world, rename=True)), 201)
    assert info["world"] == api.alpha.world and info["committed_plan_id"] is None
    assert _ok(api.beta.client.get(f"/v1/worlds/{api.alpha.world}/orders"))["orders"][0]["order_id"] == "Q1"
    assert _ok(api.alpha.client.get(f"/v1/worlds/{api.alpha.world}"))["committed_plan_id"] == api.alpha.plan_id
    assert sorted(_ok(api.beta.client.get("/v1/me"))["worlds"]) == sorted([api.alpha.world, api.beta.world])
    r = api.beta.client.post("/v1/worlds", json=_upload(api.alpha.world))
    assert r.status_code == 409 and r.json()["error"]["type"] == "conflict"
    assert sorted(api.store.world_names()) == ["alpha/alpha-day", "beta/alpha-day", "beta/beta-day"]


# -- writes: idempotency, limits, errors -------------------------------------------------------


def test_idempotency_key_replays_the_first_reply(api: Api) -> None:
    b = api.beta
    body = {"order_id": "IDEM1", "lat": 30.431, "lng": 120.271, "demand": 1, "tw_start": "10:00", "tw_end": "16:00"}
    headers = {"Idempotency-Key": "order-IDEM1-try"}
    first = b.client.post(f"/v1/worlds/{b.world}/orders", json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = b.client.post(f"/v1/worlds/{b.world}/orders", json=body, headers=headers)
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    orders = _ok(b.client.get(f"/v1/worlds/{b.world}/orders"))["orders"]
    assert [o["order_id"] for o in orders].count("IDEM1") == 1
    other = b.client.post(f"/v1/worlds/{b.world}/orders", json={**body, "order_id": "IDEM2"}, headers=headers)
    assert other.status_code == 422 and other.json()["error"]["type"] == "idempotency_key_reused"
    # a key is the partner's own: alpha's request with the same key is its own request
    a = api.alpha
    mine = a.client.post(f"/v1/worlds/{a.world}/orders", json={**body, "order_id": "A-IDEM"}, headers=headers)
    assert mine.status_code == 201 and "idempotent-replayed" not in mine.headers
    # a rejected write is replayed too (same reply), without a second attempt
    bad = {"order_id": "IDEM1", "lat": 30.43, "lng": 120.27}
    r1 = b.client.post(f"/v1/worlds/{b.world}/orders", json=bad, headers={"Idempotency-Key": "dup"})
    r2 = b.client.post(f"/v1/worlds/{b.world}/orders", json=bad, headers={"Idempotency-Key": "dup"})
    assert r1.status_code == 400 == r2.status_code and r1.json() == r2.json() and r2.headers["idempotent-replayed"] == "true"


def test_oversize_body_answers_413(api: Api) -> None:
    upload = _upload("huge")
    upload["orders_csv"] += "#" * (5 * 1024 * 1024)
    r = api.alpha.client.post("/v1/worlds", json=upload)
    assert r.status_code == 413
    assert r.json()["error"]["type"] == "payload_too_large"
    assert "huge" not in _ok(api.alpha.client.get("/v1/me"))["worlds"]


def test_errors_are_clear_json(api: Api) -> None:
    a = api.alpha
    r = a.client.post(f"/v1/worlds/{a.world}/orders", json={"lat": 200, "lng": 120.27})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["type"] == "validation_error" and "lat" in err["message"] and err["details"][0]["loc"][-1] == "lat"
    bad = _upload("broken")
    bad["orders_csv"] = bad["orders_csv"].replace("O1,pickup,Alice,30.43,120.27,2,", "O1,pickup,Alice,30.43,120.27,two,")
    r = a.client.post("/v1/worlds", json=bad)
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["type"] == "import_failed" and any("orders.csv" in p and "demand" in p for p in err["problems"])
    r = a.client.post(f"/v1/worlds/{a.world}/events/delay", json={"vehicle_id": a.vehicle_ids[0], "minutes": 30})
    assert r.status_code == 400 and r.json()["error"]["type"] == "input_error" and "clock" in r.json()["error"]["message"]
    assert "alpha/" not in r.text
    r = a.client.get("/v1/no-such-endpoint")
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found"


# -- the dispatch doors end to end --------------------------------------------------------------


def test_orders_events_advice_and_forecasts(api: Api) -> None:
    b = api.beta
    c, w = b.client, b.world
    oid = b.order_ids[1]
    noted = _ok(c.patch(f"/v1/worlds/{w}/orders/{oid}", json={"notes": "ring twice"}))
    assert noted["changed"] == ["notes"] and noted["draft"] is None and noted["order"]["notes"] == "ring twice"
    moved = _ok(c.patch(f"/v1/worlds/{w}/orders/{oid}", json={"tw_start": "11:00", "tw_end": "13:00", "demand": 2}))
    assert set(moved["changed"]) == {"windows", "demand"} and moved["draft"]["status"] == "draft"
    assert _ok(c.put(f"/v1/worlds/{w}/clock", json={"at": "08:30"}))["world"] == w
    broke = _ok(c.post(f"/v1/worlds/{w}/events/breakdown", json={"vehicle_id": "W3"}))
    assert broke["vehicle_id"] == "W3" and all(r["vehicle_id"] != "W3" or not r["stops"] for r in broke["draft"]["routes"])
    pinned = _ok(c.post(f"/v1/worlds/{w}/events/pin", json={"order_id": "Q4", "vehicle_id": "W2"}))
    assert "Q4" in next(r["stops"] for r in pinned["draft"]["routes"] if r["vehicle_id"] == "W2")
    cancelled = _ok(c.post(f"/v1/worlds/{w}/orders/Q1/cancel"))
    assert "Q1" not in {s for r in cancelled["draft"]["routes"] for s in r["stops"]}
    approved = _ok(c.post(f"/v1/worlds/{w}/plans/{cancelled['draft']['plan_id']}/approve"))
    assert approved["status"] == "committed"
    eta = _ok(c.get(f"/v1/worlds/{w}/orders/Q4"))
    assert eta["vehicle_id"] == "W2" and eta["plan_id"] == approved["plan_id"] and re.match(r"\d\d:\d\d", eta["eta"])
    advice = _ok(c.post(f"/v1/worlds/{w}/insertion-advice", json={"lat": 30.433, "lng": 120.268, "demand": 1, "tw_start": "12:00", "tw_end": "16:00"}))
    assert advice["feasible"] and advice["options"]
    scenario = _ok(c.post(f"/v1/worlds/{w}/what-if", json={"changes": [{"kind": "scale_demand", "factor": 1.5}]}))
    assert scenario["saved"] is False and scenario["baseline"]["plan_id"] == approved["plan_id"]
    series = _ok(c.get(f"/v1/worlds/{w}/forecast/series"))
    assert series["world"] == w and [s["series"] for s in series["series"]] == ["31"]
    fc = _ok(c.get(f"/v1/worlds/{w}/forecast", params={"series": "31", "days": 3}))
    assert len(fc["days"]) == 3 and fc["total"] >= 0
    assert _ok(c.get(f"/v1/worlds/{w}/history", params={"series": "31"}))["series"] == "31"


# -- the keys command -------------------------------------------------------------------------


def test_keys_command_prints_the_key_once_and_stores_only_its_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LOGISTICS_COPILOT_HOME", str(tmp_path))
    monkeypatch.delenv("LOGISTICS_COPILOT_DB_URL", raising=False)
    assert main(["keys", "create", "--partner", "acme", "--scopes", "read,plan,dispatch", "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    key = made["key"]
    assert key.startswith("lck_") and made["scopes"] == ["dispatch", "plan", "read"]
    assert main(["keys", "list"]) == 0
    listed = capsys.readouterr().out
    assert made["key_id"] in listed and "acme" in listed and key not in listed
    assert key.encode() not in (tmp_path / "copilot.sqlite3").read_bytes()
    assert main(["keys", "create", "--partner", "acme", "--scopes", "read,admin"]) == 2
    assert "scopes" in capsys.readouterr().err
    assert main(["keys", "revoke", made["key_id"]]) == 0
    assert main(["keys", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])[0]["revoked_at"] is not None
