"""One tool catalogue feeds every door: the HTTP routes, the MCP tools and the agent's actions come from the same
entries of :mod:`tools.catalog`, with the same scopes and models."""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import inspect
import textwrap
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from copilot.apps.mcp_server import build_server
from copilot.apps.partner.routes import create_app
from copilot.apps.partner.tenancy import create_key, stored_name
from graphs.toolset import ACTIONS
from tools.catalog import CATALOG, SCOPES, TOOLS, Tool
from tools.planning import PlanSettings
from tools.sql import SqlStore
from tools.sql.partners import SqlPartnerStore
from tools.world_io import read_world

TINY = Path(__file__).resolve().parents[1] / "data" / "worlds" / "tiny"
DOOR_OWN_ROUTES = {"me", "list_worlds", "import_world"}  # the HTTP door's own: who am I, the partner's worlds, a world's import


def _store(folder: Path) -> SqlStore:
    store = SqlStore(f"sqlite:///{(folder / 'catalog.sqlite3').as_posix()}")
    store.upgrade()
    return store


def _api_routes(routes: Any) -> list[APIRoute]:
    """Every API route of an app, through included routers."""
    out: list[APIRoute] = []
    for r in routes:
        if isinstance(r, APIRoute):
            out.append(r)
        elif hasattr(r, "original_router"):
            out.extend(_api_routes(r.original_router.routes))
    return out


def _scope_of(route: APIRoute) -> str:
    """The scope a route's key dependency requires (its name is require_<scope>)."""
    names = {d.call.__name__ for d in route.dependant.dependencies if d.call is not None}
    scopes = {n.removeprefix("require_") for n in names if n.startswith("require_")}
    assert len(scopes) == 1, (route.name, names)
    return scopes.pop()


def test_catalogue_entries_are_unique_and_complete() -> None:
    assert len(CATALOG) == len(TOOLS)
    for t in TOOLS:
        assert t.scope in SCOPES and t.summary and t.routes, t.name
        assert t.request is None or "world" not in t.request.model_fields, t.name  # the door supplies the world
        if t.writes:
            assert t.scope != "read", f"{t.name} writes, so a read-only key must not reach it"
    names = [r.name for t in TOOLS for r in t.routes]
    assert len(names) == len(set(names)), "operation ids are unique"


def test_http_routes_are_the_catalogue_routes_with_their_scopes_and_models(tmp_path: Path) -> None:
    store = _store(tmp_path)
    app = create_app(store, keys=SqlPartnerStore(store))
    served = {r.name: r for r in _api_routes(app.routes)}
    expected: dict[str, tuple[Tool, Any]] = {r.name: (t, r) for t in TOOLS for r in t.routes}
    assert set(served) - DOOR_OWN_ROUTES == set(expected)
    for name, (tool, route) in expected.items():
        api = served[name]
        assert api.path == "/v1" + route.path and api.methods == {route.method}, name
        assert api.response_model is tool.result, name
        assert _scope_of(api) == tool.scope, name
    store.close()


def test_mcp_tools_are_the_catalogue_tools_with_their_scopes_and_fields(tmp_path: Path) -> None:
    store = _store(tmp_path)
    listed = {t.name: t for t in asyncio.run(build_server(store).list_tools())}
    assert set(listed) - {"import_world"} == set(CATALOG)
    for name, tool in CATALOG.items():
        mcp_tool = listed[name]
        assert (mcp_tool.description or "").startswith(f"[{tool.scope}] "), name
        fields = set(tool.request.model_fields) if tool.request is not None else set()
        assert set(mcp_tool.input_schema["properties"]) == fields | {"world"}, name
        assert mcp_tool.output_schema is not None
        assert set(mcp_tool.output_schema["properties"]) == set(tool.result.model_fields), name
    store.close()


def _called_tools(fn: Any) -> set[str]:
    """The catalogue names an agent runner passes to ``call(...)``, read from its source."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "call" and node.args and isinstance(node.args[0], ast.Constant)
    }


def test_agent_actions_call_catalogue_tools_with_agreeing_scopes() -> None:
    for action in ACTIONS.values():
        tools = [CATALOG[name] for name in action.tools]  # KeyError: an action names a tool the catalogue lacks
        if action.run is not None:
            assert _called_tools(action.run) <= set(action.tools), f"{action.name} calls a tool it does not declare"
        if action.kind in ("read", "confirm", "chat"):
            assert not any(t.writes for t in tools), f"{action.name} is a question but names a tool that writes"
        elif action.kind == "event":
            assert any(t.writes and t.scope == "dispatch" for t in tools), action.name
        else:
            assert [t.name for t in tools] == [{"plan": "plan_day", "dispatch": "approve_plan", "discard": "discard_draft"}[action.kind]]


@pytest.fixture(scope="module")
def partner_app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    store = _store(tmp_path_factory.mktemp("catalog"))
    keys = SqlPartnerStore(store)
    world = read_world(TINY)
    store.import_world(dataclasses.replace(world, name=stored_name("acme", "tiny")))
    read_key, _ = create_key(keys, "acme", ["read"])
    app = create_app(store, keys=keys, settings=PlanSettings(time_limit_s=0.2))
    with TestClient(app) as client:
        yield client, read_key
    store.close()


def test_a_read_key_reaches_every_read_route_and_no_other(partner_app: Any) -> None:
    client, read_key = partner_app
    headers = {"X-API-Key": read_key}
    values = {"world": "tiny", "order_id": "O1", "vehicle_id": "V1", "plan_id": "1"}
    for tool in TOOLS:
        for route in tool.routes:
            path = "/v1" + route.path.format(**values)
            r = client.request(route.method, path, headers=headers, json={} if route.method != "GET" else None)
            if tool.scope == "read":
                assert r.status_code != 403, (tool.name, r.text)
            else:
                assert r.status_code == 403 and r.json()["error"]["type"] == "forbidden", (tool.name, r.status_code)
