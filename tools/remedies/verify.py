"""Verifying a change: the world with it (a copy), the solver-time budget, and how a verified or failed fix is reported."""

from __future__ import annotations

from dataclasses import dataclass, replace

from copilot.core.domain import MAX_UNITS, Plan, Vehicle, World
from copilot.core.units import format_clock
from tools.remedies.candidates import _Fix, _moved, _shifted
from tools.remedies.models import FixOut, FixStatus, WindowChangeOut
from tools.whatif import AddVehicles, apply_changes


def _changed_world(world: World, fix: _Fix, clock: int | None, committed: Plan | None) -> World:
    """A copy of ``world`` with the change (the stored world is not touched)."""
    if fix.kind == "add_vehicle":
        assert fix.vehicle_id is not None
        changed, _words = apply_changes(world, [AddVehicles(count=fix.count, like=fix.vehicle_id)], clock=clock, committed=committed)
        return changed
    if fix.kind == "move_window":
        assert fix.side is not None
        moves = dict(fix.windows)
        return replace(world, orders=tuple(_moved(o, fix.side, moves[o.id]) if o.id in moves else o for o in world.orders))

    def change(v: Vehicle) -> Vehicle:
        if fix.kind == "extend_shift":
            assert fix.side is not None
            return _shifted(v, fix.side, fix.minutes)
        if fix.kind == "add_skill":
            assert fix.skill is not None
            return replace(v, skills=v.skills | {fix.skill})
        if fix.kind == "add_capacity":
            return replace(v, capacity=min(MAX_UNITS, v.capacity + fix.capacity_added))
        return v

    return replace(world, vehicles=tuple(change(v) if v.id == fix.vehicle_id else v for v in world.vehicles))


@dataclass(frozen=True, slots=True)
class _Outcome:
    plan: Plan
    missing: tuple[str, ...]
    lost: tuple[str, ...]

    @property
    def verified(self) -> bool:
        return not self.missing and not self.lost


class _Budget:
    """Solver seconds: a re-plan starts only while a whole ``per_solve`` is left, and is charged at least that."""

    def __init__(self, total_s: float, per_solve_s: float) -> None:
        self.total_s = total_s
        self.per_solve_s = per_solve_s
        self.spent_s = 0.0
        self.solves = 0

    def allows(self) -> bool:
        return self.spent_s + self.per_solve_s <= self.total_s + 1e-9

    def charge(self, seconds: float) -> None:
        self.spent_s += max(seconds, self.per_solve_s)
        self.solves += 1


def _only(world: World, keep: set[str]) -> World:
    """The world with only the orders in ``keep`` active: a group's fix is verified without the other unassigned orders competing for the room it makes."""
    return replace(world, orders=tuple(o if o.id in keep or o.cancelled else replace(o, cancelled=True) for o in world.orders))


def _hhmm(world: World, t: int) -> str:
    return format_clock(t, world.utc_offset_s)


def _fix_out(world: World, changed: World, fix: _Fix | None, status: FixStatus, attempts: int, plan: Plan, outcome: _Outcome | None) -> FixOut:
    out = FixOut(kind=None, status=status, verified=status == "verified", screened=False, attempts=attempts, orders_served_before=len(plan.assigned_ids()))
    if outcome is not None:
        out.orders_served_after = len(outcome.plan.assigned_ids())
        out.extra_km = round((outcome.plan.distance_m - plan.distance_m) / 1000, 3)
        out.orders_not_served = list(outcome.missing)
        out.orders_lost = list(outcome.lost)
    if fix is None:
        return out
    out.kind, out.screened, out.vehicle_id = fix.kind, fix.screened, fix.vehicle_id
    if fix.kind == "extend_shift":
        assert fix.vehicle_id is not None
        v = changed.vehicle(fix.vehicle_id)
        out.minutes, out.side = fix.minutes, fix.side
        out.shift_start, out.shift_end = _hhmm(world, v.shift.start), _hhmm(world, v.shift.end)
    elif fix.kind == "add_skill":
        out.skill = fix.skill
    elif fix.kind == "add_capacity":
        assert fix.vehicle_id is not None
        out.capacity = changed.vehicle(fix.vehicle_id).capacity
        out.capacity_added = out.capacity - world.vehicle(fix.vehicle_id).capacity
    elif fix.kind == "move_window":
        out.minutes, out.side = fix.minutes, fix.side
        i = -1 if fix.side == "end_later" else 0
        for oid, m in fix.windows:
            old, new = world.order(oid).windows[i], changed.order(oid).windows[i]
            out.windows.append(
                WindowChangeOut(
                    order_id=oid,
                    old_start=_hhmm(world, old.start),
                    old_end=_hhmm(world, old.end),
                    new_start=_hhmm(world, new.start),
                    new_end=_hhmm(world, new.end),
                    minutes=m,
                )
            )
    elif fix.kind == "add_vehicle":
        known = {v.id for v in world.vehicles}
        out.count = fix.count
        out.new_vehicle_ids = [v.id for v in changed.vehicles if v.id not in known]
    return out
