"""Plan life cycle tools: plan the day into a draft, approve (dispatch) or discard it, the clock, the audit trail.

Only :func:`approve_plan` commits; every commit is one store transaction and keeps the earlier plans
(superseded) for the audit trail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from pydantic import BaseModel, Field

from copilot.core.domain import PlanStatus, World
from copilot.core.errors import InfeasibleError, InputError
from copilot.core.faults import crash_point
from copilot.core.units import format_time
from tools.context import PlanSummary, RequestModel, ToolContext, parse_user_time, summarize
from tools.planning import plan_world

MAX_TIME_LIMIT_S = 60.0  # the longest search one request may ask for


class PlanDayRequest(RequestModel):
    """Plan the whole day (from the clock on, keeping work already started)."""

    time_limit_s: float | None = Field(default=None, gt=0, le=MAX_TIME_LIMIT_S, description="search time in seconds (at most 60); default from settings")


class PlanRef(RequestModel):
    """A plan by id; None means the most recent draft."""

    plan_id: int | None = None


class ClockRequest(RequestModel):
    """Set the simulated current time: HH:MM on the world's day, or ISO 8601 with offset."""

    at: str


class ClockOut(BaseModel):
    """The world's current time."""

    world: str
    clock: str | None


class AuditRow(BaseModel):
    """One change in the audit trail."""

    at: str
    action: str
    detail: str
    actor: str


class AuditTrail(BaseModel):
    """The most recent changes, newest last."""

    world: str
    entries: list[AuditRow]


def replan(
    ctx: ToolContext,
    reason: str,
    time_limit_s: float | None = None,
    *,
    world: World | None = None,
    record: Callable[[], None] | None = None,
) -> PlanSummary:
    """Re-plan from the clock, warm-started from the committed plan; the result is saved as a draft.

    For an event, ``world`` is the stored world with the event's fact applied in memory and ``record``
    writes that fact: the plan is made first, then the fact and the draft are written in one transaction,
    so a crash or a refused write leaves neither (never a fact without its draft). In a read-only context
    (:meth:`ToolContext.read_only`) nothing is written and the summary has plan id 0.
    """
    world = world if world is not None else ctx.world()
    committed = ctx.committed()
    clock = ctx.clock()
    settings = ctx.settings if time_limit_s is None else replace(ctx.settings, time_limit_s=time_limit_s)
    base = committed.plan if committed is not None else None
    crash_point("planning")
    plan = plan_world(world, ctx.planning, settings, clock=clock, committed=base)
    if ctx.dry_run:  # a question: the plan it would make, with nothing recorded (plan id 0: never saved)
        return summarize(world, plan, 0, PlanStatus.DRAFT, baseline=base, clock=clock)
    with ctx.store.unit_of_work():
        if record is not None:
            record()
        plan_id = ctx.store.save_plan(ctx.world_name, plan, PlanStatus.DRAFT, note=reason, actor=ctx.actor)
    return summarize(world, plan, plan_id, PlanStatus.DRAFT, baseline=base, clock=clock)


def plan_day(ctx: ToolContext, req: PlanDayRequest | None = None) -> PlanSummary:
    """Plan the day into a draft (nothing is dispatched until it is approved)."""
    req = req or PlanDayRequest()
    return replan(ctx, "day plan", req.time_limit_s)


def _draft_id(ctx: ToolContext, plan_id: int | None) -> int:
    if plan_id is not None:
        stored = ctx.store.get_plan(plan_id)
        if stored.world != ctx.world_name:
            raise InputError(f"plan #{plan_id} belongs to another world")
        if stored.status is not PlanStatus.DRAFT:
            raise InputError(f"plan #{plan_id} is {stored.status.value}, not a draft; only drafts can be approved or discarded")
        return plan_id
    draft = ctx.latest_draft()
    if draft is None:
        raise InputError("there is no draft plan to approve or discard; plan the day or report an event first")
    return draft.id


def approve_plan(ctx: ToolContext, req: PlanRef | None = None) -> PlanSummary:
    """Dispatch a draft: it becomes the committed plan (the previous one is superseded)."""
    with ctx.store.unit_of_work(lock=True):  # the re-check and the commit see one state: no event can slip in between
        return _approve(ctx, (req or PlanRef()).plan_id)


def _approve(ctx: ToolContext, wanted: int | None) -> PlanSummary:
    plan_id = _draft_id(ctx, wanted)
    stored = ctx.store.get_plan(plan_id)
    world = ctx.world()
    clock = ctx.clock()
    problems = ctx.planning.checker.check_plan(world, stored.plan, clock)
    if problems:
        raise InfeasibleError(
            f"draft #{plan_id} no longer fits the current state ({'; '.join(map(str, problems[:3]))}); re-plan before approving"
        )
    before = ctx.committed()
    if before is not None and clock is not None:
        draft_visits = {v.order_id: (r.vehicle_id, v.start) for r in stored.plan.routes for v in r.visits}
        changed = [
            v.order_id for r in before.plan.routes for v in r.visits if v.start < clock and draft_visits.get(v.order_id) != (r.vehicle_id, v.start)
        ]
        if changed:
            raise InfeasibleError(
                f"draft #{plan_id} changes work done before the current time ({', '.join(changed[:5])}); re-plan before approving"
            )
    ctx.store.commit_plan(ctx.world_name, plan_id, note="approved", actor=ctx.actor)
    return summarize(world, stored.plan, plan_id, PlanStatus.COMMITTED, baseline=before.plan if before else None, clock=clock)


def discard_draft(ctx: ToolContext, req: PlanRef | None = None) -> PlanSummary:
    """Discard a draft; the committed plan stays as it is."""
    plan_id = _draft_id(ctx, (req or PlanRef()).plan_id)
    stored = ctx.store.get_plan(plan_id)
    ctx.store.discard_plan(plan_id, actor=ctx.actor)
    return summarize(ctx.world(), stored.plan, plan_id, PlanStatus.DISCARDED)


def set_clock(ctx: ToolContext, req: ClockRequest) -> ClockOut:
    """Set the world's current time; work that started before it can no longer change."""
    world = ctx.world()
    at = parse_user_time(req.at, world)
    day = parse_user_time("00:00", world)
    if not day <= at < day + 2 * 24 * 3600:
        raise InputError(f"the clock must be on the world's day {world.date} (or the night after it), got {req.at[:40]!r}")
    committed = ctx.committed()
    if committed is not None and committed.plan.clock is not None and at < committed.plan.clock:
        off = world.utc_offset_s
        raise InputError(
            f"the dispatched plan was made at {format_time(committed.plan.clock, off)}; the clock cannot go back before that"
        )
    ctx.store.set_clock(ctx.world_name, at, actor=ctx.actor)
    return ClockOut(world=ctx.world_name, clock=format_time(at, world.utc_offset_s))


def audit_trail(ctx: ToolContext, limit: int = 50) -> AuditTrail:
    """The latest changes: what changed, why, requested by whom, when."""
    world = ctx.world()
    rows = ctx.store.audit(ctx.world_name)[-limit:]
    return AuditTrail(
        world=ctx.world_name,
        entries=[AuditRow(at=format_time(e.at, world.utc_offset_s), action=e.action, detail=e.detail, actor=e.actor) for e in rows],
    )
