"""What restricts which vehicle may serve a stop, and what a vehicle under way carries: engine-neutral helpers."""

from __future__ import annotations

from copilot.core.routing import RoutingProblem


def onboard_stops(problem: RoutingProblem) -> list[int]:
    """Delivery stops whose goods are on board a vehicle under way (``meta["onboard_stops"]``)."""
    raw = problem.meta.get("onboard_stops", ())
    return [int(i) for i in raw] if isinstance(raw, list | tuple | set | frozenset) else []


def base_loads(problem: RoutingProblem) -> list[int]:
    """Per vehicle, what is on board at the start beyond the goods of its on-board deliveries (an engine that
    loads deliveries at the start loads those anyway): it stays on board, so it is taken off the room."""
    base = [v.initial_load for v in problem.vehicles]
    for i in onboard_stops(problem):
        allowed = problem.stops[i].allowed_vehicles
        if allowed is not None and len(allowed) == 1:
            base[next(iter(allowed))] -= problem.stops[i].delivery
    return base


def restriction_groups(problem: RoutingProblem) -> list[tuple[frozenset[int], tuple[int, ...]]]:
    """Distinct sets of vehicles allowed to serve a restricted stop (skill or pin), with their stops."""
    everyone = frozenset(range(len(problem.vehicles)))
    groups: dict[frozenset[int], list[int]] = {}
    for si in range(len(problem.stops)):
        allowed = frozenset(vi for vi in everyone if problem.can_serve(vi, si))
        if allowed != everyone:
            groups.setdefault(allowed, []).append(si)
    return [(allowed, tuple(stops)) for allowed, stops in groups.items()]
