"""The partner doors on the command line: ``keys`` (API keys), ``serve`` (HTTP API) and ``mcp`` (MCP server).

Kept apart from :mod:`copilot.apps.partner.routes` and :mod:`copilot.apps.mcp_server` so that building the command
line imports neither FastAPI nor the MCP SDK.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from copilot.core.ports import ApiKey, PartnerStore
from copilot.core.routing import ENGINE_NAMES

COMMANDS = ("keys", "serve", "mcp")


def add_parsers(sub: Any) -> None:
    """Add ``keys``, ``serve`` and ``mcp`` to the command line's sub-parsers."""
    ke = sub.add_parser(
        "keys",
        help="create, list and revoke partner API keys (for 'serve' and 'mcp --http')",
        description="A key is printed once, when it is made; only its SHA-256 hash is stored.\n"
        "Scopes: read (look-ups), plan (drafts, what-if, insertion advice), dispatch (events, order writes, approvals, imports).",
        epilog="examples:\n  logistics-copilot keys create --partner acme --scopes read,plan,dispatch\n"
        "  logistics-copilot keys list --partner acme\n  logistics-copilot keys revoke 3f9a1c2b7d10",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ksub = ke.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    kc = ksub.add_parser("create", help="make a key for a partner and print it once (the key alone on stdout)")
    kc.add_argument("--partner", required=True, help="partner name: lower-case letters, digits, '_' or '-'")
    kc.add_argument("--scopes", default="read", help="comma-separated: read, plan, dispatch (default read)")
    kc.add_argument("--note", default="", help="a note kept with the key (who or what uses it)")
    kc.add_argument("--json", action="store_true", help="print one JSON object (the key and its record)")
    kl = ksub.add_parser("list", help="list keys (ids, partners, scopes; never the keys themselves)")
    kl.add_argument("--partner", help="only this partner's keys")
    kl.add_argument("--json", action="store_true")
    kr = ksub.add_parser("revoke", help="revoke a key by its id (it stops working at once)")
    kr.add_argument("key_id", help="the key's id, as 'keys list' shows it")

    sv = sub.add_parser(
        "serve",
        help="run the partner tool API over HTTP (OpenAPI at /openapi.json, docs at /docs)",
        description="Partners call the same tools over HTTP with their own API keys (logistics-copilot keys create).\n"
        "Each partner sees and changes only the worlds it imported.",
        epilog="example:\n  logistics-copilot serve --port 8000\n  curl -H 'Authorization: Bearer lck_...' http://127.0.0.1:8000/v1/worlds",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sv.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    _planning_options(sv)
    sv.add_argument("--max-body-mb", type=float, default=5.0, metavar="MB", help="largest request body accepted (default 5 MB)")
    lim = sv.add_argument_group("per-partner limits (a request over a limit answers 429 with Retry-After; 0 turns a limit off)")
    lim.add_argument("--rate", type=float, default=20.0, metavar="N", help="sustained requests per second per partner (default 20)")
    lim.add_argument("--burst", type=int, default=40, metavar="N", help="requests a partner may send at once above the rate (default 40)")
    lim.add_argument("--max-in-flight", type=int, default=16, metavar="N", help="requests of one partner answered at once (default 16)")
    lim.add_argument("--max-planning", type=int, default=1, metavar="N", help="planning requests (every write) of one partner at once (default 1)")
    lim.add_argument("--max-planning-total", type=int, default=0, metavar="N", help="planning requests of all partners at once (default: the number of cores)")
    sv.add_argument("--solver-workers", type=int, default=0, metavar="N",
                    help="worker processes that solve (default: as many as planning requests may run at once, one per core)")
    sv.add_argument("--idempotency-lease", type=int, default=30, metavar="S",
                    help="seconds a running idempotent request holds its key without renewing it; after a crash a retry waits at most this long (default 30)")

    mc = sub.add_parser(
        "mcp",
        help="run the MCP server (stdio for a local client, or streamable HTTP with partner API keys)",
        description="The same typed tools as the HTTP API, for MCP clients. stdio: a local, trusted client acting on\n"
        "the stored world --world NAME. --http: streamable HTTP at http://HOST:PORT/mcp; every request needs a\n"
        "partner API key (Authorization: Bearer <key>) and sees only that partner's worlds.",
        epilog="examples:\n  logistics-copilot mcp --world hangzhou-0501\n  logistics-copilot mcp --http --port 8001",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mc.add_argument("--world", help="default world (stdio: a stored world name; --http: the partner's own name)")
    mc.add_argument("--http", action="store_true", help="serve streamable HTTP instead of stdio")
    mc.add_argument("--host", default="127.0.0.1", help="--http: address to listen on (default 127.0.0.1)")
    mc.add_argument("--port", type=int, default=8001, help="--http: port (default 8001)")
    _planning_options(mc)


def _planning_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--time-limit", type=float, default=5.0, metavar="S", help="planning search time per draft in seconds (default 5)")
    p.add_argument("--engine", choices=ENGINE_NAMES, default="auto")


def run(args: argparse.Namespace) -> int:
    """Run ``keys``, ``serve`` or ``mcp``."""
    from copilot.apps.wiring import make_partner_store, make_store

    store = make_store(args.db)
    try:
        if args.command == "keys":
            return _keys(args, make_partner_store(store))
        from tools.planning import PlanSettings

        settings = PlanSettings(time_limit_s=args.time_limit)
        if args.command == "serve":
            import uvicorn

            from copilot.apps.partner.gate import Limits
            from copilot.apps.partner.routes import create_app

            defaults = Limits()
            limits = Limits(
                rate_per_s=args.rate,
                burst=args.burst,
                in_flight=args.max_in_flight,
                planning_in_flight=args.max_planning,
                planning_total=args.max_planning_total or defaults.planning_total,
            )
            app = create_app(
                store,
                settings=settings,
                engine=args.engine,
                solver_workers=args.solver_workers or limits.planning_total,
                max_body_bytes=int(args.max_body_mb * 1024 * 1024),
                limits=limits,
                lease_s=args.idempotency_lease,
            )
            uvicorn.run(app, host=args.host, port=args.port, log_level="info")
            return 0
        from copilot.apps import mcp_server

        if args.http:
            mcp_server.run_http(store, make_partner_store(store), args.world, settings, args.engine, args.host, args.port)
        else:
            mcp_server.run_stdio(store, args.world, settings, args.engine)
        return 0
    finally:
        store.close()


def _record(k: ApiKey) -> dict[str, object]:
    return {"key_id": k.key_id, "partner": k.partner, "scopes": sorted(k.scopes), "created_at": k.created_at, "revoked_at": k.revoked_at, "note": k.note}


def _keys(args: argparse.Namespace, keys: PartnerStore) -> int:
    from copilot.apps.partner.tenancy import create_key, parse_scopes

    if args.keys_command == "create":
        key, rec = create_key(keys, args.partner, parse_scopes(args.scopes), args.note)
        if args.json:
            print(json.dumps({"key": key, **_record(rec)}))
        else:
            print(key)
            print(f"key id {rec.key_id}, partner {rec.partner}, scopes {','.join(sorted(rec.scopes))}: the key above is shown only now", file=sys.stderr)
        return 0
    if args.keys_command == "list":
        items: list[ApiKey] = keys.api_keys(args.partner)
        if args.json:
            print(json.dumps([_record(k) for k in items]))
            return 0
        if not items:
            print("no keys")
        for k in items:
            made = time.strftime("%Y-%m-%d %H:%M", time.gmtime(k.created_at))
            state = "active" if k.active else "revoked " + time.strftime("%Y-%m-%d %H:%M", time.gmtime(k.revoked_at or 0)) + " UTC"
            print(f"{k.key_id}  {k.partner:<20} {','.join(sorted(k.scopes)):<20} created {made} UTC  {state}  {k.note}".rstrip())
        return 0
    rec = keys.revoke_api_key(args.key_id)
    print(f"key {rec.key_id} of partner {rec.partner} is revoked")
    return 0
