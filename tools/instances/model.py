"""A benchmark instance as read (:class:`BenchmarkInstance`) and each set's own distance arithmetic, used to score solutions."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from copilot.core.errors import InputError
from copilot.core.routing import Matrix, Objective, RoutingProblem

FORMATS = ("solomon", "vrplib", "lilim", "sartori")
#: Integer units per published unit of distance, per format.
SCALE = {"solomon": 10, "vrplib": 1, "lilim": 1000, "sartori": 1}
#: Fixed cost per used vehicle for the hierarchical sets (fewest vehicles first).
HIERARCHICAL_VEHICLE_COST = 10**9
LILIM_SCALE = 1000
SOLOMON_SCALE = 10


@dataclass(frozen=True)
class BenchmarkInstance:
    """A benchmark instance: the problem the engines see plus the raw data needed to score a solution."""

    name: str
    fmt: str
    problem: RoutingProblem
    node_of_stop: tuple[int, ...]
    coords: tuple[tuple[float, float], ...]  # per node number; (lat, lon) for sartori
    path: Path | None = None
    raw_matrix: Matrix | None = field(default=None, repr=False)  # sartori: the file's minute matrix

    @property
    def num_nodes(self) -> int:
        """Nodes including the depot."""
        return len(self.coords)

    @property
    def scale(self) -> int:
        """Integer matrix units per published distance unit."""
        return SCALE[self.fmt]

    @property
    def hierarchical(self) -> bool:
        """True when the set ranks by fewest vehicles first, then distance."""
        return self.problem.objective is Objective.VEHICLES_THEN_DISTANCE

    def node_routes(self, routes: Iterable[Sequence[int]]) -> list[list[int]]:
        """Stop-index routes (as engines return them) to node-number routes."""
        return [[self.node_of_stop[i] for i in r] for r in routes]

    def arc(self, i: int, j: int) -> float:
        """Published cost of travelling from node ``i`` to node ``j``."""
        if self.fmt == "sartori":
            assert self.raw_matrix is not None
            return self.raw_matrix[i][j]
        (xi, yi), (xj, yj) = self.coords[i], self.coords[j]
        if self.fmt == "solomon":
            return _dimacs10(xi - xj, yi - yj) / SOLOMON_SCALE
        if self.fmt == "vrplib":
            return _nint_euclid(xi - xj, yi - yj)
        return math.sqrt((xi - xj) ** 2 + (yi - yj) ** 2)

    def cost(self, routes: Iterable[Sequence[int]]) -> float:
        """Total distance of ``routes`` (lists of node numbers, depot implicit at both ends) under the set's convention.

        Solomon: sum of ``floor(10 * euclid) / 10`` (DIMACS truncation); VRPLIB: sum of ``nint(euclid)``;
        Li & Lim: double-precision Euclidean sum; Sartori: sum of the integer minute matrix. Empty routes cost 0.
        """
        n = self.num_nodes
        if self.fmt == "solomon":
            tenths = 0
            for r in routes:
                for a, b in _arcs(r, n):
                    (xa, ya), (xb, yb) = self.coords[a], self.coords[b]
                    tenths += _dimacs10(xa - xb, ya - yb)
            return tenths / SOLOMON_SCALE
        total: float = 0
        for r in routes:
            for a, b in _arcs(r, n):
                total += self.arc(a, b)
        return total


def _arcs(route: Sequence[int], n: int) -> list[tuple[int, int]]:
    if not route:
        return []
    for v in route:
        if not 0 < v < n:
            raise InputError(f"node {v} is not a customer (nodes are 1..{n - 1})")
    seq = [0, *route, 0]
    return list(itertools.pairwise(seq))


def _dimacs10(dx: float, dy: float) -> int:
    """``floor(10 * euclid)``, exact for integer coordinates."""
    if isinstance(dx, int) and isinstance(dy, int):
        return math.isqrt(100 * (dx * dx + dy * dy))
    return math.floor(10 * math.sqrt(dx * dx + dy * dy))


def _nint_euclid(dx: float, dy: float) -> int:
    """TSPLIB ``EUC_2D``: ``(int)(sqrt(dx² + dy²) + 0.5)``."""
    return int(math.sqrt(dx * dx + dy * dy) + 0.5)


def _num(text: str) -> int | float:
    """An integer when the text is one, else a float (coordinates keep their exact type)."""
    try:
        return int(text)
    except ValueError:
        return float(text)
