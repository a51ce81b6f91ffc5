"""Change a stored vehicle's facts: shift start or end ("she has to stop at 15:00"), capacity, skills, or
back in service after a breakdown or delay. Each change is recorded together with the re-planned draft in
one transaction, like every dispatch event (:mod:`tools.events`); work that started before the clock stays.
"""

from __future__ import annotations

from dataclasses import replace

from pydantic import BaseModel, Field

from copilot.core.domain import MAX_UNITS, TimeWindow, Vehicle, World
from copilot.core.errors import InputError
from copilot.core.units import format_clock
from tools.context import PlanSummary, RequestModel, ToolContext, find_vehicle, parse_user_time
from tools.lifecycle import replan

_SKILL = Field(default=None, max_length=20, description="skill names (e.g. bulky, cold)")


class VehicleChanges(RequestModel):
    """The facts of a vehicle to change (leave a field out to keep it)."""

    shift_start: str | None = Field(default=None, description="new shift start: HH:MM or ISO 8601")
    shift_end: str | None = Field(default=None, description="new shift end (the driver must be back by then): HH:MM or ISO 8601")
    capacity: int | None = Field(default=None, gt=0, le=MAX_UNITS, description="parcel units")
    add_skills: list[str] | None = _SKILL
    remove_skills: list[str] | None = _SKILL
    back_in_service: bool | None = Field(default=None, description="true: the vehicle works again (clears a breakdown and a delay)")


class VehicleUpdateRequest(VehicleChanges):
    """A vehicle and the facts to change."""

    vehicle_id: str


class VehicleUpdateResult(BaseModel):
    """What changed and the re-planned draft."""

    event: str = Field(description="the fact recorded, in words")
    changed: list[str] = Field(description="the fields that changed")
    vehicle_id: str
    shift: str = Field(description="the shift now, HH:MM-HH:MM")
    draft: PlanSummary


def _changed(world: World, vehicle: Vehicle, req: VehicleChanges, clock: int | None) -> Vehicle:
    new = vehicle
    start = parse_user_time(req.shift_start, world) if req.shift_start else vehicle.shift.start
    end = parse_user_time(req.shift_end, world) if req.shift_end else vehicle.shift.end
    if (start, end) != (vehicle.shift.start, vehicle.shift.end):
        if end <= start:
            raise InputError(f"the shift would end ({format_clock(end, world.utc_offset_s)}) before it starts ({format_clock(start, world.utc_offset_s)})")
        if clock is not None and req.shift_end and end < clock:
            raise InputError(f"the shift cannot end at {format_clock(end, world.utc_offset_s)}: it is already {format_clock(clock, world.utc_offset_s)}")
        if clock is not None and req.shift_start and start != vehicle.shift.start and min(start, vehicle.shift.start) < clock:
            raise InputError(f"{vehicle.id}'s shift start can no longer change: it is already {format_clock(clock, world.utc_offset_s)}")
        new = replace(new, shift=TimeWindow(start, end))
    if req.capacity is not None:
        new = replace(new, capacity=req.capacity)
    skills = set(vehicle.skills)
    skills |= {s.strip() for s in req.add_skills or () if s.strip()}
    skills -= {s.strip() for s in req.remove_skills or ()}
    new = replace(new, skills=frozenset(skills))
    if req.back_in_service:
        if vehicle.unavailable_from is None and vehicle.delayed_until is None:
            raise InputError(f"{vehicle.id} is not reported broken down or delayed")
        new = replace(new, unavailable_from=None, delayed_until=None)
    return new


_FIELDS = {"shift": "shift", "capacity": "capacity", "skills": "skills", "unavailable_from": "back in service", "delayed_until": "delay cleared"}


def update_vehicle(ctx: ToolContext, req: VehicleUpdateRequest) -> VehicleUpdateResult:
    """Change a vehicle's shift, capacity or skills, or put it back in service; re-plan into a draft
    (in a read-only context: what it would do, nothing recorded)."""
    world = ctx.world()
    vehicle = find_vehicle(world, req.vehicle_id)
    new = _changed(world, vehicle, req, ctx.clock())
    changed = list(dict.fromkeys(_FIELDS[f] for f in _FIELDS if getattr(new, f) != getattr(vehicle, f)))
    if not changed:
        raise InputError(f"vehicle {vehicle.id}: nothing to change (every given fact already holds)")
    off = world.utc_offset_s
    shift = f"{format_clock(new.shift.start, off)}-{format_clock(new.shift.end, off)}"
    parts = []
    if new.shift != vehicle.shift:
        parts.append(f"shift now {shift}")
    if new.capacity != vehicle.capacity:
        parts.append(f"capacity {vehicle.capacity} -> {new.capacity}")
    if new.skills != vehicle.skills:
        parts.append(f"skills now {', '.join(sorted(new.skills)) or 'none'}")
    if (vehicle.unavailable_from, vehicle.delayed_until) != (new.unavailable_from, new.delayed_until):
        parts.append("back in service")
    event = f"vehicle {vehicle.id}: {'; '.join(parts)}"
    after = replace(world, vehicles=tuple(new if v.id == new.id else v for v in world.vehicles))
    draft = replan(ctx, event, world=after, record=lambda: ctx.store.update_vehicle(ctx.world_name, new, actor=ctx.actor, base=vehicle))
    return VehicleUpdateResult(event=event, changed=changed, vehicle_id=vehicle.id, shift=shift, draft=draft)
