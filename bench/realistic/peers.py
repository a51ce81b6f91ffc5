"""The solvers of the realistic benchmark, each given the same :class:`~copilot.core.routing.RoutingProblem`.

* ``ours``: ``solvers.auto.AutoSolver`` (what ``plan`` runs).
* ``vroom``: VROOM alone, through the project's adapter ``solvers.vroom_engine`` (the same modelling: the distance
  matrix as VROOM's cost matrix and one duration matrix per speed profile; skills and pins as VROOM skills, one
  per distinct set of vehicles allowed to serve a restricted stop; windows, shifts, capacities and depots as they
  are; a vehicle under way starts where it is, when it is free, with the room it has left; priorities in the ratio
  of our drop penalties; pairs as shipments), with 2 threads and exploration 5 by default. The committed results
  were made by an adapter of its own in this file with the same modelling, before the engine existed.
* ``pyvrp``: PyVRP's own ``solve`` on the model our engine builds, only where that model needs none of
  our additions (no skills, pins or goods on board); elsewhere ``n/a``.

Every adapter returns stop sequences per problem vehicle; scoring happens in ``run.py``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from copilot.core.routing import RoutingProblem, SolveOptions


@dataclass
class Run:
    """What one solver returned: routes in problem-vehicle order, or a status saying why there are none."""

    routes: list[list[int]] = field(default_factory=list)
    engine: str = ""
    status: str = "ok"
    wall_s: float = 0.0
    note: str = ""


def run_ours(problem: RoutingProblem, limit: float, seed: int, **_: object) -> Run:
    from solvers.auto import AutoSolver

    t0 = time.perf_counter()
    sol = AutoSolver().solve(problem, SolveOptions(time_limit_s=limit, seed=seed))
    return Run([list(r) for r in sol.routes], sol.engine, "ok", time.perf_counter() - t0, "; ".join(sol.notes))


def run_pyvrp(problem: RoutingProblem, limit: float, seed: int, **_: object) -> Run:
    from solvers.pyvrp_engine import PyVrpEngine, fits, restriction_groups

    if restriction_groups(problem) or problem.meta.get("onboard_stops") or any(v.initial_load for v in problem.vehicles):
        return Run(status="n/a", note="needs skills, pins or goods on board, which PyVRP has no field for")
    if (reason := fits(problem)) is not None:
        return Run(status="n/a", note=reason)
    t0 = time.perf_counter()
    sol = PyVrpEngine().solve(problem, SolveOptions(time_limit_s=limit, seed=seed))
    return Run([list(r) for r in sol.routes], "pyvrp", "ok", time.perf_counter() - t0)


def run_vroom(problem: RoutingProblem, limit: float, seed: int, *, threads: int = 2, exploration: int = 5, **_: object) -> Run:
    from solvers.vroom_engine import VroomEngine, fits

    del seed  # VROOM's search is deterministic
    if (reason := fits(problem)) is not None:
        return Run(status="n/a", note=reason)
    t0 = time.perf_counter()
    sol = VroomEngine(threads=threads, exploration=exploration).solve(problem, SolveOptions(time_limit_s=limit))
    return Run([list(r) for r in sol.routes], f"vroom x={exploration} t={threads}", "ok", time.perf_counter() - t0)


SOLVERS = {"ours": run_ours, "vroom": run_vroom, "pyvrp": run_pyvrp}
