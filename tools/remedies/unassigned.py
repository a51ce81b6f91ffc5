"""The tool :func:`fix_unassigned`: each unassigned order's cause and fix, grouped, each group's fix verified by a re-plan."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Literal

from copilot.core.domain import Order
from copilot.core.errors import InputError
from copilot.core.ports import StoredPlan
from tools.context import ToolContext
from tools.kpis import resolve_plan
from tools.remedies.candidates import _attempts, _diagnose, _Fix, _Key, _Sandbox
from tools.remedies.models import CAUSES, Cause, FixGroup, FixStatus, RemedyRequest, UnassignedFixes
from tools.remedies.verify import _Budget, _changed_world, _fix_out, _hhmm, _only, _Outcome
from tools.routes import PlanState
from tools.whatif import plan_changes


def _chosen_plan(ctx: ToolContext, which: Literal["committed", "draft"] | int | None) -> StoredPlan:
    """The plan asked for; by default the committed plan, else the latest draft."""
    if which is not None:
        return resolve_plan(ctx, which)
    committed = ctx.committed()
    if committed is not None:
        return committed
    try:
        return resolve_plan(ctx, "draft")
    except InputError:
        raise InputError(f"world {ctx.world_name!r} has no committed plan and no draft; plan the day first") from None


def fix_unassigned(ctx: ToolContext, req: RemedyRequest | None = None) -> UnassignedFixes:
    """Why each unassigned order of a plan is left out, grouped by cause, with the smallest change that serves it.

    The plan is ``req.plan`` (default: the committed plan, else the latest draft). For each unassigned order
    (up to ``req.max_orders``) the cause comes from the constraint each vehicle reports, and a change is searched
    cheapest first (extend a shift, give a vehicle the skill, add capacity, move the window, add a vehicle) with
    the insertion check on the plan's own routes. Each group's change is verified by planning a changed copy of
    the world as a what-if does (from the clock, keeping started work; ``req.solve_s`` seconds a search, within
    ``req.budget_s`` solver seconds in all, largest group first): verified means the group's orders are served and
    every order the plan serves still is. Reads the store only; nothing is written.
    """
    req = req or RemedyRequest()
    stored = _chosen_plan(ctx, req.plan)
    world = ctx.world()
    clock = ctx.clock()
    committed_stored = ctx.committed()
    committed = committed_stored.plan if committed_stored is not None else None
    plan = stored.plan
    state = PlanState(world, plan, clock)
    active = {o.id for o in world.active_orders()}
    listed = [u.order_id for u in plan.unassigned]
    wanted = [oid for oid in listed if oid in active]
    examined, rest = wanted[: req.max_orders], wanted[req.max_orders :]
    required = plan.assigned_ids() & active

    sandbox = _Sandbox(world, plan, clock, committed)
    buckets: dict[tuple[Cause, _Key | None], list[Order]] = {}
    for oid in examined:
        order = world.order(oid)
        buckets.setdefault(_diagnose(state, sandbox, order), []).append(order)
    first_seen = {oid: i for i, oid in enumerate(examined)}
    ordered = sorted(buckets.items(), key=lambda kv: (-len(kv[1]), CAUSES.index(kv[0][0]), first_seen[kv[1][0].id]))

    settings = replace(ctx.settings, time_limit_s=req.solve_s)
    budget = _Budget(req.budget_s, req.solve_s)
    groups: list[FixGroup] = []
    for (cause, key), orders in ordered:
        ids = [o.id for o in orders]
        if key is None:
            groups.append(FixGroup(cause=cause, orders=ids, count=len(ids), fix=_fix_out(world, world, None, "no_candidate", 0, plan, None)))
            continue
        proposed = sandbox.fixes.get(key, _Fix("replan"))
        if proposed.kind == "move_window":  # only this group's windows move
            windows = tuple(w for w in proposed.windows if w[0] in ids)
            proposed = replace(proposed, windows=windows, minutes=max(m for _oid, m in windows))

        def fallback(first: Order = orders[0]) -> _Fix | None:
            extra = _Sandbox(world, plan, clock, committed).add_vehicle(first)
            return replace(extra.fix, screened=False) if extra is not None else None

        keep = required | set(ids) | {o.pair_id for o in orders if o.pair_id is not None}
        try:
            shown_world = _changed_world(world, proposed, clock, committed)
        except InputError:
            shown_world = world  # a pair's vehicle to copy whose shift has ended: the attempts below skip it too
        shown: _Fix = proposed
        outcome: _Outcome | None = None
        attempts = 0
        for fix in _attempts(proposed, orders, fallback):
            if not budget.allows():
                break
            try:
                changed = _changed_world(world, fix, clock, committed)
            except InputError:
                continue  # e.g. a vehicle to copy whose shift ended before the clock
            t0 = time.perf_counter()
            try:
                _copy, after, _words = plan_changes(_only(changed, keep), [], ctx.planning, settings, clock=clock, committed=committed)
            finally:
                budget.charge(time.perf_counter() - t0)
            attempts += 1
            served = after.assigned_ids()
            shown, shown_world = fix, changed
            outcome = _Outcome(after, tuple(i for i in ids if i not in served), tuple(sorted(required - served)))
            if outcome.verified:
                break
        status: FixStatus
        if outcome is None:
            status = "not_tried"
        elif outcome.verified:
            status = "verified"
        else:
            status = "not_served" if outcome.missing else "unserves_others"
        groups.append(FixGroup(cause=cause, orders=ids, count=len(ids), fix=_fix_out(world, shown_world, shown, status, attempts, plan, outcome)))

    return UnassignedFixes(
        plan_id=stored.id,
        plan_status=stored.status.value,
        clock=_hhmm(world, clock) if clock is not None else None,
        unassigned_count=len(listed),
        examined=len(examined),
        not_examined=rest,
        skipped=[oid for oid in listed if oid not in active],
        groups=groups,
        verified_groups=sum(1 for g in groups if g.fix.status == "verified"),
        failed_groups=sum(1 for g in groups if g.fix.status in ("not_served", "unserves_others")),
        not_tried_groups=sum(1 for g in groups if g.fix.status == "not_tried"),
        solves=budget.solves,
        solver_s=round(budget.spent_s, 3),
        budget_s=req.budget_s,
        solve_s=req.solve_s,
    )
