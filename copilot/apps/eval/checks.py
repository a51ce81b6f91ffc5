"""The checks of the dispatcher evaluation (``../shared/eval/README.md``), evaluated from the store.

Every check reads the state after the last turn (and, for the "changed" checks, the snapshot taken
after the setup steps and before the first turn); nothing here looks at tool names, prompts, task ids
or world names. Each check function returns ``(passed, detail)``, the detail saying in words what was
found, so that a failed run can be analysed from the report alone.

The state checks (plans, orders, vehicles, history, changes) are here, with the parameters every check
takes and the registry :data:`CHECKS` that :func:`validate_check` and :func:`evaluate_check` use; the answer
checks are in :mod:`copilot.apps.eval.answers`, the snapshots and :class:`CheckState` in
:mod:`copilot.apps.eval.state`.

``plan_feasible`` is judged by the independent feasibility checker (:func:`solvers.checker.check_plan`),
which shares no code with the engines or with :mod:`copilot.core.units`: its violations of the rules that
compare the plan's stated figures with its own recomputation (:data:`RECOMPUTATION_RULES`) are reported as
the recomputation's disagreements, the others as broken rules.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from copilot.apps.eval.answers import _metric, check_answer_language, check_answer_mentions, check_answer_mentions_value, check_answer_not_mentions
from copilot.apps.eval.state import CheckFn, CheckResult, CheckState, _plan, _plan_name, _route, snapshot_changes
from copilot.core.domain import Order
from copilot.core.units import format_clock, format_time, parse_time
from solvers.checker import check_plan

# --------------------------------------------------------------------------------------------------
# Check parameters
# --------------------------------------------------------------------------------------------------

Validator = Callable[[object], str | None]


def _nonempty_text(v: object) -> str | None:
    return None if isinstance(v, str) and v.strip() else "must be a non-empty text"


def _plan_choice(v: object) -> str | None:
    return None if v in ("committed", "draft") else "must be 'committed' or 'draft'"


def _boolean(v: object) -> str | None:
    return None if isinstance(v, bool) else "must be true or false"


def _instant(v: object) -> str | None:
    if not isinstance(v, str):
        return "must be an ISO 8601 time with offset, e.g. 2022-05-01T10:30:00+08:00"
    try:
        parse_time(v)
    except ValueError as exc:
        return str(exc)
    return None


def _text_list(v: object) -> str | None:
    if isinstance(v, list) and v and all(isinstance(x, str) and x.strip() for x in v):
        return None
    return "must be a non-empty list of non-empty texts"


def _language(v: object) -> str | None:
    return None if v in ("en", "zh") else "must be 'en' or 'zh'"


def _number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _field_demand(order: Order, want: object) -> tuple[bool, str]:
    return order.demand == want, str(order.demand)


def _first_start(order: Order) -> int | None:
    return order.windows[0].start if order.windows else None


def _last_end(order: Order) -> int | None:
    return order.windows[-1].end if order.windows else None


def _field_instant(get: Callable[[Order], int | None]) -> Callable[[Order, object], tuple[bool, str]]:
    def compare(order: Order, want: object) -> tuple[bool, str]:
        have = get(order)
        return have is not None and have == parse_time(str(want)), "none" if have is None else str(have)

    return compare


def _field_text(get: Callable[[Order], str | None]) -> Callable[[Order, object], tuple[bool, str]]:
    def compare(order: Order, want: object) -> tuple[bool, str]:
        have = get(order) or ""
        return have.strip().casefold() == str(want or "").strip().casefold(), repr(have)

    return compare


def _field_float(get: Callable[[Order], float]) -> Callable[[Order, object], tuple[bool, str]]:
    def compare(order: Order, want: object) -> tuple[bool, str]:
        have = get(order)
        return _number(want) and abs(have - float(want)) <= 1e-6, f"{have:g}"  # type: ignore[arg-type]

    return compare


def _field_cancelled(order: Order, want: object) -> tuple[bool, str]:
    return order.cancelled is want, str(order.cancelled)


#: order_exists ``fields``: name -> (validator of the expected value, comparison with the stored order).
#: ``tw_start`` / ``tw_end`` are the first window's start and the last window's end, compared as instants.
ORDER_FIELDS: dict[str, tuple[Validator, Callable[[Order, object], tuple[bool, str]]]] = {
    "demand": (lambda v: None if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else "must be a whole number, zero or more", _field_demand),
    "tw_start": (_instant, _field_instant(_first_start)),
    "tw_end": (_instant, _field_instant(_last_end)),
    "customer": (lambda v: None if isinstance(v, str) else "must be a text", _field_text(lambda o: o.customer)),
    "kind": (lambda v: None if v in ("pickup", "delivery") else "must be 'pickup' or 'delivery'", _field_text(lambda o: o.kind.value)),
    "priority": (lambda v: None if v in ("normal", "high") else "must be 'normal' or 'high'", _field_text(lambda o: o.priority.value)),
    "required_skill": (lambda v: None if v is None or isinstance(v, str) else "must be a text or null", _field_text(lambda o: o.required_skill)),
    "notes": (lambda v: None if isinstance(v, str) else "must be a text", _field_text(lambda o: o.notes)),
    "pinned_vehicle": (lambda v: None if v is None or isinstance(v, str) else "must be a text or null", _field_text(lambda o: o.pinned_vehicle)),
    "service_min": (lambda v: None if _number(v) else "must be a number", _field_float(lambda o: o.service_s / 60)),
    "lat": (lambda v: None if _number(v) else "must be a number", _field_float(lambda o: o.location.lat)),
    "lng": (lambda v: None if _number(v) else "must be a number", _field_float(lambda o: o.location.lng)),
    "cancelled": (_boolean, _field_cancelled),
}


def _fields(v: object) -> str | None:
    if not isinstance(v, dict) or not v:
        return "must be a non-empty object of order fields"
    for name, want in v.items():
        if name not in ORDER_FIELDS:
            return f"has unknown field {name!r}; known fields: {', '.join(ORDER_FIELDS)}"
        problem = ORDER_FIELDS[name][0](want)
        if problem:
            return f"field {name!r} {problem}"
    return None


# --------------------------------------------------------------------------------------------------
# State checks
# --------------------------------------------------------------------------------------------------


def check_plan_exists(spec: Mapping[str, object], state: CheckState) -> CheckResult:
    sp, why = _plan(state, spec)
    return (True, f"{_plan_name(sp)} exists") if sp else (False, why)


#: Rules of :func:`solvers.checker.check_plan` that compare a plan's stated figures with the checker's own
#: recomputation from the raw data (per route, from the stated departure): ``travel_time`` (an arrival or
#: the return earlier than driving the straight-line legs at the vehicle's speed allows, 1 s per leg),
#: ``schedule`` (service before arrival, departure not start + service time), ``distance`` (the stated
#: route distance off the recomputed one by more than 0.5 % + 1 m) and ``load`` (the stated start load or
#: load after a visit not the recomputed one). Visits started before the clock are history, taken as stated.
RECOMPUTATION_RULES = frozenset({"travel_time", "schedule", "distance", "load"})


def check_plan_feasible(spec: Mapping[str, object], state: CheckState) -> CheckResult:
    """The independent checker (:func:`solvers.checker.check_plan`, with the clock after the turns) finds no
    violation: every stop respects capacity, time windows, shifts, skills and the other rules, and the plan's
    stated times, distances and loads agree with the checker's recomputation (:data:`RECOMPUTATION_RULES`,
    reported as the recomputation's disagreements)."""
    sp, why = _plan(state, spec)
    if sp is None:
        return False, why
    clock = state.after.clock
    found = check_plan(state.world, sp.plan, clock)
    violations = [v for v in found if v.rule not in RECOMPUTATION_RULES]
    disagreements = [str(v) for v in found if v.rule in RECOMPUTATION_RULES]
    stops = len(sp.plan.assigned_ids())
    if not violations and not disagreements:
        return True, f"{_plan_name(sp)}: {stops} stops, the independent checker finds no violation and the recomputation agrees"
    parts = [f"checker: {'; '.join(map(str, violations[:3]))}" + (f" (+{len(violations) - 3} more)" if len(violations) > 3 else "")] if violations else []
    if disagreements:
        parts.append(f"recomputation: {'; '.join(disagreements[:3])}" + (f" (+{len(disagreements) - 3} more)" if len(disagreements) > 3 else ""))
    return False, f"{_plan_name(sp)} is not feasible: " + " | ".join(parts)


def check_order_assigned(spec: Mapping[str, object], state: CheckState) -> CheckResult:
    sp, why = _plan(state, spec)
    if sp is None:
        return False, why
    oid = str(spec["order"])
    route = sp.plan.route_of(oid)
    if route is None:
        reason = next((u.reason for u in sp.plan.unassigned if u.order_id == oid), None)
        return False, f"{oid} is not on a route of {_plan_name(sp)}" + (f" (unassigned: {reason})" if reason else "")
    want = spec.get("vehicle")
    if want is not None and route.vehicle_id != want:
        return False, f"{oid} is on {route.vehicle_id} in {_plan_name(sp)}, not on {want}"
    return True, f"{oid} is on {route.vehicle_id} in {_plan_name(sp)}"


def check_order_unassigned(spec: Mapping[str, object], state: CheckState) -> CheckResult:
    sp, why = _plan(state, spec)
    if sp is None:
        return False, why
    oid = str(spec["order"])
    route = sp.plan.route_of(oid)
    if route is not None:
        return False, f"{oid} is on {route.vehicle_id} in {_plan_name(sp)}"
    return True, f"{oid} is on no route of {_plan_name(sp)}"


def _order(state: CheckState, oid: str) -> Order | None:
    return next((o for o in state.world.orders if o.id == oid), None)


def check_order_exists(spec: Mapping[str, object], state: CheckState) -> CheckResult:
    oid = str(spec["order"])
    order = _order(state, oid)
    if order is None:
        return False, f"no order {oid} in the store"
    fields = spec.get("fields") or {}
    assert isinstance(fields, dict)
    wrong = []
    for name, want in fields.items():
        ok, have = ORDER_FIELDS[name][1](order, want)
        if not ok:
            shown = format_time(int(have), state.world.utc_offset_s) if name in ("tw_start", "tw_end") and have.isdigit() else have
            wrong.append(f"{name} is {shown}, expected {want!r}")
    if wrong:
        return False, f"order {oid} exists but " + "; ".join(wrong)
    return True, f"order {oid} exists" + (f" with {', '.join(fields)} as expected" if fields else "")


def check_order_cancelled(spec: Mapping[str, object], state: CheckState) -> CheckResult:
    """Cancelled means the order's cancelled flag in the store (kept there, and never routed by any plan made since)."""
    oid = str(spec["order"])
    order = _order(state, oid)
    if order is None:
        return False, f"no order {oid} in the store (a cancelled order is kept)"
    return (True, f"order {oid} is cancelled") if order.cancelled else (False, f"order {oid} is not cancelled")


def check_vehicle_available(spec: Mapping[str, object], state: CheckState) -> CheckResult:
    vid = str(spec["vehicle"])
    vehicle = next((v for v in state.world.vehicles if v.id == vid), None)
    if vehicle is None:
        return False, f"no vehicle {vid} in the store"
    want = spec["value"]
    have = vehicle.available
    off = state.world.utc_offset_s
    how = "available" if have else f"unavailable from {format_clock(vehicle.unavailable_from or 0, off)}"
    return have == want, f"{vid} is {how} (expected {'available' if want else 'unavailable'})"


def check_vehicle_no_stops_after(spec: Mapping[str, object], state: CheckState) -> CheckResult:
    sp, why = _plan(state, spec)
    if sp is None:
        return False, why
    vid = str(spec["vehicle"])
    at = parse_time(str(spec["time"]))
    route = _route(sp.plan, vid)
    late = [v for v in route.visits if v.start > at] if route else []
    off = state.world.utc_offset_s
    if late:
        shown = ", ".join(f"{v.order_id} {format_clock(v.start, off)}" for v in late[:5])
        return False, f"{vid} has {len(late)} stop(s) starting after {format_clock(at, off)} in {_plan_name(sp)}: {shown}"
    return True, f"{vid} has no stop starting after {format_clock(at, off)} in {_plan_name(sp)}"


def check_history_unchanged_before(spec: Mapping[str, object], state: CheckState) -> CheckResult:
    """Against the plan committed before the first turn: every stop of either plan that started before
    ``time`` is in both, on the same vehicle with the same start. Without a plan committed before the
    turns there is no history, and the check holds."""
    sp, why = _plan(state, spec)
    if sp is None:
        return False, why
    base = state.before.committed
    if base is None:
        return True, "no plan was committed before the turns: no history to keep"
    at = parse_time(str(spec["time"]))
    old = {v.order_id: (r.vehicle_id, v.start) for r in base.plan.routes for v in r.visits}
    new = {v.order_id: (r.vehicle_id, v.start) for r in sp.plan.routes for v in r.visits}
    off = state.world.utc_offset_s

    def show(stop: tuple[str, int] | None) -> str:
        return "absent" if stop is None else f"{stop[0]} {format_clock(stop[1], off)}"

    changed = []
    for oid in sorted({k for k, (_, s) in old.items() if s < at} | {k for k, (_, s) in new.items() if s < at}):
        if old.get(oid) != new.get(oid):
            changed.append(f"{oid}: {show(old.get(oid))} -> {show(new.get(oid))}")
    if changed:
        return False, f"{len(changed)} stop(s) before {format_clock(at, off)} changed in {_plan_name(sp)}: " + "; ".join(changed[:5])
    return True, f"{_plan_name(sp)} keeps every stop before {format_clock(at, off)} of plan #{base.id}"


def check_plan_committed_changed(spec: Mapping[str, object], state: CheckState) -> CheckResult:
    a, b = state.before.committed, state.after.committed
    changed = (a is None) != (b is None) or (a is not None and b is not None and (a.id != b.id or a.plan != b.plan))
    shown = f"committed plan #{a.id if a else None} before, #{b.id if b else None} after"
    return changed == spec["value"], f"{shown}: {'changed' if changed else 'unchanged'}"


def check_unchanged(spec: Mapping[str, object], state: CheckState) -> CheckResult:
    changes = snapshot_changes(state.before, state.after)
    return (False, "; ".join(changes)) if changes else (True, "orders, vehicles, depots, clock and plans are as before the turns")


# --------------------------------------------------------------------------------------------------
# The checks by name
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """A check: its parameters (name -> validator) and its function."""

    fn: CheckFn
    required: Mapping[str, Validator]
    optional: Mapping[str, Validator]


_PLAN = {"plan": _plan_choice}

CHECKS: dict[str, CheckSpec] = {
    "plan_exists": CheckSpec(check_plan_exists, {}, _PLAN),
    "plan_feasible": CheckSpec(check_plan_feasible, {}, _PLAN),
    "order_assigned": CheckSpec(check_order_assigned, {"order": _nonempty_text}, {"vehicle": _nonempty_text, **_PLAN}),
    "order_unassigned": CheckSpec(check_order_unassigned, {"order": _nonempty_text}, _PLAN),
    "order_exists": CheckSpec(check_order_exists, {"order": _nonempty_text}, {"fields": _fields}),
    "order_cancelled": CheckSpec(check_order_cancelled, {"order": _nonempty_text}, {}),
    "vehicle_available": CheckSpec(check_vehicle_available, {"vehicle": _nonempty_text, "value": _boolean}, {}),
    "vehicle_no_stops_after": CheckSpec(check_vehicle_no_stops_after, {"vehicle": _nonempty_text, "time": _instant}, _PLAN),
    "history_unchanged_before": CheckSpec(check_history_unchanged_before, {"time": _instant}, _PLAN),
    "plan_committed_changed": CheckSpec(check_plan_committed_changed, {"value": _boolean}, {}),
    "unchanged": CheckSpec(check_unchanged, {}, {}),
    "answer_mentions": CheckSpec(check_answer_mentions, {"any": _text_list}, {}),
    "answer_not_mentions": CheckSpec(check_answer_not_mentions, {"any": _text_list}, {}),
    "answer_mentions_value": CheckSpec(check_answer_mentions_value, {"metric": _metric}, _PLAN),
    "answer_language": CheckSpec(check_answer_language, {"lang": _language}, {}),
}


def validate_check(spec: object) -> list[str]:
    """Every problem of one check object as a task file gives it (empty when it is well formed)."""
    if not isinstance(spec, dict):
        return ['must be a JSON object like {"check": "plan_exists"}']
    name = spec.get("check")
    if not isinstance(name, str):
        return ['has no "check" name']
    cs = CHECKS.get(name)
    if cs is None:
        return [f"unknown check {name!r}; known checks: {', '.join(CHECKS)}"]
    problems = [f"{name}: missing {key!r}" for key in cs.required if key not in spec]
    for key, value in spec.items():
        if key == "check":
            continue
        validator = cs.required.get(key) or cs.optional.get(key)
        if validator is None:
            allowed = [*cs.required, *cs.optional]
            problems.append(f"{name}: unknown parameter {key!r}; allowed: {', '.join(allowed) or 'none'}")
            continue
        problem = validator(value)
        if problem:
            problems.append(f"{name}: {key!r} {problem}")
    return problems


def evaluate_check(spec: Mapping[str, object], state: CheckState) -> dict[str, object]:
    """Run one (validated) check: ``{"check", "passed", "detail"}``; an error inside a check fails it."""
    name = str(spec["check"])
    try:
        passed, detail = CHECKS[name].fn(spec, state)
    except Exception as exc:  # a check that cannot be evaluated fails, with the reason
        passed, detail = False, f"the check could not be evaluated: {type(exc).__name__}: {exc}"
    params = {k: v for k, v in spec.items() if k != "check"}
    return {"check": name, **({"params": params} if params else {}), "passed": bool(passed), "detail": detail}
