"""The request and result of :func:`tools.remedies.fix_unassigned`, and the words they use: causes, fix kinds, statuses."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from tools.context import PLAN_ID_MAX, RequestModel

__all__ = ["CAUSES", "STEPS_MIN", "Cause", "FixGroup", "FixKind", "FixOut", "FixStatus", "RemedyRequest", "Side", "UnassignedFixes", "WindowChangeOut"]

STEPS_MIN = (15, 30, 45, 60, 90, 120)  # minutes a shift or a window may move, smallest first
MAX_BUDGET_S = 120.0  # solver seconds one request may spend verifying
MAX_SOLVE_S = 10.0  # search seconds of one verifying re-plan
MAX_ORDERS = 500  # unassigned orders one request examines
MAX_EXTRA_VEHICLES = 3  # an add_vehicle fix grows to at most this many vehicles

Cause = Literal["fits_now", "shift_end", "skill", "capacity", "window", "vehicle_unavailable", "no_room", "paired", "other"]
FixKind = Literal["replan", "extend_shift", "add_skill", "add_capacity", "move_window", "add_vehicle"]
FixStatus = Literal["verified", "not_served", "unserves_others", "not_tried", "no_candidate"]
Side = Literal["end_later", "start_earlier"]

CAUSES: tuple[Cause, ...] = ("fits_now", "shift_end", "skill", "capacity", "window", "vehicle_unavailable", "no_room", "paired", "other")

_CAUSE_DOC = (
    "fits_now: it fits the plan's routes as they are (a re-plan serves it); shift_end: no vehicle can serve it and be back before its shift "
    "ends; skill: no available vehicle with the required skill has room or time; capacity: its parcels exceed every vehicle's (remaining) "
    "capacity; window: no vehicle can reach it inside its time window; vehicle_unavailable: the vehicles that could serve it are broken down "
    "or off duty; no_room: the routes' time is taken (a later stop would miss its window); paired: half of a pickup-and-delivery pair; other"
)
_KIND_DOC = (
    "replan: no change, plan again; extend_shift: vehicle_id's shift ends later or starts earlier by minutes; add_skill: vehicle_id gets skill; "
    "add_capacity: vehicle_id gets capacity_added parcels more; move_window: the orders' windows move (windows); add_vehicle: count vehicles "
    "like vehicle_id are added (new_vehicle_ids); None: no candidate was found"
)
_STATUS_DOC = (
    "verified: a re-plan with the change serves the group's orders and every order the plan serves; not_served: the re-plan still leaves "
    "some of the group's orders out; unserves_others: it serves them but leaves out an order the plan serves; not_tried: the solver budget "
    "ran out first (the change is the insertion check's candidate); no_candidate: no change of the kinds above was found"
)



class RemedyRequest(RequestModel):
    """Which plan's unassigned orders to fix, and how much solving the verification may take."""

    plan: Literal["committed", "draft"] | Annotated[int, Field(strict=True, ge=1, le=PLAN_ID_MAX)] | None = Field(
        default=None, description="which plan: 'committed', 'draft' (the latest draft) or a plan id; default: the committed plan, else the latest draft"
    )
    budget_s: float = Field(
        default=20.0,
        gt=0,
        le=MAX_BUDGET_S,
        description="solver seconds for verifying fixes, all groups together (at most 120); a re-plan starts only while solve_s is left",
    )
    solve_s: float = Field(default=1.0, gt=0, le=MAX_SOLVE_S, description="search seconds of each verifying re-plan (at most 10)")
    max_orders: int = Field(default=50, ge=1, le=MAX_ORDERS, description="unassigned orders examined, in the plan's order (the rest are listed as not examined)")


class WindowChangeOut(BaseModel):
    """One order's time window as a move_window fix changes it (HH:MM local)."""

    order_id: str
    old_start: str
    old_end: str
    new_start: str
    new_end: str
    minutes: int = Field(description="minutes the window's end moves later (end_later) or its start earlier (start_earlier)")


class FixOut(BaseModel):
    """The change proposed for a group of orders, and whether a re-plan with it serves them."""

    kind: FixKind | None = Field(description=_KIND_DOC)
    status: FixStatus = Field(description=_STATUS_DOC)
    verified: bool = Field(description="True when status is verified")
    screened: bool = Field(description="True when the insertion check (no solver) found the change enough on the plan's own routes")
    vehicle_id: str | None = Field(default=None, description="the vehicle changed (extend_shift, add_skill, add_capacity) or copied (add_vehicle)")
    new_vehicle_ids: list[str] = Field(default_factory=list, description="add_vehicle: ids of the vehicles added")
    count: int | None = Field(default=None, description="add_vehicle: how many vehicles are added")
    minutes: int | None = Field(default=None, description="extend_shift: minutes the shift grows; move_window: the most minutes any window moves")
    side: Side | None = Field(default=None, description="extend_shift / move_window: end_later or start_earlier")
    shift_start: str | None = Field(default=None, description="extend_shift: the vehicle's new shift start, HH:MM local")
    shift_end: str | None = Field(default=None, description="extend_shift: the vehicle's new shift end, HH:MM local")
    skill: str | None = Field(default=None, description="add_skill: the skill the vehicle gets")
    capacity_added: int | None = Field(default=None, description="add_capacity: extra parcels of capacity")
    capacity: int | None = Field(default=None, description="add_capacity: the vehicle's new capacity")
    windows: list[WindowChangeOut] = Field(default_factory=list, description="move_window: each order's window before and after")
    attempts: int = Field(description="verifying re-plans run for this group (larger amounts and an extra vehicle are tried after a failure)")
    orders_served_before: int = Field(description="orders the plan serves")
    orders_served_after: int | None = Field(
        default=None, description="orders the re-plan with the change serves (it plans the plan's and the group's orders only; None: not re-planned)"
    )
    extra_km: float | None = Field(default=None, description="the re-plan's total distance minus the plan's, km (None: not re-planned)")
    orders_not_served: list[str] = Field(default_factory=list, description="the group's orders the last re-plan still left out")
    orders_lost: list[str] = Field(default_factory=list, description="orders the plan serves that the last re-plan left out")


class FixGroup(BaseModel):
    """Unassigned orders with one cause and one fix."""

    cause: Cause = Field(description=_CAUSE_DOC)
    orders: list[str]
    count: int
    fix: FixOut


class UnassignedFixes(BaseModel):
    """The plan's unassigned orders grouped by cause, each group with the smallest change found and its verification. Nothing was saved."""

    plan_id: int
    plan_status: str
    clock: str | None = Field(description="the current time the re-plans start from, HH:MM local (None: the whole day)")
    unassigned_count: int = Field(description="orders the plan lists as unassigned")
    examined: int = Field(description="unassigned orders examined (at most max_orders)")
    not_examined: list[str] = Field(description="unassigned orders beyond max_orders")
    skipped: list[str] = Field(description="listed as unassigned but cancelled or removed since")
    groups: list[FixGroup] = Field(description="largest group first (the order they were verified in)")
    verified_groups: int
    failed_groups: int = Field(description="groups whose re-plans did not verify the change (not_served, unserves_others)")
    not_tried_groups: int = Field(description="groups left unverified because the solver budget ran out")
    solves: int = Field(description="verifying re-plans run")
    solver_s: float = Field(description="solver seconds charged against the budget (each re-plan at least solve_s)")
    budget_s: float
    solve_s: float
    saved: bool = Field(default=False, description="always False: nothing is written")
