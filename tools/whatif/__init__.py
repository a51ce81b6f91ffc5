"""What-if sandbox: apply hypothetical changes to a copy of the world, plan it, and compare with the baseline.

Nothing here writes to the store: the world is copied (frozen dataclasses, :func:`dataclasses.replace`),
planned in memory with the same planning code as a real re-plan (from the current time, keeping work
that has started), and measured with :func:`tools.kpis.plan_kpis`. The baseline is the committed plan,
or a fresh plan of the unchanged world when nothing is committed (the result says which).

Changes, applied in the order given:

* ``add_vehicles`` - copies of a template vehicle (new ids ``WHATIF-1``, ``WHATIF-2``, ...);
* ``remove_vehicles`` - the vehicles take no work (from the current time; started work stays done);
* ``change_shift`` - new shift start and/or end for some vehicles or all;
* ``scale_demand`` - every order not yet started carries ``factor`` times its parcels (rounded up, at least 1);
* ``remove_orders`` - the orders are dropped (a pickup-and-delivery pair goes as a whole);
* ``delay_vehicle`` - the vehicle starts nothing before the current time (or its shift start) + minutes;
* ``fleet_size`` - only ``count`` vehicles stay on the road;
* ``resample_orders`` - the day gets exactly ``count`` active orders: a seeded random choice of the orders
  not yet started is dropped, or copies of randomly drawn ones are added, each moved a random distance up
  to ``jitter_m`` (a smoothed bootstrap of the day's own orders: the count changes, where and when
  customers want service follows the day).

:func:`plan_changes` is the planning step of a what-if (apply the changes, plan the changed copy); scenario
scripts (:mod:`copilot.apps.scenario`) call it too, so their numbers are this tool's numbers.
A demand forecast becomes a ``resample_orders`` change in :func:`tools.forecast_day.forecast_day`.

The package: :mod:`tools.whatif.changes` (the changes and :func:`apply_changes`) and :mod:`tools.whatif.run`
(:func:`plan_changes`, :func:`run_scenario`, :func:`what_if` and the result).
"""

from __future__ import annotations

from tools.whatif.changes import (
    MAX_RESAMPLED_ORDERS,
    NEW_ORDER_PREFIX,
    NEW_VEHICLE_PREFIX,
    AddVehicles,
    Change,
    ChangeShift,
    DelayVehicle,
    FleetSize,
    RemoveOrders,
    RemoveVehicles,
    ResampleOrders,
    ScaleDemand,
    apply_changes,
)
from tools.whatif.run import KpiDeltas, WhatIfRequest, WhatIfResult, WhatIfRun, kpi_deltas, plan_changes, run_scenario, what_if

__all__ = [
    "MAX_RESAMPLED_ORDERS",
    "NEW_ORDER_PREFIX",
    "NEW_VEHICLE_PREFIX",
    "AddVehicles",
    "Change",
    "ChangeShift",
    "DelayVehicle",
    "FleetSize",
    "KpiDeltas",
    "RemoveOrders",
    "RemoveVehicles",
    "ResampleOrders",
    "ScaleDemand",
    "WhatIfRequest",
    "WhatIfResult",
    "WhatIfRun",
    "apply_changes",
    "kpi_deltas",
    "plan_changes",
    "run_scenario",
    "what_if",
]
