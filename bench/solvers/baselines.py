"""The solvers compared by ``run.py``: the project's own, and three baselines used as they come.

Every adapter takes a :class:`~tools.instances.BenchmarkInstance` and a time limit, builds the solver's
model from the same integer matrices as ``instance.problem`` (so every solver sees exactly the same
problem), and returns a :class:`SolverRun` with stop-index routes. Scoring (published distance,
feasibility, gap) happens in ``run.py``, outside the adapters.

* ``ours``: ``solvers.auto.AutoSolver`` with ``SolveOptions(time_limit_s=T, seed=seed)``.
* ``pyvrp``: PyVRP's default ``solve`` (iterated local search) with ``MaxRuntime(T)``; pairs become
  shipments; the hierarchical sets get the problem's fixed cost per used vehicle.
* ``vroom``: pyvroom with the duration matrix, the distance matrix as its cost matrix, exploration level
  5 (VROOM's default), ``timeout=T`` and one thread by default (VROOM stops early when its search ends).
* ``ortools_tutorial``: the official OR-Tools VRPTW / PDPTW tutorial setup and nothing more: distance
  arc costs, a capacity dimension, a time dimension with windows, pickup-and-delivery constraints,
  PATH_CHEAPEST_ARC then GUIDED_LOCAL_SEARCH for T seconds; the hierarchical sets add the problem's fixed
  vehicle cost (part of the objective, not a search setting).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from copilot.core.routing import INF_TIME, RoutingProblem
from tools.instances import BenchmarkInstance

SOLVERS = ("ours", "pyvrp", "vroom", "ortools_tutorial")
_PYVRP_INF = 2**63 - 1  # PyVRP's default "no time window" value (the int64 maximum)


@dataclass
class SolverRun:
    """What one solver returned for one instance.

    ``routes``: stop indices per vehicle (``ours``: in problem vehicle order; baselines: used vehicles
    only, which is equivalent because every fleet here is homogeneous). ``status``: ``ok`` (routes
    returned), ``no_solution`` (the solver found none) or ``error`` (it raised). ``wall_s`` is the whole
    call (model building, solving, reading the result); ``solver_s`` the solver's own time when it
    reports one.
    """

    routes: list[list[int]]
    engine: str
    status: str = "ok"
    wall_s: float = 0.0
    solver_s: float | None = None
    objective: float | None = None
    note: str = ""


def _single_window(problem: RoutingProblem, i: int) -> tuple[int, int] | None:
    w = problem.stops[i].windows
    if not w:
        return None
    if len(w) > 1:
        raise ValueError(f"stop {problem.stops[i].id} has {len(w)} windows; the baselines take one")
    return w[0]


def _homogeneous(problem: RoutingProblem) -> None:
    kinds = {(v.start, v.end, v.capacity, v.ready, v.latest_end, v.fixed_cost, v.profile) for v in problem.vehicles}
    if len(kinds) != 1:
        raise ValueError("the baselines expect a homogeneous fleet (all benchmark sets have one)")
    if problem.vehicles[0].start != 0 or problem.vehicles[0].end != 0:
        raise ValueError("the baselines expect the depot at matrix index 0")


def _fixed_cost(problem: RoutingProblem) -> int:
    return max(problem.vehicle_cost, problem.vehicles[0].fixed_cost)


# ------------------------------------------------------------------------------------------------ ours


def run_ours(inst: BenchmarkInstance, time_limit: float, seed: int) -> SolverRun:
    from copilot.core.routing import SolveOptions
    from solvers.auto import AutoSolver

    t0 = time.perf_counter()
    sol = AutoSolver().solve(inst.problem, SolveOptions(time_limit_s=time_limit, seed=seed))
    wall = time.perf_counter() - t0
    notes = list(sol.notes)
    if sol.dropped:
        notes.append(f"{len(sol.dropped)} stops dropped")
    return SolverRun([list(r) for r in sol.routes], sol.engine, "ok", wall, sol.wall_s, sol.objective, "; ".join(notes))


# ----------------------------------------------------------------------------------------------- PyVRP


def run_pyvrp(inst: BenchmarkInstance, time_limit: float, seed: int) -> SolverRun:
    import numpy as np
    from pyvrp import Client, Depot, Location, ProblemData, Shipment, VehicleType, solve
    from pyvrp.stop import MaxRuntime

    t0 = time.perf_counter()
    p = inst.problem
    _homogeneous(p)
    v = p.vehicles[0]
    # Locations carry coordinates for display only; PyVRP uses the matrices below.
    locations = [
        Location(x=float(c[1]), y=float(c[0])) if inst.fmt == "sartori" else Location(x=float(c[0]), y=float(c[1])) for c in inst.coords
    ]
    depot_late = v.latest_end if v.latest_end < INF_TIME else _PYVRP_INF
    depots = [Depot(location=v.start, tw_early=v.ready, tw_late=depot_late)]
    paired = p.paired
    clients: list[Client] = []
    client_stop: list[int] = []
    for i, s in enumerate(p.stops):
        if i in paired:
            continue
        early, late = _single_window(p, i) or (0, _PYVRP_INF)
        clients.append(
            Client(
                location=s.location,
                delivery=[s.delivery],
                pickup=[s.pickup],
                service_duration=s.service,
                tw_early=early,
                tw_late=late,
                name=s.id,
            )
        )
        client_stop.append(i)
    shipments: list[Shipment] = []
    for pair in p.pairs:
        sp, sd = p.stops[pair.pickup], p.stops[pair.delivery]
        wp = _single_window(p, pair.pickup) or (0, _PYVRP_INF)
        wd = _single_window(p, pair.delivery) or (0, _PYVRP_INF)
        shipments.append(
            Shipment(
                pickup_location=sp.location,
                delivery_location=sd.location,
                pickup_service_duration=sp.service,
                delivery_service_duration=sd.service,
                pickup_tw_early=wp[0],
                pickup_tw_late=wp[1],
                delivery_tw_early=wd[0],
                delivery_tw_late=wd[1],
                amount=[sp.pickup],
                name=f"{sp.id}->{sd.id}",
            )
        )
    vt = VehicleType(
        num_available=len(p.vehicles),
        capacity=[v.capacity],
        start_depot=0,
        end_depot=0,
        fixed_cost=_fixed_cost(p),
        tw_early=v.ready,
        tw_late=depot_late,
    )
    dist = np.asarray(p.distance, dtype=np.int64)
    dur = np.asarray(p.durations[v.profile], dtype=np.int64)
    data = ProblemData(locations, clients, depots, [vt], [dist], [dur], [], shipments)  # type: ignore[list-item]
    res = solve(data, MaxRuntime(time_limit), seed=seed, collect_stats=False, display=False)
    best = res.best
    routes: list[list[int]] = []
    for route in best.routes():
        seq: list[int] = []
        for act in route:
            if act.is_client():
                seq.append(client_stop[act.idx])
            elif act.is_pickup():
                seq.append(p.pairs[act.idx].pickup)
            elif act.is_delivery():
                seq.append(p.pairs[act.idx].delivery)
        routes.append(seq)
    wall = time.perf_counter() - t0
    note = "" if best.is_feasible() else "pyvrp: best solution infeasible"
    return SolverRun(routes, "pyvrp", "ok", wall, res.runtime, float(res.cost()), note)


# ----------------------------------------------------------------------------------------------- VROOM


def run_vroom(inst: BenchmarkInstance, time_limit: float, seed: int, *, threads: int = 1, exploration: int = 5) -> SolverRun:
    import numpy as np
    import vroom

    del seed  # VROOM has no seed; its search is deterministic
    t0 = time.perf_counter()
    p = inst.problem
    _homogeneous(p)
    v = p.vehicles[0]
    inp = vroom.Input()
    inp.set_durations_matrix("car", np.asarray(p.durations[v.profile], dtype=np.uint32))
    inp.set_costs_matrix("car", np.asarray(p.distance, dtype=np.uint32))
    tw = {"time_window": vroom.TimeWindow(v.ready, v.latest_end)} if v.latest_end < INF_TIME else {}
    fixed = _fixed_cost(p)
    for k in range(len(p.vehicles)):
        inp.add_vehicle(
            vroom.Vehicle(k, start=v.start, end=v.end, capacity=vroom.Amount([v.capacity]), costs=vroom.VehicleCosts(fixed=fixed), **tw)
        )
    paired = p.paired
    for i, s in enumerate(p.stops):
        if i in paired:
            continue
        w = _single_window(p, i)
        inp.add_job(
            vroom.Job(
                i,
                location=s.location,
                default_service=s.service,
                delivery=vroom.Amount([s.delivery]),
                pickup=vroom.Amount([s.pickup]),
                time_windows=[vroom.TimeWindow(*w)] if w else (),
            )
        )
    for pair in p.pairs:
        steps = []
        for i in (pair.pickup, pair.delivery):
            s = p.stops[i]
            w = _single_window(p, i)
            steps.append(
                vroom.ShipmentStep(i, location=s.location, default_service=s.service, time_windows=[vroom.TimeWindow(*w)] if w else ())
            )
        inp.add_shipment(steps[0], steps[1], amount=vroom.Amount([p.stops[pair.pickup].pickup]))
    sol = inp.solve(exploration_level=exploration, nb_threads=threads, timeout=timedelta(seconds=time_limit))
    frame = sol.routes
    routes_by_vehicle: dict[int, list[int]] = {}
    for vid, typ, job in zip(frame["vehicle_id"], frame["type"], frame["id"], strict=True):
        routes_by_vehicle.setdefault(int(vid), [])
        if typ in ("job", "pickup", "delivery"):
            routes_by_vehicle[int(vid)].append(int(job))
    summary = sol.to_dict()["summary"]
    wall = time.perf_counter() - t0
    times = summary.get("computing_times", {})
    own = (times.get("loading", 0) + times.get("solving", 0)) / 1000
    note = f"vroom: {summary['unassigned']} unassigned" if summary.get("unassigned") else ""
    # VROOM reports its cost as a 32-bit user cost, which wraps around with the hierarchical sets' fixed vehicle cost
    objective = float(summary["cost"]) if fixed == 0 else None
    return SolverRun([routes_by_vehicle[k] for k in sorted(routes_by_vehicle)], "vroom", "ok", wall, own, objective, note)


# -------------------------------------------------------------------------------------- OR-Tools tutorial


def run_ortools_tutorial(inst: BenchmarkInstance, time_limit: float, seed: int) -> SolverRun:
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    del seed  # the tutorial setup is deterministic
    t0 = time.perf_counter()
    p = inst.problem
    _homogeneous(p)
    v0 = p.vehicles[0]
    n = len(p.distance)
    nv = len(p.vehicles)
    stop_at: dict[int, int] = {}
    for i, s in enumerate(p.stops):
        if s.location in stop_at or s.location == 0:
            raise ValueError("the tutorial model needs one matrix node per stop")
        stop_at[s.location] = i
    paired = p.paired
    demand = [0] * n
    service = [0] * n
    for i, s in enumerate(p.stops):
        service[s.location] = s.service
        if i in paired:
            demand[s.location] = s.pickup - s.delivery
        else:
            if s.pickup and s.delivery:
                raise ValueError("the tutorial capacity model takes pure deliveries or pure pickups")
            demand[s.location] = s.delivery + s.pickup
    dist = p.distance
    dur = p.durations[v0.profile]

    manager = pywrapcp.RoutingIndexManager(n, nv, 0)
    routing = pywrapcp.RoutingModel(manager)

    def distance_callback(from_index: int, to_index: int) -> int:
        return int(dist[manager.IndexToNode(from_index)][manager.IndexToNode(to_index)])

    transit = routing.RegisterTransitCallback(distance_callback)
    routing.SetArcCostEvaluatorOfAllVehicles(transit)
    fixed = _fixed_cost(p)
    if fixed:
        routing.SetFixedCostOfAllVehicles(fixed)

    def demand_callback(from_index: int) -> int:
        return int(demand[manager.IndexToNode(from_index)])

    demand_index = routing.RegisterUnaryTransitCallback(demand_callback)
    routing.AddDimensionWithVehicleCapacity(demand_index, 0, [v.capacity for v in p.vehicles], True, "Capacity")

    timed = any(s.windows for s in p.stops) or v0.latest_end < INF_TIME
    order_dim = None
    if timed:

        def time_callback(from_index: int, to_index: int) -> int:
            a = manager.IndexToNode(from_index)
            return int(service[a] + dur[a][manager.IndexToNode(to_index)])

        time_index = routing.RegisterTransitCallback(time_callback)
        horizon = max([v.latest_end for v in p.vehicles if v.latest_end < INF_TIME] + [b for s in p.stops for _, b in s.windows])
        routing.AddDimension(time_index, horizon, horizon, False, "Time")
        time_dim = routing.GetDimensionOrDie("Time")
        for i, s in enumerate(p.stops):
            w = _single_window(p, i)
            if w:
                time_dim.CumulVar(manager.NodeToIndex(s.location)).SetRange(w[0], w[1])
        for k, v in enumerate(p.vehicles):
            late = min(v.latest_end, horizon)
            time_dim.CumulVar(routing.Start(k)).SetRange(v.ready, late)
            time_dim.CumulVar(routing.End(k)).SetRange(v.ready, late)
        for k in range(nv):
            routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.Start(k)))
            routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.End(k)))
        order_dim = time_dim
    if p.pairs:
        if order_dim is None:
            routing.AddDimension(transit, 0, sum(max(r) for r in dist) + 1, True, "Distance")
            order_dim = routing.GetDimensionOrDie("Distance")
        solver = routing.solver()
        for pair in p.pairs:
            pi = manager.NodeToIndex(p.stops[pair.pickup].location)
            di = manager.NodeToIndex(p.stops[pair.delivery].location)
            routing.AddPickupAndDelivery(pi, di)
            solver.Add(routing.VehicleVar(pi) == routing.VehicleVar(di))
            solver.Add(order_dim.CumulVar(pi) <= order_dim.CumulVar(di))

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(max(1, round(1000 * time_limit)))
    ts = time.perf_counter()
    solution = routing.SolveWithParameters(params)
    solver_s = time.perf_counter() - ts
    if solution is None:
        status = routing_enums_pb2.RoutingSearchStatus.Value.Name(routing.status())
        return SolverRun([], "ortools", "no_solution", time.perf_counter() - t0, solver_s, None, f"ortools: no solution ({status})")
    routes: list[list[int]] = []
    for k in range(nv):
        index = solution.Value(routing.NextVar(routing.Start(k)))
        seq: list[int] = []
        while not routing.IsEnd(index):
            seq.append(stop_at[manager.IndexToNode(index)])
            index = solution.Value(routing.NextVar(index))
        routes.append(seq)
    return SolverRun(routes, "ortools", "ok", time.perf_counter() - t0, solver_s, float(solution.ObjectiveValue()), "")


RUNNERS: dict[str, Callable[..., SolverRun]] = {
    "ours": run_ours,
    "pyvrp": run_pyvrp,
    "vroom": run_vroom,
    "ortools_tutorial": run_ortools_tutorial,
}


def run_solver(name: str, inst: BenchmarkInstance, time_limit: float, seed: int, **kw: object) -> SolverRun:
    """Run one solver; an exception becomes an ``error`` run carrying the last traceback line."""
    t0 = time.perf_counter()
    try:
        return RUNNERS[name](inst, time_limit, seed, **kw)
    except Exception as e:  # the bench records every failure and goes on
        last = traceback.format_exception_only(type(e), e)[-1].strip()
        return SolverRun([], name, "error", time.perf_counter() - t0, None, None, last[:300])
