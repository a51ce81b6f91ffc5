"""Schemathesis hooks for the partner API fuzz run (loaded by ``bench/fuzz/run.py`` through the ``hooks`` setting).

* ``before_call``: keeps the generated data but (1) gives most writes a fresh ``Idempotency-Key`` (the fuzzer
  would otherwise reuse a few short keys, so nearly every write would replay or answer 422
  ``idempotency_key_reused`` and the code behind it would stay untested; one write in ``FUZZ_IDEM_KEEP_EVERY``
  keeps its generated key so the idempotency paths are still fuzzed), and (2) caps valid solver budgets
  (``time_limit_s``, fleet-size ``samples`` and ``iterations``) so that one request cannot spend a minute of the
  run; values outside the documented range are left as generated, so the validation boundaries are still hit.
* ``tenant_isolation`` (a check): a request naming another partner's world (``FUZZ_FOREIGN_WORLDS``) or plan
  (``FUZZ_FOREIGN_PLANS``) must not succeed, and no reply may mention another partner's world name or the
  stored ``<partner>/<world>`` name of another partner's world.

Settings come from the environment (set by run.py): ``FUZZ_FOREIGN_WORLDS``, ``FUZZ_FOREIGN_PLANS`` and
``FUZZ_FOREIGN_PARTNERS`` (comma-separated), ``FUZZ_MAX_SOLVE_S`` (default 1), ``FUZZ_IDEM_KEEP_EVERY`` (default 10).
"""

from __future__ import annotations

import itertools
import json
import os
from typing import Any

import schemathesis

_FOREIGN_WORLDS = frozenset(w for w in os.environ.get("FUZZ_FOREIGN_WORLDS", "").split(",") if w)
_FOREIGN_PARTNERS = frozenset(p for p in os.environ.get("FUZZ_FOREIGN_PARTNERS", "").split(",") if p)
_FOREIGN_PLANS = frozenset(p for p in os.environ.get("FUZZ_FOREIGN_PLANS", "").split(",") if p)
_MAX_SOLVE_S = float(os.environ.get("FUZZ_MAX_SOLVE_S", "1"))
_KEEP_EVERY = max(1, int(os.environ.get("FUZZ_IDEM_KEEP_EVERY", "10")))
_SESSION = os.environ.get("FUZZ_SESSION", "s")
_counter = itertools.count(1)


def _cap_solver_budget(body: Any) -> None:
    if not isinstance(body, dict):
        return
    limit = body.get("time_limit_s")
    if isinstance(limit, int | float) and not isinstance(limit, bool) and _MAX_SOLVE_S < limit <= 60:
        body["time_limit_s"] = _MAX_SOLVE_S
    samples = body.get("samples")
    if isinstance(samples, int) and not isinstance(samples, bool) and 2 < samples <= 50:
        body["samples"] = 2
    iterations = body.get("iterations")
    if isinstance(iterations, int) and not isinstance(iterations, bool) and 100 < iterations <= 100_000:
        body["iterations"] = 100


@schemathesis.hook
def before_call(context: schemathesis.HookContext, case: Any, kwargs: dict[str, Any]) -> None:
    n = next(_counter)
    headers = case.headers
    if headers:
        for name in list(headers):
            if name.lower() == "idempotency-key" and isinstance(headers[name], str) and n % _KEEP_EVERY:
                headers[name] = f"{headers[name][:200]}-{_SESSION}-{n}"
    _cap_solver_budget(case.body)


def _mentions(payload: Any, names: frozenset[str]) -> str | None:
    """A foreign name found as a whole string value (or as the partner part of ``partner/world``)."""
    stack = [payload]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            if item in names:
                return item
            head = item.split("/", 1)[0]
            if "/" in item and head in _FOREIGN_PARTNERS:
                return item
    return None


@schemathesis.check
def tenant_isolation(ctx: schemathesis.CheckContext, response: schemathesis.Response, case: Any) -> bool | None:
    """Another partner's worlds answer 404 like unknown ones, and replies never name another partner's world."""
    path = case.path_parameters or {}
    world = path.get("world")
    ok = 200 <= response.status_code < 300
    if ok and isinstance(world, str) and world in _FOREIGN_WORLDS:
        raise AssertionError(f"another partner's world {world!r} answered {response.status_code} (expected 404)")
    plan = path.get("plan_id", (case.query or {}).get("plan"))
    if ok and plan is not None and not isinstance(plan, bool) and str(plan) in _FOREIGN_PLANS:
        raise AssertionError(f"another partner's plan {plan!r} answered {response.status_code} (expected 404)")
    if ok and _FOREIGN_WORLDS:
        try:
            payload = json.loads(response.content or b"null")
        except ValueError:
            return None
        leaked = _mentions(payload, _FOREIGN_WORLDS)
        if leaked is not None and world != leaked:
            raise AssertionError(f"the reply names another partner's world {leaked!r}")
    return None
