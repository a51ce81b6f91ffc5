"""Why unassigned, with the fix: for each order a plan leaves out, its cause and the smallest change that serves it.

The plan is the one asked for (default: the committed plan, else the latest draft). Each unassigned order gets
a cause from the per-vehicle reasons of :func:`tools.explain.vehicle_options` (the constraint that keeps it off
each vehicle), and candidate changes are searched cheapest first:

1. ``extend_shift`` - a vehicle's shift ends later (or starts earlier) by the fewest minutes of :data:`STEPS_MIN`;
2. ``add_skill`` - a vehicle without the order's skill gets it;
3. ``add_capacity`` - a vehicle gets the fewest extra parcels of capacity;
4. ``move_window`` - the order's window ends later (or starts earlier) by the fewest minutes of :data:`STEPS_MIN`;
5. ``add_vehicle`` - one more vehicle like an existing one (:class:`tools.whatif.AddVehicles`; a broken-down
   vehicle is copied first: the copy is available).

An order that fits the plan's routes as they are gets ``replan`` (no change). A candidate is found with the
insertion check of :mod:`tools.routes` (the plan's routes stay, the order goes where it fits best: no solver);
a pickup-and-delivery pair, which that check cannot place, gets an extra vehicle to try. Orders are grouped by
cause and candidate (same kind, vehicle, skill and direction; the group's amount is the largest its orders need).

Each group's change is then *verified*: a copy of the world with the change is planned exactly as a what-if is
(:func:`tools.whatif.plan_changes`: from the clock, keeping work that has started), with the orders the plan
serves and the group's orders only (the other unassigned orders would compete for the room the change makes),
and the fix is verified only when the group's orders are served and every order the plan serves still is. A
group that fails is retried with a larger amount (two steps), then with an extra vehicle. Groups are verified
largest first within a solver-time budget (each re-plan is charged at least its search time); the result says
which fixes were verified, which failed, and which were not tried. Each group's fix is verified on its own, not
together with the others'. Nothing is written to the store.

The package: :mod:`tools.remedies.models` (request, result, causes and fix kinds),
:mod:`tools.remedies.candidates` (the insertion-check search for a change), :mod:`tools.remedies.verify`
(a changed copy of the world, the solver budget, the reported fix) and :mod:`tools.remedies.unassigned` (the
tool itself).
"""

from __future__ import annotations

from tools.remedies.models import STEPS_MIN, FixGroup, FixOut, RemedyRequest, UnassignedFixes, WindowChangeOut
from tools.remedies.unassigned import fix_unassigned

__all__ = ["STEPS_MIN", "FixGroup", "FixOut", "RemedyRequest", "UnassignedFixes", "WindowChangeOut", "fix_unassigned"]
