"""An independent feasibility checker for engine routes and domain plans.

This package shares no code with any solver or with :mod:`copilot.core.units` (an import-linter contract
holds every module in it to that): it recomputes distances, travel times, schedules and loads from the raw
data on its own, so that a bug in a solver or in the shared helpers cannot hide itself. It reports every
broken rule it finds as a :class:`~copilot.core.ports.Violation`; an empty list means feasible.

Rules reported by :func:`check_solution` (matrix problems):

``unknown_vehicle``   more routes than problem vehicles (and the extra ones visit stops)
``unknown_stop``      a stop index outside the problem
``duplicate_visit``   a stop visited twice (the repeat is left out of the simulation)
``missing_mandatory`` a stop without penalty that no route visits
``time_window``       no window of the stop is still open at arrival
``shift_end``         the vehicle is back after ``latest_end``
``max_duration``      even with the latest possible departure the route lasts too long
``capacity``          the load leaves ``[0, capacity]`` at the depot or at a stop
``pair``              a pickup-and-delivery pair split, half served or served delivery first;
                      goods on board of one vehicle delivered by another
``skill``             the stop needs a skill the vehicle lacks
``allowed_vehicle``   the stop is pinned to other vehicles

:func:`check_plan` (domain plans) reports, besides ``unknown_vehicle``, ``duplicate_visit``,
``time_window``, ``shift_end``, ``max_duration``, ``capacity``, ``pair`` and ``skill``:

``unknown_order``        a visit or an unassigned entry names an order the world lacks
``duplicate_route``      two routes for one vehicle
``routed_and_unassigned`` an order both routed and listed as unassigned
``missing_order``        an active order neither routed nor listed as unassigned
``cancelled_order``      a cancelled order is routed
``shift_start``          the route or a service starts before the driver's shift
``depot_hours``          the route leaves before the depot opens or returns after it closes
``travel_time``          an arrival (or the return) earlier than driving allows (1 s tolerance per leg)
``schedule``             a service starts before arrival or departure is not start + service time
``distance``             stated route distance off the recomputed one by more than 0.5 % + 1 m
``load``                 stated start load or load after a visit differs from the recomputed one
``unavailable_vehicle``  a service starts after the vehicle's ``unavailable_from``

Load conventions follow :mod:`copilot.core.routing`: unpaired delivery goods are loaded at the depot and
unloaded at their stop; pickups are loaded at their stop. Goods of paired stops are never loaded at
the depot. ``problem.meta["onboard_stops"]`` may name delivery stops (indices or ids) whose goods are
already on board, counted in ``initial_load``: either a collection of stops, or a mapping from vehicle
(index or id) to the stops whose goods that vehicle carries (those must then be served by it).

``clock`` in :func:`check_plan` (``plan.clock`` when not given) marks a re-plan. The plan is a whole day
plan, visits that started before the clock included. With a clock, and only then:

* a pickup routed with its service started before the clock may have its delivery unassigned (or
  cancelled): the goods were picked up and stay on board;
* a route that left before the clock may start with more load than its routed unpaired deliveries, by
  at most the goods of unpaired deliveries no route serves any more (unassigned or cancelled): they were
  loaded at the depot before being dropped; loads are then followed from the stated start load;
* a visit that started before the clock is history: its window, service time (departure minus start) and
  parcels handed over (its load after) are taken as stated, since the order may have been changed since;
  a route that left before the clock keeps the start load it left with (within its capacity);
* a paired delivery may be routed while its pickup is left out of the plan altogether (neither routed
  nor unassigned): the pickup is taken as done before the clock, its goods count as on board of that
  route from the start, and it is not reported as missing.

The package: :mod:`solvers.checker.arithmetic` (its own distances and driving times),
:mod:`solvers.checker.solutions` (:func:`check_solution`) and :mod:`solvers.checker.plans` (:func:`check_plan`).
"""

from __future__ import annotations

from collections.abc import Sequence

from copilot.core.domain import Plan, World
from copilot.core.ports import Violation
from copilot.core.routing import RoutingProblem
from solvers.checker.arithmetic import drive_seconds, great_circle_m
from solvers.checker.plans import check_plan
from solvers.checker.solutions import check_solution

__all__ = ["PlanChecker", "check_plan", "check_solution", "drive_seconds", "great_circle_m"]


class PlanChecker:
    """The independent :class:`~copilot.core.ports.FeasibilityChecker`."""

    name = "independent"

    def check_plan(self, world: World, plan: Plan, clock: int | None = None) -> list[Violation]:
        """Every violation of a domain plan (see :func:`check_plan`)."""
        return check_plan(world, plan, clock)

    def check_solution(self, problem: RoutingProblem, routes: Sequence[Sequence[int]]) -> list[Violation]:
        """Every violation of raw engine routes (see :func:`check_solution`)."""
        return check_solution(problem, routes)
