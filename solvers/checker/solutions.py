"""Checking raw engine routes against their matrix problem: :func:`check_solution` (the rules are listed in :mod:`solvers.checker`)."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import SupportsIndex

from copilot.core.ports import Violation
from copilot.core.routing import RoutingProblem, Stop


@dataclass(frozen=True, slots=True)
class _Schedule:
    """Earliest schedule of one route for one departure time."""

    departure: int
    return_time: int
    misses: tuple[int, ...]  # positions in the route where no window was open at arrival
    arrivals: tuple[int, ...]


def _earliest_service(arrival: int, windows: Sequence[tuple[int, int]]) -> int | None:
    """Earliest service start at or after ``arrival`` inside some window; None when all are closed."""
    if not windows:
        return arrival
    best: int | None = None
    for a, b in windows:
        if b >= arrival:
            s = arrival if arrival > a else a
            if best is None or s < best:
                best = s
    return best


def _simulate(problem: RoutingProblem, vehicle: int, seq: Sequence[int], departure: int, ignore: frozenset[int] = frozenset()) -> _Schedule:
    """Earliest schedule from ``departure``; windows of the positions in ``ignore`` are left out."""
    veh = problem.vehicles[vehicle]
    dur = problem.durations[veh.profile]
    t = departure
    here = veh.start
    misses: list[int] = []
    arrivals: list[int] = []
    for pos, i in enumerate(seq):
        stop = problem.stops[i]
        arrival = t + dur[here][stop.location]
        arrivals.append(arrival)
        start = arrival if pos in ignore else _earliest_service(arrival, stop.windows)
        if start is None:
            misses.append(pos)
            start = arrival  # keep going as if served on arrival
        t = start + stop.service
        here = stop.location
    return _Schedule(departure, t + dur[here][veh.end], tuple(misses), tuple(arrivals))


def _shortest_duration(problem: RoutingProblem, vehicle: int, seq: Sequence[int], base: _Schedule) -> int:
    """Shortest depot-to-depot duration over every departure that keeps the route as feasible as ``base``.

    Stops whose windows ``base`` (the schedule from ``ready``) misses are treated as having no window, so
    that a window violation is not reported a second time as a duration violation.

    The earliest schedule from a departure ``D`` is evaluated for ``D = ready`` and for every ``D`` at which,
    driving without waiting, some stop would be reached exactly at the end of one of its windows or the
    vehicle would be back exactly at its latest return. One of these is always a best departure: from any
    feasible departure, delaying up to the first such point moves only the stops before the first wait,
    keeps every chosen window and never lengthens the route.
    """
    veh = problem.vehicles[vehicle]
    dur = problem.durations[veh.profile]
    ignore = frozenset(base.misses)
    best = base.return_time - base.departure
    limit = max(veh.latest_end, base.return_time)
    candidates: set[int] = set()
    offset = 0
    here = veh.start
    for pos, i in enumerate(seq):
        stop = problem.stops[i]
        offset += dur[here][stop.location]
        if pos not in ignore:
            for _a, b in stop.windows:
                candidates.add(b - offset)
        offset += stop.service
        here = stop.location
    offset += dur[here][veh.end]
    candidates.add(limit - offset)
    for d in sorted(candidates):
        if d <= base.departure:
            continue
        sched = _simulate(problem, vehicle, seq, d, ignore)
        if sched.misses or sched.return_time > limit:
            continue
        best = min(best, sched.return_time - d)
    return best


def _onboard(problem: RoutingProblem) -> tuple[frozenset[int], dict[int, int]]:
    """Stops whose goods are on board from the start, and (where known) which vehicle carries them."""
    raw = problem.meta.get("onboard_stops")
    if raw is None:
        return frozenset(), {}
    stop_by_id = {s.id: n for n, s in enumerate(problem.stops)}
    vehicle_by_id = {v.id: n for n, v in enumerate(problem.vehicles)}

    def stop_index(x: object) -> int | None:
        if isinstance(x, bool):
            return None
        if isinstance(x, int):
            return x if 0 <= x < len(problem.stops) else None
        if isinstance(x, str):
            return stop_by_id.get(x)
        return None

    def stops_of(value: object) -> list[int]:
        if isinstance(value, str | int):
            value = [value]
        if not isinstance(value, Iterable):
            return []
        return [n for n in (stop_index(x) for x in value) if n is not None]

    carrier: dict[int, int] = {}
    flat: set[int] = set()
    if isinstance(raw, Mapping):
        for key, value in raw.items():
            k: int | None
            if isinstance(key, bool):
                k = None
            elif isinstance(key, int):
                k = key if 0 <= key < len(problem.vehicles) else None
            elif isinstance(key, str):
                k = vehicle_by_id.get(key)
            else:
                k = None
            for n in stops_of(value):
                flat.add(n)
                if k is not None:
                    carrier[n] = k
    else:
        flat.update(stops_of(raw))
    return frozenset(flat), carrier


def _as_index(x: object) -> int | None:
    """A whole-number stop index (numpy integers too), or None for anything else (bools included)."""
    if isinstance(x, bool) or not isinstance(x, SupportsIndex):
        return None
    return operator.index(x)


def _stop_name(problem: RoutingProblem, i: int) -> str:
    return f"stop {i} ({problem.stops[i].id})"


def check_solution(problem: RoutingProblem, routes: Sequence[Sequence[int]]) -> list[Violation]:
    """Every violation of raw engine routes: one stop sequence per problem vehicle, in vehicle order.

    A shorter list leaves the remaining vehicles unused. Unknown and repeated stop indices are reported
    and left out of the time and load simulation.
    """
    out: list[Violation] = []
    n_stops = len(problem.stops)
    paired = frozenset(i for p in problem.pairs for i in (p.pickup, p.delivery))
    pickup_of = {p.delivery: p.pickup for p in problem.pairs}
    onboard, carrier = _onboard(problem)

    seen: dict[int, tuple[int, int]] = {}  # stop -> (vehicle, position in the cleaned route)
    cleaned: list[list[int]] = []
    for k, raw_seq in enumerate(routes):
        if k >= len(problem.vehicles):
            if len(raw_seq) > 0:
                out.append(Violation("unknown_vehicle", f"route {k}", f"the problem has only {len(problem.vehicles)} vehicles"))
            continue
        seq: list[int] = []
        for pos, raw in enumerate(raw_seq):
            i = _as_index(raw)
            if i is None or not 0 <= i < n_stops:
                out.append(Violation("unknown_stop", f"vehicle {k} position {pos}", f"stop index {raw!r} is not in 0..{n_stops - 1}"))
                continue
            if i in seen:
                other = seen[i][0]
                out.append(
                    Violation(
                        "duplicate_visit", f"vehicle {k} position {pos}", f"{_stop_name(problem, i)} already visited by vehicle {other}"
                    )
                )
                continue
            seen[i] = (k, len(seq))
            seq.append(i)
        cleaned.append(seq)

    for i, stop in enumerate(problem.stops):
        if stop.penalty is None and i not in seen:
            out.append(Violation("missing_mandatory", _stop_name(problem, i), "mandatory stop is not visited"))

    for k, seq in enumerate(cleaned):
        if seq:
            out.extend(_check_route(problem, k, seq, paired, pickup_of, onboard))

    for p in problem.pairs:
        where = f"pair {_stop_name(problem, p.pickup)} -> {_stop_name(problem, p.delivery)}"
        a, b = seen.get(p.pickup), seen.get(p.delivery)
        if a is None and b is None:
            continue
        if a is None or b is None:
            half = "pickup" if a is not None else "delivery"
            out.append(Violation("pair", where, f"only the {half} is served"))
        elif a[0] != b[0]:
            out.append(Violation("pair", where, f"pickup on vehicle {a[0]}, delivery on vehicle {b[0]}"))
        elif a[1] > b[1]:
            out.append(Violation("pair", where, f"delivery before pickup on vehicle {a[0]}"))

    for i, k in sorted(carrier.items()):
        got = seen.get(i)
        if got is not None and got[0] != k:
            out.append(Violation("pair", _stop_name(problem, i), f"goods on board of vehicle {k} but served by vehicle {got[0]}"))
    return out


def _check_route(
    problem: RoutingProblem,
    k: int,
    seq: list[int],
    paired: frozenset[int],
    pickup_of: Mapping[int, int],
    onboard: frozenset[int],
) -> list[Violation]:
    out: list[Violation] = []
    veh = problem.vehicles[k]
    vname = f"vehicle {k} ({veh.id})"

    for i in seq:
        stop = problem.stops[i]
        if stop.skill is not None and stop.skill not in veh.skills:
            out.append(
                Violation("skill", f"{vname} at {_stop_name(problem, i)}", f"needs skill {stop.skill!r}, vehicle has {sorted(veh.skills)}")
            )
        if stop.allowed_vehicles is not None and k not in stop.allowed_vehicles:
            out.append(
                Violation(
                    "allowed_vehicle", f"{vname} at {_stop_name(problem, i)}", f"stop allows only vehicles {sorted(stop.allowed_vehicles)}"
                )
            )

    base = _simulate(problem, k, seq, veh.ready)
    for pos in base.misses:
        i = seq[pos]
        out.append(
            Violation(
                "time_window",
                f"{vname} at {_stop_name(problem, i)}",
                f"arrives at {base.arrivals[pos]}, every window is closed by then: {list(problem.stops[i].windows)}",
            )
        )
    if base.return_time > veh.latest_end:
        out.append(Violation("shift_end", vname, f"back at {base.return_time}, shift ends at {veh.latest_end}"))
    if veh.max_duration is not None:
        shortest = _shortest_duration(problem, k, seq, base)
        if shortest > veh.max_duration:
            out.append(Violation("max_duration", vname, f"route takes at least {shortest} s, the limit is {veh.max_duration} s"))

    load = veh.initial_load + sum(problem.stops[i].delivery for i in seq if i not in paired and i not in onboard)
    if not 0 <= load <= veh.capacity:
        out.append(Violation("capacity", f"{vname} at departure", f"load {load} outside 0..{veh.capacity}"))
    for i in seq:
        stop = problem.stops[i]
        load -= _unloaded(problem, stop, i, pickup_of)
        if load < 0:
            out.append(Violation("capacity", f"{vname} at {_stop_name(problem, i)}", f"unloads more than is on board (load {load})"))
        load += stop.pickup
        if load > veh.capacity:
            out.append(Violation("capacity", f"{vname} at {_stop_name(problem, i)}", f"load {load} exceeds capacity {veh.capacity}"))
    return out


def _unloaded(problem: RoutingProblem, stop: Stop, i: int, pickup_of: Mapping[int, int]) -> int:
    """Goods unloaded at a stop: its delivery, or for a paired delivery without one, the pickup's amount."""
    if stop.delivery == 0 and i in pickup_of:
        return problem.stops[pickup_of[i]].pickup
    return stop.delivery
