"""What the evaluator's checks read: store snapshots and the check state.

A :class:`Snapshot` is one world's store state at one moment (the world, the clock, every plan and the
committed one); :func:`snapshot_changes` says in words what differs between two. :class:`CheckState` is
what every check gets: the evaluator's own tool context on the run's store, the snapshots before the first
turn and after the last one, and the answers. The helpers at the end find the plan a check names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from copilot.core.domain import Plan, Route, World
from copilot.core.errors import InputError
from copilot.core.ports import DispatchStore, StoredPlan
from copilot.core.units import format_time
from tools.context import ToolContext
from tools.kpis import PlanSelector, resolve_plan

# --------------------------------------------------------------------------------------------------
# Store snapshots
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The store state of one world at one moment: the world (orders, vehicles, ...), the clock, every plan."""

    world: World
    clock: int | None
    plans: tuple[StoredPlan, ...]
    committed: StoredPlan | None


def take_snapshot(store: DispatchStore, world_name: str) -> Snapshot:
    """Read the world, its clock and all its plans (with the committed one) from the store."""
    return Snapshot(
        world=store.load_world(world_name),
        clock=store.clock(world_name),
        plans=tuple(store.plans(world_name)),
        committed=store.committed_plan(world_name),
    )


def _by_id(items: Sequence[object]) -> dict[str, object]:
    return {str(getattr(it, "id", "")): it for it in items}


def snapshot_changes(before: Snapshot, after: Snapshot) -> list[str]:
    """What differs between two snapshots, in words (empty when nothing changed).

    Compared: depots, vehicles, orders (each by id, every field), history rows, the clock, and every
    plan (id, status, note and content) with which one is committed. The world's bookkeeping metadata
    (import time and the like) is not compared.
    """
    out: list[str] = []
    wb, wa = before.world, after.world
    for kind, old_items, new_items in (("depot", wb.depots, wa.depots), ("vehicle", wb.vehicles, wa.vehicles), ("order", wb.orders, wa.orders)):
        old, new = _by_id(old_items), _by_id(new_items)
        added = sorted(set(new) - set(old))
        removed = sorted(set(old) - set(new))
        changed = sorted(k for k in set(old) & set(new) if old[k] != new[k])
        if added:
            out.append(f"{kind}s added: {_ids(added)}")
        if removed:
            out.append(f"{kind}s removed: {_ids(removed)}")
        if changed:
            out.append(f"{kind}s changed: {_ids(changed)}")
    if wb.history != wa.history:
        out.append(f"history changed ({len(wb.history)} -> {len(wa.history)} rows)")
    if before.clock != after.clock:
        shown = ["unset" if t is None else format_time(t, wa.utc_offset_s) for t in (before.clock, after.clock)]
        out.append(f"clock changed: {shown[0]} -> {shown[1]}")
    old_plans = {p.id: p for p in before.plans}
    new_plans = {p.id: p for p in after.plans}
    for pid in sorted(set(new_plans) - set(old_plans)):
        out.append(f"plan #{pid} added ({new_plans[pid].status.value}, {new_plans[pid].note or 'no note'})")
    for pid in sorted(set(old_plans) - set(new_plans)):
        out.append(f"plan #{pid} removed")
    for pid in sorted(set(old_plans) & set(new_plans)):
        a, b = old_plans[pid], new_plans[pid]
        if a.status is not b.status:
            out.append(f"plan #{pid} {a.status.value} -> {b.status.value}")
        elif a != b:
            out.append(f"plan #{pid} content changed")
    cb = before.committed.id if before.committed else None
    ca = after.committed.id if after.committed else None
    if cb != ca:
        out.append(f"committed plan #{cb} -> #{ca}")
    return out


def _ids(ids: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


# --------------------------------------------------------------------------------------------------
# The state the checks read
# --------------------------------------------------------------------------------------------------


@dataclass
class CheckState:
    """What the checks read: the evaluator's own tool context on the run's store, the snapshot before the
    first turn, the snapshot after the last one, and the answers (one per turn)."""

    ctx: ToolContext
    before: Snapshot
    after: Snapshot
    answers: list[str]

    @property
    def answer(self) -> str:
        """The last answer ('' when there was none)."""
        return self.answers[-1] if self.answers else ""

    @property
    def world(self) -> World:
        """The world after the turns."""
        return self.after.world


CheckResult = tuple[bool, str]
CheckFn = Callable[[Mapping[str, object], CheckState], CheckResult]


def _plan(state: CheckState, spec: Mapping[str, object]) -> tuple[StoredPlan | None, str]:
    """The plan a check names ("committed" unless ``plan`` is "draft"), or None and why there is none."""
    which: PlanSelector = "draft" if spec.get("plan") == "draft" else "committed"
    try:
        return resolve_plan(state.ctx, which), ""
    except InputError as exc:
        return None, str(exc)


def _plan_name(sp: StoredPlan) -> str:
    return f"{sp.status.value} plan #{sp.id}"


def _route(plan: Plan, vehicle_id: str) -> Route | None:
    return next((r for r in plan.routes if r.vehicle_id == vehicle_id), None)
