"""OR-Tools routing engine: covers every constraint of :class:`~copilot.core.routing.RoutingProblem`.

Capacity with mixed pickups and depot deliveries, time windows (several per stop), shifts, maximum
route duration, skills and pins (allowed vehicles), optional stops with drop penalties, pickup-and-
delivery pairs, vehicles that start mid-route with a load on board, warm start, time or work limit.

OR-Tools is deterministic for a fixed work budget (``SolveOptions.iterations``, counted in solutions
found); under a wall-clock limit the amount of search depends on the machine.
"""

from __future__ import annotations

import time

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from copilot.core.errors import InfeasibleError
from copilot.core.routing import RoutingProblem, Solution, SolveOptions

_BUILD_MARGIN = 0.05  # share of the time limit kept free for building and reading the model
_MANDATORY_PENALTY = 10**14


class OrToolsEngine:
    """The engine that handles every feature of the routing problem."""

    name = "ortools"

    def __init__(self, metaheuristic: str = "GUIDED_LOCAL_SEARCH", first_solution: str | None = None) -> None:
        self.metaheuristic = metaheuristic
        self.first_solution = first_solution  # a FirstSolutionStrategy name; None: chosen per problem

    def solve(self, problem: RoutingProblem, options: SolveOptions) -> Solution:
        """Solve ``problem`` within ``options.time_limit_s``."""
        t0 = time.perf_counter()
        n_stops = len(problem.stops)
        n_veh = len(problem.vehicles)
        if n_veh == 0:
            return Solution.empty(problem, self.name)
        serveable = [[vi for vi in range(n_veh) if problem.can_serve(vi, si)] for si in range(n_stops)]
        for si, allowed in enumerate(serveable):
            if not allowed and problem.stops[si].penalty is None:
                raise InfeasibleError(f"stop {problem.stops[si].id} is mandatory but no vehicle may serve it (skill or pin)")

        # Node layout: stops first, then one node per distinct vehicle start/end location.
        node_loc = [s.location for s in problem.stops]
        terminal_node: dict[int, int] = {}
        for v in problem.vehicles:
            for loc in (v.start, v.end):
                if loc not in terminal_node:
                    terminal_node[loc] = len(node_loc)
                    node_loc.append(loc)
        starts = [terminal_node[v.start] for v in problem.vehicles]
        ends = [terminal_node[v.end] for v in problem.vehicles]
        manager = pywrapcp.RoutingIndexManager(len(node_loc), n_veh, starts, ends)
        routing = pywrapcp.RoutingModel(manager)
        service = [s.service for s in problem.stops] + [0] * (len(node_loc) - n_stops)

        self._add_costs(problem, manager, routing, node_loc)
        time_dim = self._add_time(problem, manager, routing, node_loc, service)
        self._add_loads(problem, manager, routing)

        solver = routing.solver()
        for p in problem.pairs:
            pi, di = manager.NodeToIndex(p.pickup), manager.NodeToIndex(p.delivery)
            routing.AddPickupAndDelivery(pi, di)
            solver.Add(routing.VehicleVar(pi) == routing.VehicleVar(di))
            solver.Add(routing.ActiveVar(pi) == routing.ActiveVar(di))
            solver.Add(time_dim.CumulVar(pi) <= time_dim.CumulVar(di))

        self._add_restrictions(problem, manager, routing, serveable)
        for si, s in enumerate(problem.stops):
            index = manager.NodeToIndex(si)
            if not serveable[si]:
                routing.ActiveVar(index).SetValue(0)
            # Mandatory stops get a prohibitive penalty instead of a hard constraint, so the first
            # solution heuristics always find something; a dropped mandatory stop is reported below.
            routing.AddDisjunction([index], int(s.penalty) if s.penalty is not None else _MANDATORY_PENALTY)

        params = pywrapcp.DefaultRoutingSearchParameters()
        params.first_solution_strategy = (
            getattr(routing_enums_pb2.FirstSolutionStrategy, self.first_solution) if self.first_solution else self._first_strategy(problem)
        )
        params.local_search_metaheuristic = getattr(routing_enums_pb2.LocalSearchMetaheuristic, self.metaheuristic)

        def set_budget() -> None:  # what is left of the limit; set again right before the search starts
            budget = max(0.05, options.time_limit_s * (1 - _BUILD_MARGIN) - (time.perf_counter() - t0))
            params.time_limit.FromMilliseconds(int(budget * 1000))

        set_budget()
        if options.iterations is not None:
            params.solution_limit = max(1, options.iterations)

        assignment = None
        routing.CloseModelWithParameters(params)
        initial = None
        notes: tuple[str, ...] = ()
        if problem.warm_start is not None:
            routes = [[manager.NodeToIndex(i) for i in seq if i < n_stops] for seq in problem.warm_start]
            initial = routing.ReadAssignmentFromRoutes(routes, True)
            if initial is None:
                notes = ("the warm start did not fit the new constraints; searched from scratch",)
        set_budget()
        if initial is not None:
            assignment = routing.SolveFromAssignmentWithParameters(initial, params)
        if assignment is None:
            assignment = routing.SolveWithParameters(params)
        wall = time.perf_counter() - t0
        if assignment is None:
            raise InfeasibleError(f"no feasible plan found within {options.time_limit_s:g} s (status {routing.status()})")

        out: list[tuple[int, ...]] = []
        visited: set[int] = set()
        for vi in range(n_veh):
            seq: list[int] = []
            idx = assignment.Value(routing.NextVar(routing.Start(vi)))
            while not routing.IsEnd(idx):
                node = manager.IndexToNode(idx)
                seq.append(node)
                visited.add(node)
                idx = assignment.Value(routing.NextVar(idx))
            out.append(tuple(seq))
        dropped = tuple(i for i in range(n_stops) if i not in visited)
        missing = [problem.stops[i].id for i in dropped if problem.stops[i].penalty is None]
        if missing:
            raise InfeasibleError(
                f"no plan serves every mandatory stop within {options.time_limit_s:g} s; left out: {', '.join(missing[:10])}"
            )
        return Solution(tuple(out), dropped, self.name, wall, float(assignment.ObjectiveValue()), notes)

    @staticmethod
    def _add_restrictions(
        problem: RoutingProblem, manager: pywrapcp.RoutingIndexManager, routing: pywrapcp.RoutingModel, serveable: list[list[int]]
    ) -> None:
        """Skills and pins as a zero-capacity dimension: vehicle v accumulates 1 at a stop it may not serve.

        A dimension is checked by the routing library's fast local-search filters (restricting the
        vehicle variables instead slows the search down badly; and SetAllowedVehiclesForIndex's Python
        binding rejects lists in OR-Tools 9.15).
        """
        n_veh = len(problem.vehicles)
        if all(len(a) in (0, n_veh) for a in serveable):
            return
        vectors: dict[tuple[int, ...], int] = {}
        evaluators = []
        for vi in range(n_veh):
            forbidden = tuple(1 if (serveable[si] and vi not in serveable[si]) else 0 for si in range(len(problem.stops)))
            if forbidden not in vectors:
                vectors[forbidden] = routing.RegisterUnaryTransitVector(_pad(list(forbidden), manager))
            evaluators.append(vectors[forbidden])
        routing.AddDimensionWithVehicleTransitAndCapacity(evaluators, 0, [0] * n_veh, True, "Restrictions")

    @staticmethod
    def _first_strategy(problem: RoutingProblem) -> int:
        """Savings, except for pickup-and-delivery pairs (which savings cannot build).

        Guided local search seldom leaves the basin of its first solution within seconds; on
        hangzhou-0501 (skills, 2 h windows) savings ends about 10 % shorter than parallel cheapest
        insertion at 1-10 s (``python bench/first_solution.py --world ...`` measures it).
        """
        fss = routing_enums_pb2.FirstSolutionStrategy
        if problem.pairs:
            return int(fss.PARALLEL_CHEAPEST_INSERTION)
        return int(fss.SAVINGS)

    @staticmethod
    def _add_costs(problem: RoutingProblem, manager: pywrapcp.RoutingIndexManager, routing: pywrapcp.RoutingModel, node_loc: list[int]) -> None:
        dist = problem.distance
        n_stops = len(problem.stops)
        by_key: dict[tuple[int, int], int] = {}
        for vi, v in enumerate(problem.vehicles):
            coef = v.cost_per_distance
            # Disruption cost: entering a stop that was on another vehicle costs move_penalty.
            moved = problem.move_penalty > 0 and any(s.previous_vehicle is not None and s.previous_vehicle != vi for s in problem.stops)
            key = (coef, vi if moved else -1)
            if key not in by_key:
                extra = [0] * len(node_loc)
                if moved:
                    for si, s in enumerate(problem.stops):
                        if s.previous_vehicle is not None and s.previous_vehicle != vi:
                            extra[si] = problem.move_penalty
                by_key[key] = routing.RegisterTransitMatrix(
                    [[dist[a][b] * coef + (extra[bj] if bj < n_stops else 0) for bj, b in enumerate(node_loc)] for a in node_loc]
                )
            routing.SetArcCostEvaluatorOfVehicle(by_key[key], vi)
            fixed = v.fixed_cost + problem.vehicle_cost
            if fixed:
                routing.SetFixedCostOfVehicle(fixed, vi)

    @staticmethod
    def _add_time(
        problem: RoutingProblem,
        manager: pywrapcp.RoutingIndexManager,
        routing: pywrapcp.RoutingModel,
        node_loc: list[int],
        service: list[int],
    ) -> pywrapcp.RoutingDimension:
        horizon = max([v.latest_end for v in problem.vehicles] + [w[1] for s in problem.stops for w in s.windows] + [1])
        per_profile = [
            routing.RegisterTransitMatrix([[service[ai] + dur[a][b] for b in node_loc] for ai, a in enumerate(node_loc)])
            for dur in problem.durations
        ]
        evaluators = [per_profile[v.profile] for v in problem.vehicles]
        routing.AddDimensionWithVehicleTransits(evaluators, horizon, horizon, False, "Time")
        dim = routing.GetDimensionOrDie("Time")
        for si, s in enumerate(problem.stops):
            if not s.windows:
                continue
            var = dim.CumulVar(manager.NodeToIndex(si))
            lo, hi = s.windows[0][0], s.windows[-1][1]
            var.SetRange(max(0, lo), min(horizon, hi))
            for (_, a_end), (b_start, _) in zip(s.windows, s.windows[1:], strict=False):
                if b_start - a_end > 1:
                    var.RemoveInterval(a_end + 1, b_start - 1)
        for vi, v in enumerate(problem.vehicles):
            dim.CumulVar(routing.Start(vi)).SetRange(v.ready, min(v.latest_end, horizon))
            dim.CumulVar(routing.End(vi)).SetRange(v.ready, min(v.latest_end, horizon))
            if v.max_duration is not None:
                dim.SetSpanUpperBoundForVehicle(v.max_duration, vi)
            routing.AddVariableMinimizedByFinalizer(dim.CumulVar(routing.End(vi)))
            routing.AddVariableMaximizedByFinalizer(dim.CumulVar(routing.Start(vi)))
        return dim

    @staticmethod
    def _add_loads(problem: RoutingProblem, manager: pywrapcp.RoutingIndexManager, routing: pywrapcp.RoutingModel) -> None:
        n_stops = len(problem.stops)
        paired = problem.pairs
        pair_delta = [0] * n_stops
        for p in paired:
            amount = problem.stops[p.pickup].pickup
            pair_delta[p.pickup] = amount
            pair_delta[p.delivery] = -amount
        in_pair = problem.paired
        onboard = set(_onboard(problem))
        unpaired = [i for i in range(n_stops) if i not in in_pair]
        has_pick = any(problem.stops[i].pickup for i in unpaired)
        has_drop = any(problem.stops[i].delivery for i in unpaired)
        caps = [v.capacity for v in problem.vehicles]
        onboard_total = [0] * len(problem.vehicles)
        for i in onboard:
            allowed = problem.stops[i].allowed_vehicles
            if allowed is not None and len(allowed) == 1:
                onboard_total[next(iter(allowed))] += problem.stops[i].delivery
        base = [v.initial_load - onboard_total[vi] for vi, v in enumerate(problem.vehicles)]

        if not has_drop or not has_pick:
            # Counting dimension: exact when unpaired stops all load (pickups) or all unload
            # (deliveries, counted as the amount loaded at the depot) and pairs are netted.
            if has_drop and paired:
                delta = [pair_delta[i] if i in in_pair else problem.stops[i].delivery for i in range(n_stops)]
                _free_start_with_end_check(problem, manager, routing, delta, caps, base, signed_drop=True)
                return
            delta = [pair_delta[i] if i in in_pair else problem.stops[i].pickup + problem.stops[i].delivery for i in range(n_stops)]
            cb = routing.RegisterUnaryTransitVector(_pad(delta, manager))
            routing.AddDimensionWithVehicleCapacity(cb, 0, caps, False, "Load")
            dim = routing.GetDimensionOrDie("Load")
            for vi in range(len(problem.vehicles)):
                dim.CumulVar(routing.Start(vi)).SetValue(max(0, base[vi]))
            return
        delta = [pair_delta[i] if i in in_pair else problem.stops[i].pickup - problem.stops[i].delivery for i in range(n_stops)]
        _free_start_with_end_check(problem, manager, routing, delta, caps, base, signed_drop=False)


def _onboard(problem: RoutingProblem) -> list[int]:
    raw = problem.meta.get("onboard_stops", ())
    return [int(i) for i in raw] if isinstance(raw, list | tuple | set | frozenset) else []


def _free_start_with_end_check(
    problem: RoutingProblem,
    manager: pywrapcp.RoutingIndexManager,
    routing: pywrapcp.RoutingModel,
    delta: list[int],
    caps: list[int],
    base: list[int],
    *,
    signed_drop: bool,
) -> None:
    """Mixed loads: the start load is free, and the end check forces it to cover every depot delivery.

    With ``signed_drop`` the deltas carry deliveries as positive amounts (pairs netted); they are turned
    negative here so that the load falls as goods are handed over.
    """
    n_stops = len(problem.stops)
    in_pair = problem.paired
    if signed_drop:
        delta = [d if i in in_pair else -d for i, d in enumerate(delta)]
    cb = routing.RegisterUnaryTransitVector(_pad(delta, manager))
    routing.AddDimensionWithVehicleCapacity(cb, 0, caps, False, "Load")
    load = routing.GetDimensionOrDie("Load")
    picked_delta = [problem.stops[i].pickup if i not in in_pair else 0 for i in range(n_stops)]
    cb2 = routing.RegisterUnaryTransitVector(_pad(picked_delta, manager))
    routing.AddDimensionWithVehicleCapacity(cb2, 0, caps, True, "Picked")
    picked = routing.GetDimensionOrDie("Picked")
    solver = routing.solver()
    for vi in range(len(problem.vehicles)):
        load.CumulVar(routing.Start(vi)).SetRange(max(0, base[vi]), caps[vi])
        solver.Add(load.CumulVar(routing.End(vi)) >= picked.CumulVar(routing.End(vi)) + max(0, base[vi]))


def _pad(values: list[int], manager: pywrapcp.RoutingIndexManager) -> list[int]:
    """Per-node values for a unary transit vector (terminal nodes contribute nothing)."""
    return values + [0] * (manager.GetNumberOfNodes() - len(values))
