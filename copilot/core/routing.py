"""The routing problem every engine solves, in matrix form, and the solution it returns.

A :class:`RoutingProblem` is built from a world (by ``tools``) or read from a benchmark file. Engines
see only this: integer matrices, stops, vehicles and options. They return stop sequences; timing and
checking happen outside the engine.

Loads: a stop's ``pickup`` is loaded at the stop and stays on board until the route ends; a
``delivery`` is on board from the route start until the stop. A :class:`Pair` turns a pickup stop and a
delivery stop into one shipment carried between them (same vehicle, pickup first); paired amounts are
never loaded at the depot.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

from copilot.core.errors import InputError

Matrix = tuple[tuple[int, ...], ...]
INF_TIME = 10**12
#: The engines a request or a door may name (``auto``: chosen per problem by ``solvers.auto``).
ENGINE_NAMES = ("auto", "ortools", "pyvrp", "vroom")


class Objective(enum.StrEnum):
    """What the engine minimises."""

    DISTANCE = "distance"  # distance cost (plus drop penalties and fixed vehicle costs)
    VEHICLES_THEN_DISTANCE = "vehicles_then_distance"  # hierarchical: fewest vehicles first


@dataclass(frozen=True, slots=True)
class Stop:
    """A place to visit once. ``windows`` empty means any time; ``penalty`` None means mandatory."""

    id: str
    location: int
    pickup: int = 0
    delivery: int = 0
    service: int = 0
    windows: tuple[tuple[int, int], ...] = ()
    skill: str | None = None
    penalty: int | None = None
    allowed_vehicles: frozenset[int] | None = None
    previous_vehicle: int | None = None  # the vehicle it was on in the plan being revised

    def __post_init__(self) -> None:
        if self.pickup < 0 or self.delivery < 0 or self.service < 0:
            raise InputError(f"stop {self.id}: pickup, delivery and service must be zero or more")
        for a, b in self.windows:
            if b < a:
                raise InputError(f"stop {self.id}: window ends before it starts")
        if self.penalty is not None and self.penalty < 0:
            raise InputError(f"stop {self.id}: penalty must be zero or more")


@dataclass(frozen=True, slots=True)
class Pair:
    """Stop ``pickup`` must precede stop ``delivery`` on the same vehicle."""

    pickup: int
    delivery: int


@dataclass(frozen=True, slots=True)
class FleetVehicle:
    """A vehicle as the engine sees it.

    ``start``/``end`` are matrix indices; ``ready`` is the earliest departure, ``latest_end`` the
    latest return. ``initial_load`` is what is already on board (for a vehicle re-planned mid-route),
    ``onboard`` lists delivery stops whose goods are on board and must stay on this vehicle.
    ``cost_per_distance`` multiplies distance units; ``profile`` selects a duration matrix.
    """

    id: str
    start: int
    end: int
    capacity: int
    ready: int = 0
    latest_end: int = INF_TIME
    skills: frozenset[str] = frozenset()
    profile: int = 0
    cost_per_distance: int = 1
    fixed_cost: int = 0
    max_duration: int | None = None
    initial_load: int = 0

    def __post_init__(self) -> None:
        if self.capacity < 0:
            raise InputError(f"vehicle {self.id}: capacity must be zero or more")
        if self.latest_end < self.ready:
            raise InputError(f"vehicle {self.id}: shift ends before it starts")
        if self.initial_load > self.capacity:
            raise InputError(f"vehicle {self.id}: load on board exceeds capacity")


@dataclass(frozen=True, slots=True)
class RoutingProblem:
    """A complete routing problem in integer matrix form."""

    distance: Matrix
    durations: tuple[Matrix, ...]
    stops: tuple[Stop, ...]
    vehicles: tuple[FleetVehicle, ...]
    pairs: tuple[Pair, ...] = ()
    objective: Objective = Objective.DISTANCE
    vehicle_cost: int = 0
    name: str = ""
    warm_start: tuple[tuple[int, ...], ...] | None = None
    move_penalty: int = 0  # cost of serving a stop on another vehicle than its previous_vehicle
    meta: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.distance)
        if any(len(row) != n for row in self.distance):
            raise InputError("distance matrix must be square")
        if not self.durations:
            raise InputError("at least one duration matrix is needed")
        for m in self.durations:
            if len(m) != n or any(len(row) != n for row in m):
                raise InputError("duration matrices must be square and match the distance matrix")
        for s in self.stops:
            if not 0 <= s.location < n:
                raise InputError(f"stop {s.id}: location index {s.location} outside the matrix")
        for v in self.vehicles:
            if not (0 <= v.start < n and 0 <= v.end < n):
                raise InputError(f"vehicle {v.id}: start/end outside the matrix")
            if not 0 <= v.profile < len(self.durations):
                raise InputError(f"vehicle {v.id}: unknown profile {v.profile}")
        used: set[int] = set()
        for p in self.pairs:
            for i in (p.pickup, p.delivery):
                if not 0 <= i < len(self.stops):
                    raise InputError(f"pair refers to unknown stop {i}")
                if i in used:
                    raise InputError(f"stop {self.stops[i].id} is in two pairs")
                used.add(i)
        if self.warm_start is not None and len(self.warm_start) != len(self.vehicles):
            raise InputError("warm start must give one stop sequence per vehicle")

    @property
    def paired(self) -> frozenset[int]:
        """Indices of stops that belong to a pickup-and-delivery pair."""
        return frozenset(i for p in self.pairs for i in (p.pickup, p.delivery))

    def can_serve(self, vehicle: int, stop: int) -> bool:
        """Skill and pin restrictions only (no capacity or time)."""
        s = self.stops[stop]
        v = self.vehicles[vehicle]
        if s.skill is not None and s.skill not in v.skills:
            return False
        return s.allowed_vehicles is None or vehicle in s.allowed_vehicles


@dataclass(frozen=True, slots=True)
class SolveOptions:
    """How long and how to search. ``iterations`` bounds the search by work for exact repeatability."""

    time_limit_s: float = 10.0
    seed: int = 0
    iterations: int | None = None
    engine: str = "auto"


@dataclass(frozen=True, slots=True)
class Solution:
    """Engine output: one stop sequence per problem vehicle (same order), and dropped stops."""

    routes: tuple[tuple[int, ...], ...]
    dropped: tuple[int, ...]
    engine: str
    wall_s: float
    objective: float | None = None
    notes: tuple[str, ...] = ()

    @staticmethod
    def empty(problem: RoutingProblem, engine: str) -> Solution:
        """A solution that serves nothing."""
        return Solution(tuple(() for _ in problem.vehicles), tuple(range(len(problem.stops))), engine, 0.0)


def route_distance(problem: RoutingProblem, vehicle: int, seq: Sequence[int]) -> int:
    """Matrix distance of one route, depot to depot."""
    v = problem.vehicles[vehicle]
    prev = v.start
    total = 0
    for i in seq:
        loc = problem.stops[i].location
        total += problem.distance[prev][loc]
        prev = loc
    return total + problem.distance[prev][v.end]
