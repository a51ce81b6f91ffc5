"""The gate in front of every ``/v1`` route of the partner API: authentication, body size, per-partner limits,
idempotency (plain ASGI, so it decides before any handler thread or body read is spent).

Order of checks, each cheap before the next: the declared body size (413, before anything is read), the
key (401; looked up on the gate's own worker threads, so handlers that fill the shared pool cannot starve
authentication), the partner's limits (429 with ``Retry-After``), the body read with a running cap (413),
then the idempotency claim.

Per-partner limits (:class:`Limits`): a token bucket of requests per second with a burst, a cap on requests
in flight, and a cap on *planning* requests in flight (every write plans, what-if and advice solve) per
partner and over all partners (about one per core). A request over a limit is answered 429 at once, never
queued, so one partner's flood costs the others only the price of a refusal.

Idempotency: a write with ``Idempotency-Key`` claims the key (status 0) with a lease that the gate renews
while the request runs; the route keeps its reply in the transaction of the change itself
(:func:`copilot.apps.partner.routes` ``commit``), so a crash leaves either nothing (the claim's lease runs out and a
retry takes it over) or the change with its reply (a retry replays it).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from copilot.apps.partner.tenancy import Partner, authenticate
from copilot.core.errors import InputError
from copilot.core.ports import PartnerStore

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
MAX_BODY_BYTES = 5 * 1024 * 1024
IDEMPOTENCY_TTL_S = 24 * 3600
LEASE_S = 30  # a running request renews its idempotency claim every LEASE_S / 3 seconds


def error_body(kind: str, message: str, **extra: Any) -> dict[str, Any]:
    """The body of every error reply: ``{"error": {"type", "message", ...}}`` (None extras left out)."""
    return {"error": {"type": kind, "message": message, **{k: v for k, v in extra.items() if v is not None}}}


def key_from(headers: Headers) -> str | None:
    """The API key of a request: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``."""
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return headers.get("x-api-key") or None


async def send_json(send: Send, status: int, body: bytes, extra: dict[str, str] | None = None) -> None:
    """Send a whole JSON reply."""
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_error(send: Send, status: int, kind: str, message: str, extra: dict[str, str] | None = None) -> None:
    """Send an error reply in the API's error shape."""
    await send_json(send, status, json.dumps(error_body(kind, message)).encode(), extra)


# --------------------------------------------------------------------------------------------------
# Per-partner limits
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limits:
    """What one partner may ask of the server at once (0 or less: no limit of that kind)."""

    rate_per_s: float = 20.0  # sustained requests per second
    burst: int = 40  # requests allowed at once above the sustained rate
    in_flight: int = 16  # requests being answered at once
    planning_in_flight: int = 1  # requests that plan or solve (every non-GET) at once
    planning_total: int = field(default_factory=lambda: max(1, os.cpu_count() or 1))  # planning requests over all partners

    @classmethod
    def unlimited(cls) -> Limits:
        """No limit at all (tests of other things, a trusted single-tenant server)."""
        return cls(rate_per_s=0, burst=0, in_flight=0, planning_in_flight=0, planning_total=0)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    in_flight: int = 0
    planning: int = 0


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request was not admitted, and when to try again."""

    message: str
    retry_after_s: int


class PartnerLimiter:
    """Admission of requests by partner (thread-safe: the HTTP gate asks on the event loop, the MCP tools on
    worker threads)."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._planning_total = 0
        self._lock = threading.Lock()

    def admit(self, partner: str, planning: bool) -> Refusal | None:
        """Admit a request (None; call :meth:`release` when it ends) or say why not."""
        with self._lock:
            return self._admit(partner, planning)

    def _admit(self, partner: str, planning: bool) -> Refusal | None:
        lim = self.limits
        now = self._clock()
        b = self._buckets.setdefault(partner, _Bucket(tokens=float(lim.burst), at=now))
        if lim.rate_per_s > 0:
            b.tokens = min(float(max(lim.burst, 1)), b.tokens + (now - b.at) * lim.rate_per_s)
            b.at = now
            if b.tokens < 1:
                wait = math.ceil((1 - b.tokens) / lim.rate_per_s)
                return Refusal(f"more than {lim.rate_per_s:g} requests per second (burst {lim.burst}); slow down", max(1, wait))
        if lim.in_flight > 0 and b.in_flight >= lim.in_flight:
            return Refusal(f"{lim.in_flight} requests of yours are already being answered; wait for one to finish", 1)
        if planning:
            if lim.planning_in_flight > 0 and b.planning >= lim.planning_in_flight:
                return Refusal(f"{lim.planning_in_flight} planning request(s) of yours already running; wait for it to finish", 2)
            if lim.planning_total > 0 and self._planning_total >= lim.planning_total:
                return Refusal("the planner is busy with other partners' requests; retry shortly", 2)
        if lim.rate_per_s > 0:
            b.tokens -= 1
        b.in_flight += 1
        if planning:
            b.planning += 1
            self._planning_total += 1
        return None

    def release(self, partner: str, planning: bool) -> None:
        """A request admitted by :meth:`admit` has ended."""
        with self._lock:
            b = self._buckets[partner]
            b.in_flight -= 1
            if planning:
                b.planning -= 1
                self._planning_total -= 1


# --------------------------------------------------------------------------------------------------
# The gate
# --------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Claim:
    """An idempotency claim of the request being answered; the route sets ``kept`` once it kept the reply."""

    partner: str
    key: str
    kept: bool = False


class PartnerGate:
    """Authenticates every request under ``prefix``, applies the partner's limits, caps its body and answers
    repeated idempotent writes. ``planning`` says which requests count as planning (default: every non-GET)."""

    def __init__(
        self,
        app: ASGIApp,
        keys: PartnerStore,
        max_body_bytes: int,
        idempotency_ttl_s: int,
        limits: Limits | None = None,
        lease_s: int = LEASE_S,
        *,
        prefix: str = "/v1/",
        planning: Callable[[Scope], bool] | None = None,
    ) -> None:
        self.app = app
        self.prefix = prefix
        self.planning = planning or (lambda scope: scope["method"] not in SAFE_METHODS)
        self.keys = keys
        self.max_body_bytes = max_body_bytes
        self.ttl = idempotency_ttl_s
        self.lease_s = lease_s
        self.limiter = PartnerLimiter(limits or Limits())
        # the gate's own worker threads: handlers filling the shared pool cannot delay authentication
        self._threads = anyio.CapacityLimiter(4)

    async def _run(self, fn: Callable[[], Any]) -> Any:
        return await anyio.to_thread.run_sync(fn, limiter=self._threads)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        too_large = f"the request body is larger than {self.max_body_bytes} bytes"
        length = headers.get("content-length", "")
        if length and (not length.isascii() or not length.isdigit() or int(length) > self.max_body_bytes):
            await send_error(send, 413, "payload_too_large", too_large, {"Connection": "close"})
            return
        key = key_from(headers)
        partner = await self._run(lambda: authenticate(self.keys, key))
        if partner is None:
            why = "an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'" if key is None else "unknown or revoked API key"
            await send_error(send, 401, "unauthorized", why, {"WWW-Authenticate": "Bearer"})
            return
        scope.setdefault("state", {})["partner"] = partner
        planning = self.planning(scope)
        refused = self.limiter.admit(partner.name, planning)
        if refused is not None:
            await send_error(send, 429, "rate_limited", refused.message, {"Retry-After": str(refused.retry_after_s)})
            return
        try:
            await self._admitted(scope, receive, send, partner, headers, too_large)
        finally:
            self.limiter.release(partner.name, planning)

    async def _admitted(self, scope: Scope, receive: Receive, send: Send, partner: Partner, headers: Headers, too_large: str) -> None:
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await send_error(send, 413, "payload_too_large", too_large, {"Connection": "close"})
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        idem = headers.get("idempotency-key")
        if idem is None or scope["method"] in SAFE_METHODS:
            await self.app(scope, replay, send)
            return
        await self._idempotent(scope, replay, send, partner, idem, body)

    async def _renew(self, partner: str, key: str) -> None:
        while True:
            await asyncio.sleep(max(self.lease_s / 3, 0.05))
            with contextlib.suppress(Exception):  # a failed renewal only shortens the lease
                await self._run(lambda: self.keys.renew_reply(partner, key, lease_s=self.lease_s))

    async def _idempotent(self, scope: Scope, receive: Receive, send: Send, partner: Partner, idem: str, body: bytes) -> None:
        digest = hashlib.sha256()
        for part in (scope["method"], scope["path"], scope.get("query_string", b"").decode("latin-1")):
            digest.update(str(part).encode() + b"\n")
        digest.update(body)
        fingerprint = digest.hexdigest()
        try:
            kept = await self._run(lambda: self.keys.reserve_reply(partner.name, idem, fingerprint, max_age_s=self.ttl, lease_s=self.lease_s))
        except InputError as exc:
            await send_error(send, 400, "input_error", str(exc))
            return
        if kept is not None:
            if kept.fingerprint != fingerprint:
                await send_error(send, 422, "idempotency_key_reused", f"Idempotency-Key {idem!r} was already used for a different request; use a new key")
            elif kept.status == 0:
                retry = {"Retry-After": str(max(1, self.lease_s // 3))}
                await send_error(send, 409, "idempotency_in_progress", f"a request with Idempotency-Key {idem!r} is still being answered; retry shortly", retry)
            else:
                await send_json(send, kept.status, kept.body.encode(), {"Idempotent-Replayed": "true"})
            return
        claim = Claim(partner.name, idem)
        scope.setdefault("state", {})["idempotency"] = claim
        # The reply is held back until it is kept, so a retry can never overtake the keeping of it.
        start: Message | None = None
        parts: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))

        renewal = asyncio.ensure_future(self._renew(partner.name, idem))
        try:
            await self.app(scope, receive, capture)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._run(lambda: self.keys.release_reply(partner.name, idem))
            raise
        finally:
            renewal.cancel()
        status = int(start["status"]) if start is not None else 500
        reply = b"".join(parts)
        if claim.kept:
            pass  # kept by the route in the change's own transaction
        elif start is not None and status < 500 and status not in (401, 403, 429):
            await self._run(lambda: self.keys.finish_reply(partner.name, idem, status, reply.decode("utf-8", errors="replace")))
        else:
            await self._run(lambda: self.keys.release_reply(partner.name, idem))
        if start is None:
            await send_error(send, 500, "internal_error", "the server failed to answer this request")
            return
        await send(start)
        await send({"type": "http.response.body", "body": reply, "more_body": False})
