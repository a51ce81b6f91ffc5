"""Running a what-if: plan the changed copy, plan (or read) the baseline, and compare their key figures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field, PrivateAttr

from copilot.core.domain import Plan, World
from copilot.core.units import format_clock
from tools.context import RequestModel, ToolContext, UnassignedOut
from tools.kpis import Kpis, plan_kpis
from tools.planning import PlanningDeps, PlanSettings, plan_world
from tools.whatif.changes import Change, apply_changes

# --------------------------------------------------------------------------------------------------
# Request
# --------------------------------------------------------------------------------------------------


class WhatIfRequest(RequestModel):
    """Hypothetical changes to try on a copy of the world; nothing is saved."""

    changes: list[Change] = Field(min_length=1, max_length=20, description="changes, applied in this order")


# --------------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------------


class KpiDeltas(BaseModel):
    """Scenario minus baseline for every key figure (None where either side has no value)."""

    vehicles_total: int
    vehicles_available: int
    vehicles_used: int
    total_distance_km: float
    driving_time_min: float
    on_time_share: float | None
    late_visits: int
    utilisation: float | None
    peak_load_share: float | None
    orders_served: int
    parcels_served: int
    unassigned_count: int
    not_in_plan_count: int
    order_count: int
    cancelled_count: int


class WhatIfResult(BaseModel):
    """The scenario's key figures against the baseline's. Nothing was saved: the store is unchanged."""

    scenario: Kpis = Field(description="key figures of the scenario plan (not stored: plan_id is None)")
    baseline: Kpis = Field(description="key figures of the baseline plan")
    baseline_source: Literal["committed", "fresh_plan"] = Field(
        description="committed: the dispatched plan; fresh_plan: no plan is committed, so the unchanged world was planned the same way for comparison"
    )
    deltas: KpiDeltas = Field(description="scenario minus baseline")
    changes: list[str] = Field(description="the changes applied, in words")
    unassigned: list[UnassignedOut] = Field(description="orders the scenario plan leaves out, with the reason")
    stops_per_vehicle: dict[str, int] = Field(description="stops per vehicle in the scenario plan (vehicles with stops only)")
    clock: str | None = Field(default=None, description="the current time the scenario was planned from, HH:MM local (None: the whole day)")
    saved: bool = Field(default=False, description="always False: a what-if never changes the store")

    _scenario: WhatIfRun | None = PrivateAttr(default=None)

    @property
    def scenario_world(self) -> World:
        """The changed world (not stored)."""
        assert self._scenario is not None, "result was not made by what_if"
        return self._scenario.world

    @property
    def scenario_plan(self) -> Plan:
        """The scenario plan (not stored)."""
        assert self._scenario is not None, "result was not made by what_if"
        return self._scenario.plan


@dataclass(frozen=True, slots=True)
class WhatIfRun:
    """A planned what-if (the changed world and its plan) and its baseline, in domain objects."""

    world: World
    plan: Plan
    baseline_world: World
    baseline_plan: Plan
    baseline_source: Literal["committed", "fresh_plan"]
    baseline_plan_id: int | None
    changes: tuple[str, ...]
    clock: int | None

# --------------------------------------------------------------------------------------------------
# Running a scenario
# --------------------------------------------------------------------------------------------------


def plan_changes(
    world: World, changes: Sequence[Change], deps: PlanningDeps, settings: PlanSettings, *, clock: int | None = None, committed: Plan | None = None
) -> tuple[World, Plan, list[str]]:
    """Apply ``changes`` to a copy of ``world`` and plan it: from ``clock`` continuing ``committed`` when a clock is set, else the whole day.

    The planning step of :func:`run_scenario`; returns the changed world, its plan and the changes in words.
    """
    changed, words = apply_changes(world, list(changes), clock=clock, committed=committed)
    plan = plan_world(changed, deps, settings, clock=clock, committed=committed if clock is not None else None)
    return changed, plan, words


def run_scenario(ctx: ToolContext, request: WhatIfRequest) -> WhatIfRun:
    """Apply the changes to a copy of the world, plan it and plan (or read) the baseline; reads the store only."""
    world = ctx.world()
    clock = ctx.clock()
    stored = ctx.committed()
    committed = stored.plan if stored is not None else None
    changed, plan, words = plan_changes(world, request.changes, ctx.planning, ctx.settings, clock=clock, committed=committed)
    if stored is not None:
        return WhatIfRun(changed, plan, world, stored.plan, "committed", stored.id, tuple(words), clock)
    baseline = plan_world(world, ctx.planning, ctx.settings, clock=clock)
    return WhatIfRun(changed, plan, world, baseline, "fresh_plan", None, tuple(words), clock)


def _delta(a: float | None, b: float | None, digits: int) -> float | None:
    return None if a is None or b is None else round(a - b, digits)


def kpi_deltas(scenario: Kpis, baseline: Kpis) -> KpiDeltas:
    """Scenario minus baseline, field by field."""
    return KpiDeltas(
        vehicles_total=scenario.vehicles_total - baseline.vehicles_total,
        vehicles_available=scenario.vehicles_available - baseline.vehicles_available,
        vehicles_used=scenario.vehicles_used - baseline.vehicles_used,
        total_distance_km=round(scenario.total_distance_km - baseline.total_distance_km, 3),
        driving_time_min=round(scenario.driving_time_min - baseline.driving_time_min, 1),
        on_time_share=_delta(scenario.on_time_share, baseline.on_time_share, 3),
        late_visits=scenario.late_visits - baseline.late_visits,
        utilisation=_delta(scenario.utilisation, baseline.utilisation, 3),
        peak_load_share=_delta(scenario.peak_load_share, baseline.peak_load_share, 3),
        orders_served=scenario.orders_served - baseline.orders_served,
        parcels_served=scenario.parcels_served - baseline.parcels_served,
        unassigned_count=scenario.unassigned_count - baseline.unassigned_count,
        not_in_plan_count=scenario.not_in_plan_count - baseline.not_in_plan_count,
        order_count=scenario.order_count - baseline.order_count,
        cancelled_count=scenario.cancelled_count - baseline.cancelled_count,
    )


def what_if(ctx: ToolContext, request: WhatIfRequest) -> WhatIfResult:
    """Try hypothetical changes on a copy of the world and compare the resulting plan with the baseline. Saves nothing."""
    sc = run_scenario(ctx, request)
    scenario = plan_kpis(sc.world, sc.plan)
    baseline = plan_kpis(sc.baseline_world, sc.baseline_plan)
    if sc.baseline_plan_id is not None:
        baseline = baseline.model_copy(update={"plan_id": sc.baseline_plan_id, "plan_status": "committed"})
    result = WhatIfResult(
        scenario=scenario,
        baseline=baseline,
        baseline_source=sc.baseline_source,
        deltas=kpi_deltas(scenario, baseline),
        changes=list(sc.changes),
        unassigned=[UnassignedOut(order_id=u.order_id, reason=u.reason) for u in sc.plan.unassigned],
        stops_per_vehicle={r.vehicle_id: len(r.visits) for r in sc.plan.routes if r.visits},
        clock=format_clock(sc.clock, sc.world.utc_offset_s) if sc.clock is not None else None,
    )
    result._scenario = sc
    return result
