"""Undo: "false alarm", "it's fixed", "forget that" — reverse the latest fact recorded on a vehicle or order.

The store keeps, with each recorded fact, the fields it changed (:meth:`tools.sql.store.SqlStore.undo_fact`);
undoing puts them back (a field changed again since stays as it is and is reported), writes an audit row,
and discards the drafts planned from that fact. When the dispatched plan was itself made after the fact,
the day is re-planned into a new draft.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from copilot.core.domain import PlanStatus
from copilot.core.errors import InputError
from tools.context import PlanSummary, RequestModel, ToolContext, find_order, find_vehicle
from tools.lifecycle import replan


class UndoRequest(RequestModel):
    """Which fact to reverse: the latest one on this vehicle or order (neither: the latest fact of the world)."""

    vehicle_id: str | None = None
    order_id: str | None = None


class UndoResult(BaseModel):
    """The fact that was reversed and what happened to the plans."""

    undone: str = Field(description="the fact as it was recorded")
    subject: str = Field(description="vehicle:ID or order:ID")
    reverted: list[str] = Field(description="fields put back")
    kept: list[str] = Field(description="fields changed again since the fact, left as they are")
    discarded_drafts: list[int] = Field(description="drafts planned from the fact, now discarded")
    draft: PlanSummary | None = Field(default=None, description="a new draft, when the dispatched plan already used the fact")


def undo_last(ctx: ToolContext, req: UndoRequest) -> UndoResult:
    """Reverse the latest recorded fact on a vehicle or order and discard the drafts planned from it."""
    if req.vehicle_id and req.order_id:
        raise InputError("name a vehicle or an order, not both")
    world = ctx.world()
    subject = None
    if req.vehicle_id:
        subject = f"vehicle:{find_vehicle(world, req.vehicle_id).id}"
    elif req.order_id:
        subject = f"order:{find_order(world, req.order_id).id}"
    with ctx.store.unit_of_work(lock=True):
        fact = ctx.store.undo_fact(ctx.world_name, subject, actor=ctx.actor)
        after = set(fact.plans_after)
        stale = [p.id for p in ctx.store.plans(ctx.world_name) if p.status is PlanStatus.DRAFT and p.id in after]
        for plan_id in stale:
            ctx.store.discard_plan(plan_id, actor=ctx.actor)
        uses_fact = fact.committed_after  # the dispatched plan was made with the fact: re-plan without it
    draft = replan(ctx, f"undo: {fact.detail}") if uses_fact else None
    return UndoResult(undone=fact.detail, subject=fact.subject, reverted=list(fact.reverted), kept=list(fact.kept), discarded_drafts=stale, draft=draft)
