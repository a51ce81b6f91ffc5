"""The MCP server with the official ``mcp`` client: over stdio (a spawned ``python -m copilot mcp``) and streamable HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from http_loopback import serve
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from copilot.apps.mcp_server import build_server, http_app
from copilot.apps.partner.tenancy import create_key, stored_name
from tools.planning import PlanSettings
from tools.sql import SqlStore
from tools.sql.partners import SqlPartnerStore
from tools.world_io import read_world

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "data" / "worlds" / "tiny"
EXPECTED_TOOLS = {
    "world_info",
    "list_orders",
    "get_kpis",
    "order_status",
    "vehicle_stops",
    "plan_day",
    "approve_plan",
    "add_order",
    "advise_insertion",
    "what_if",
    "forecast_demand",
    "vehicle_unavailable",
    "import_world",
}


def _store(path: Path) -> SqlStore:
    store = SqlStore(f"sqlite:///{path}")
    store.upgrade()
    return store


def _structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def _session(client: Client, world: str | None = None) -> dict[str, Any]:
    """List the tools, read the world, make a draft, read its KPIs (what each transport must do)."""
    names = {t.name for t in (await client.list_tools()).tools}
    assert names >= EXPECTED_TOOLS
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert {"order_id", "kind", "lat", "lng", "demand", "world"} <= set(tools["add_order"].input_schema["properties"])
    assert tools["get_kpis"].output_schema is not None and "total_distance_km" in tools["get_kpis"].output_schema["properties"]
    args = {"world": world} if world else {}
    info = _structured(await client.call_tool("world_info", args))
    assert info["orders"] == 5
    draft = _structured(await client.call_tool("plan_day", args))
    assert draft["status"] == "draft" and draft["orders_served"] == 5
    kpis = _structured(await client.call_tool("get_kpis", {**args, "plan": "draft"}))
    assert kpis["plan_id"] == draft["plan_id"] and kpis["orders_served"] == 5
    return draft


def test_stdio_server_lists_tools_reads_and_drafts(tmp_path: Path) -> None:
    db = tmp_path / "mcp.sqlite3"
    store = _store(db)
    store.import_world(read_world(TINY))
    store.close()
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "copilot", "--db", f"sqlite:///{db}", "mcp", "--world", "tiny", "--time-limit", "0.3"],
        cwd=str(ROOT),
    )

    async def main() -> None:
        async with Client(params, read_timeout_seconds=60) as client:
            draft = await _session(client)
            status = _structured(await client.call_tool("order_status", {"order_id": "O2", "plan": draft["plan_id"]}))
            assert status["status"] == "planned" and status["eta"]
            missing = await client.call_tool("order_status", {"order_id": "NOPE"})
            assert missing.is_error and "NotFound" in missing.content[0].text and "O1" in missing.content[0].text

    asyncio.run(main())
    store = _store(db)
    try:
        assert [p.status.value for p in store.plans("tiny")] == ["draft"]
        assert store.audit("tiny")[-1].actor == "mcp"
    finally:
        store.close()


def test_streamable_http_server_needs_a_key_and_keeps_partners_apart(tmp_path: Path) -> None:
    store = _store(tmp_path / "mcp-http.sqlite3")
    keys = SqlPartnerStore(store)
    world = read_world(TINY)
    store.import_world(dataclasses.replace(world, name=stored_name("acme", "tiny")))
    acme, _ = create_key(keys, "acme", ["read", "plan", "dispatch"])
    acme_ro, _ = create_key(keys, "acme", ["read"])
    other, _ = create_key(keys, "zenith", ["read", "plan", "dispatch"])
    server = build_server(store, keys=keys, settings=PlanSettings(time_limit_s=0.3))
    try:
        with serve(http_app(server, keys)) as url:
            endpoint = f"{url}/mcp"
            r = httpx.post(endpoint, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, headers={"Accept": "application/json, text/event-stream"})
            assert r.status_code == 401 and r.json()["error"]["type"] == "unauthorized"

            @contextlib.asynccontextmanager
            async def client(key: str) -> AsyncIterator[Client]:
                async with (
                    create_mcp_http_client(headers={"Authorization": f"Bearer {key}"}) as http,
                    Client(streamable_http_client(endpoint, http_client=http), read_timeout_seconds=60) as c,
                ):
                    yield c

            async def main() -> None:
                async with client(acme) as c:
                    await _session(c, "tiny")
                    assert _structured(await c.call_tool("world_info", {}))["world"] == "tiny"  # the partner's only world
                async with client(acme_ro) as c:
                    assert _structured(await c.call_tool("get_kpis", {"plan": "draft"}))["orders_served"] == 5
                    denied = await c.call_tool("plan_day", {"world": "tiny"})
                    assert denied.is_error and "forbidden" in denied.content[0].text and "'plan' scope" in denied.content[0].text
                async with client(other) as c:
                    hidden = await c.call_tool("world_info", {"world": "tiny"})
                    assert hidden.is_error and "NotFound" in hidden.content[0].text and "acme" not in hidden.content[0].text
                    ids = await c.call_tool("order_status", {"world": "tiny", "order_id": "O1"})
                    assert ids.is_error and "NotFound" in ids.content[0].text

            asyncio.run(main())
        assert [p.status.value for p in store.plans(stored_name("acme", "tiny"))] == ["draft"]
        assert store.audit(stored_name("acme", "tiny"))[-1].actor == "partner:acme"
    finally:
        store.close()


def test_every_tool_has_one_of_the_api_scopes() -> None:
    from copilot.apps.mcp_server import TOOLS

    by_scope = {s.name: s.scope for s in TOOLS}
    assert by_scope["get_kpis"] == "read" and by_scope["plan_day"] == "plan" and by_scope["approve_plan"] == "dispatch"
    assert {s.scope for s in TOOLS} == {"read", "plan", "dispatch"}


def test_stdio_server_honours_the_engine_flag(tmp_path: Path) -> None:
    """``mcp --engine ortools`` plans with OR-Tools although the automatic choice would take PyVRP for this world."""
    db = tmp_path / "engine.sqlite3"
    store = _store(db)
    store.import_world(read_world(TINY))
    store.close()
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "copilot", "--db", f"sqlite:///{db}", "mcp", "--world", "tiny", "--time-limit", "0.3", "--engine", "ortools"],
        cwd=str(ROOT),
    )

    async def main() -> str:
        async with Client(params, read_timeout_seconds=60) as client:
            _structured(await client.call_tool("plan_day", {}))
        store = _store(db)
        try:
            return store.plans("tiny")[-1].plan.solver
        finally:
            store.close()

    assert asyncio.run(main()).split(" ")[0] == "ortools"
