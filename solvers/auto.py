"""Engine selection: PyVRP where the problem fits it (it wins on quality there), OR-Tools otherwise.

The choice is automatic and reported in :attr:`Solution.engine` and :attr:`Solution.notes`. When PyVRP
finds nothing feasible, OR-Tools gets the time that is left.

Days with skills or pins, and pickup-and-delivery days, run a portfolio: two searches at once, the second in a
forked process (the second core), the better plan kept (fewer left out, then cost). Up to
:data:`PORTFOLIO_ORTOOLS_MAX_STOPS` restricted stops the pair is PyVRP and OR-Tools; above it both are VROOM's
construction improved by PyVRP, with different seeds; pickup-and-delivery days run OR-Tools' construction
improved by PyVRP against VROOM's (full exploration) improved by PyVRP.

A re-plan (moving a stop to another vehicle costs something) is solved by OR-Tools from the committed
routes, which keeps the plan stable. When that draft leaves orders out, PyVRP searches again from it for
:data:`RESCUE_SHARE` of the time limit more (at least :data:`RESCUE_MIN_S`), without the disruption cost,
and its plan is taken only if it serves more: more search is spent only where orders would be dropped.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import time
from collections.abc import Callable
from dataclasses import replace
from multiprocessing.connection import Connection

from copilot.core.errors import InfeasibleError, InputError
from copilot.core.routing import ENGINE_NAMES, RoutingProblem, Solution, SolveOptions, route_distance
from solvers.ortools_engine import OrToolsEngine
from solvers.pyvrp_engine import PyVrpEngine, fits
from solvers.restrictions import restriction_groups

ENGINES = ENGINE_NAMES
#: Share of the time limit OR-Tools gets to build a pickup-and-delivery plan before PyVRP improves it.
HYBRID_ORTOOLS_SHARE = 0.3
#: Extra search for a re-plan whose stable draft leaves orders out: this share of the time limit, at least RESCUE_MIN_S.
RESCUE_SHARE = 1.0
RESCUE_MIN_S = 2.0
#: Problems with skills or pins are solved twice at once, the second search in a forked process (the second core),
#: and the better plan is kept. Up to this many stops the pair is PyVRP and OR-Tools, whose model holds such
#: restrictions as hard constraints and wins on some days (a 200-stop day with two skills: 271 km against
#: PyVRP's 291 at 30 s). Above it OR-Tools finds little in the time (450 stops: 69 left out at 5 s; 1,470 stops:
#: 1,039 left out at 60 s, 1.26 GB), and both searches are VROOM's construction (one thread, VROOM_SHARE of the
#: time) improved by PyVRP for the rest, with different seeds: VROOM places restricted stops that PyVRP alone
#: leaves out (a 533-stop re-plan with 39 vans under way: VROOM serves all 533 at 5 s, PyVRP 529 at 30 s), and on
#: the realistic benchmark a VROOM start won every world above 300 stops (8 of 8 runs).
PORTFOLIO_ORTOOLS_MAX_STOPS = 300
#: VROOM's share of the time before PyVRP improves its plan. Short is better: on a 1,470-stop day with 35 vans
#: (50 s), 5 % of the time for VROOM then PyVRP served 1,191, 10 % 1,188 and 1,181, 40 % 1,166 and 1,181;
#: PyVRP alone 1,171; VROOM alone for all 50 s 1,160 (bench/realistic/scale.py's world, 2026-12-02).
VROOM_SHARE = 0.1
#: Pickup-and-delivery days (fewest vehicles first) give the second search's VROOM its full exploration and up to
#: 90 % of the time (it stops earlier when its search ends; PyVRP gets the rest): VROOM's plans use fewer vans than
#: OR-Tools' and PyVRP removes few. On the 12 Sartori instances at 10 s, 60 % left two plans worse than VROOM alone
#: (its search cut short); 90 % none.
PAIRS_VROOM_EXPLORATION = 5
PAIRS_VROOM_SHARE = 0.9


def dropped_weight(problem: RoutingProblem, solution: Solution) -> int:
    """What the dropped stops of ``solution`` cost (mandatory ones count as a huge penalty)."""
    return sum(problem.stops[i].penalty or 10**15 for i in solution.dropped)


def plan_cost(problem: RoutingProblem, solution: Solution) -> tuple[int, int]:
    """Lexicographic: what is left out, then distance cost and fixed costs of the vehicles used."""
    travel = sum(
        route_distance(problem, vi, seq) * problem.vehicles[vi].cost_per_distance
        + (problem.vehicles[vi].fixed_cost + problem.vehicle_cost if seq else 0)
        for vi, seq in enumerate(solution.routes)
    )
    return dropped_weight(problem, solution), travel


def _vroom_fits(problem: RoutingProblem) -> bool:
    try:
        from solvers.vroom_engine import fits as vroom_fits
    except ImportError:  # pyvroom is not installed
        return False
    return vroom_fits(problem) is None


def _can_fork() -> bool:
    """Fork exists here, and this process may start children (a daemon process may not)."""
    return "fork" in multiprocessing.get_all_start_methods() and not multiprocessing.current_process().daemon


def _vroom_then_pyvrp(problem: RoutingProblem, options: SolveOptions, exploration: int = 1, share: float = VROOM_SHARE) -> Solution:
    """VROOM (one thread) builds a plan in ``share`` of the time; PyVRP improves it with the rest."""
    from solvers.vroom_engine import VroomEngine

    t0 = time.perf_counter()
    first = VroomEngine(threads=1, exploration=exploration).solve(problem, replace(options, time_limit_s=options.time_limit_s * share))
    left = options.time_limit_s - (time.perf_counter() - t0)
    if left < 0.5:
        return first
    try:
        second = PyVrpEngine().solve(problem, replace(options, time_limit_s=left), initial=first.routes)
    except InfeasibleError:
        return first
    best = min((first, second), key=lambda s: plan_cost(problem, s))
    return replace(best, engine="vroom+pyvrp", wall_s=time.perf_counter() - t0)


def _second_search(out: Connection, search: Callable[[], Solution]) -> None:
    """Run in the forked process: send the plan back, or why there is none."""
    try:
        out.send(search())
    except Exception as exc:  # the parent keeps its own plan; it only needs to know there is none here
        out.send(f"{type(exc).__name__}: {exc}")
    finally:
        out.close()


class AutoSolver:
    """The project's routing solver (implements :class:`copilot.core.ports.RoutingSolver`)."""

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
        if options.engine == "vroom":
            from solvers.vroom_engine import VroomEngine
            from solvers.vroom_engine import fits as vroom_fits

            if (why := vroom_fits(problem)) is not None:
                raise InputError(f"the vroom engine cannot take this problem: {why}")
            return VroomEngine(threads=1).solve(problem, options)
        reason = fits(problem)
        if options.engine == "pyvrp":
            if reason is not None:
                raise InputError(f"the pyvrp engine cannot take this problem: {reason}")
            return self._pyvrp.solve(problem, options)
        if reason is not None:
            sol = self._ortools.solve(problem, options)
            sol = replace(sol, notes=(*sol.notes, f"ortools chosen: {reason}"))
            if sol.dropped and problem.move_penalty:
                return self._rescue(problem, options, sol)
            return sol
        t0 = time.perf_counter()
        two = options.iterations is None and _can_fork()
        other = replace(options, seed=options.seed + 1)
        if problem.pairs:
            if two and _vroom_fits(problem):
                vroom_first = ("vroom+pyvrp", lambda: _vroom_then_pyvrp(problem, other, PAIRS_VROOM_EXPLORATION, PAIRS_VROOM_SHARE))
                return self._portfolio(problem, options, "pickup-and-delivery", vroom_first, lambda: self._hybrid(problem, options, t0))
            return self._hybrid(problem, options, t0)
        if restriction_groups(problem) and two:
            if len(problem.stops) <= PORTFOLIO_ORTOOLS_MAX_STOPS:
                return self._portfolio(problem, options, "skills or pins", ("ortools", lambda: self._ortools.solve(problem, options)),
                                       lambda: self._pyvrp.solve(problem, options))
            if _vroom_fits(problem):
                return self._portfolio(problem, options, "skills or pins", ("vroom+pyvrp", lambda: _vroom_then_pyvrp(problem, other)),
                                       lambda: _vroom_then_pyvrp(problem, options))
            return self._portfolio(problem, options, "skills or pins", ("pyvrp", lambda: self._pyvrp.solve(problem, other)),
                                   lambda: self._pyvrp.solve(problem, options))
        return self._pyvrp_first(problem, options, t0)

    def _pyvrp_first(self, problem: RoutingProblem, options: SolveOptions, t0: float) -> Solution:
        try:
            sol = self._pyvrp.solve(problem, options)
            return replace(sol, notes=(*sol.notes, "pyvrp chosen: single windows, no disruption cost"))
        except InfeasibleError:
            left = max(0.2, options.time_limit_s - (time.perf_counter() - t0))
            sol = self._ortools.solve(problem, replace(options, time_limit_s=left))
            return replace(sol, notes=(*sol.notes, "pyvrp found nothing feasible; ortools used the time left"))

    def _portfolio(self, problem: RoutingProblem, options: SolveOptions, why_two: str, second_search: tuple[str, Callable[[], Solution]],
                   first: Callable[[], Solution]) -> Solution:
        """``first`` here and the named second search in a forked process, for the same wall time; the better plan is kept."""
        second, search = second_search
        mp = multiprocessing.get_context("fork")
        recv, send = mp.Pipe(duplex=False)
        child = mp.Process(target=_second_search, args=(send, search))
        child.start()
        send.close()
        mine: Solution | None = None
        with contextlib.suppress(InfeasibleError):
            mine = first()
        theirs: Solution | None = None
        why = f"no answer from the second search ({second})"
        try:
            if recv.poll(options.time_limit_s + 10):
                got = recv.recv()
                theirs = got if isinstance(got, Solution) else None
                why = got if isinstance(got, str) else why
        except EOFError:
            pass
        finally:
            recv.close()
            child.join(timeout=2)
            if child.is_alive():
                child.kill()
                child.join()
        found = [s for s in (mine, theirs) if s is not None]
        if not found:
            raise InfeasibleError(f"no feasible plan found within {options.time_limit_s:g} s by either engine ({why})")
        best = min(found, key=lambda s: plan_cost(problem, s))
        names = {id(mine): mine.engine if mine else "", id(theirs): f"{second} (second)"}
        lines = [f"{names[id(s)]}: {len(s.dropped)} left out, cost {plan_cost(problem, s)[1]}" for s in found]
        return replace(best, notes=(*best.notes, f"portfolio ({why_two}), kept {names[id(best)]}: " + "; ".join(lines)))

    def _rescue(self, problem: RoutingProblem, options: SolveOptions, draft: Solution) -> Solution:
        """A stable re-plan left orders out: search again without the disruption cost, from the draft."""
        plain = replace(problem, move_penalty=0, warm_start=draft.routes)
        if fits(plain) is not None:
            return draft
        budget = max(RESCUE_MIN_S, options.time_limit_s * RESCUE_SHARE)
        try:
            better = self._pyvrp.solve(plain, replace(options, time_limit_s=budget))
        except InfeasibleError:
            return draft
        if dropped_weight(problem, better) < dropped_weight(problem, draft):
            note = (f"the stable re-plan left {len(draft.dropped)} stop(s) out; pyvrp searched {budget:g} s more and serves "
                    f"{len(draft.dropped) - len(better.dropped)} of them")
            return replace(better, engine="ortools+pyvrp", wall_s=draft.wall_s + better.wall_s, notes=(note,))
        return replace(draft, notes=(*draft.notes, f"pyvrp searched {budget:g} s more and served no more"))

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
