"""Engine selection: PyVRP where the problem fits it (it wins on quality there), OR-Tools otherwise.

The choice is automatic and reported in :attr:`Solution.engine` and :attr:`Solution.notes`. When PyVRP
finds nothing feasible, OR-Tools gets the time that is left.
"""

from __future__ import annotations

import time
from dataclasses import replace

from copilot.errors import InfeasibleError, InputError
from copilot.routing import RoutingProblem, Solution, SolveOptions
from solvers.ortools_engine import OrToolsEngine
from solvers.pyvrp_engine import PyVrpEngine, fits

ENGINES = ("auto", "ortools", "pyvrp")
#: Share of the time limit OR-Tools gets to build a pickup-and-delivery plan before PyVRP improves it.
HYBRID_ORTOOLS_SHARE = 0.3


class AutoSolver:
    """The project's routing solver (implements :class:`copilot.ports.RoutingSolver`)."""

    name = "auto"

    def __init__(self, engine: str = "auto") -> None:
        if engine not in ENGINES:
            raise InputError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
        self.engine = engine
        self._ortools = OrToolsEngine()
        self._pyvrp = PyVrpEngine()

    def solve(self, problem: RoutingProblem, options: SolveOptions) -> Solution:
        """Solve with the engine ``options.engine`` names; ``auto`` there means this solver's own engine (chosen
        when it was made, e.g. ``serve --engine ortools``), and when that is ``auto`` too, one is chosen per problem."""
        if options.engine not in ENGINES:
            raise InputError(f"unknown engine {options.engine!r}; expected one of {', '.join(ENGINES)}")
        if options.engine == "auto" and self.engine != "auto":
            options = replace(options, engine=self.engine)
        if options.time_limit_s <= 0:
            raise InputError(f"time limit must be positive, got {options.time_limit_s}")
        if options.engine == "ortools":
            return self._ortools.solve(problem, options)
        reason = fits(problem)
        if options.engine == "pyvrp":
            if reason is not None:
                raise InputError(f"the pyvrp engine cannot take this problem: {reason}")
            return self._pyvrp.solve(problem, options)
        if reason is not None:
            sol = self._ortools.solve(problem, options)
            return replace(sol, notes=(*sol.notes, f"ortools chosen: {reason}"))
        t0 = time.perf_counter()
        if problem.pairs:
            return self._hybrid(problem, options, t0)
        try:
            sol = self._pyvrp.solve(problem, options)
            return replace(sol, notes=(*sol.notes, "pyvrp chosen: static problem with single windows and no skills"))
        except InfeasibleError:
            left = max(0.2, options.time_limit_s - (time.perf_counter() - t0))
            sol = self._ortools.solve(problem, replace(options, time_limit_s=left))
            return replace(sol, notes=(*sol.notes, "pyvrp found nothing feasible; ortools used the time left"))


    def _hybrid(self, problem: RoutingProblem, options: SolveOptions, t0: float) -> Solution:
        """Pickup-and-delivery: OR-Tools builds a feasible plan, PyVRP improves it with the time left."""
        share = options.time_limit_s * HYBRID_ORTOOLS_SHARE
        first = self._ortools.solve(problem, replace(options, time_limit_s=share))
        left = options.time_limit_s - (time.perf_counter() - t0)
        if left < 0.2 or any(problem.stops[i].penalty is None for i in first.dropped):
            return replace(first, notes=(*first.notes, "ortools only: no time left to improve"))
        try:
            second = self._pyvrp.solve(problem, replace(options, time_limit_s=left), initial=first.routes)
        except InfeasibleError:
            return first
        wall = time.perf_counter() - t0
        return replace(second, engine="ortools+pyvrp", wall_s=wall, notes=(f"pickup-and-delivery: ortools construction ({share:.1f} s), pyvrp improvement",))


def make_solver(engine: str = "auto") -> AutoSolver:
    """The routing solver for a setting: ``auto`` chooses per problem, ``ortools`` or ``pyvrp`` always use that engine
    (unless a request names another one explicitly)."""
    return AutoSolver(engine)
