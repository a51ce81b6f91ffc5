"""Read public VRP benchmark files into a :class:`~copilot.core.routing.RoutingProblem`.

Four formats are understood (see ``shared/data/vrp/README.md`` and ``shared/data/sartori_pdptw_osrm/README.md``):

=========  =====================================  ==========================  ===============================
fmt        set                                    integer matrix              published distance (``cost``)
=========  =====================================  ==========================  ===============================
solomon    Solomon VRPTW (original text format)   ``floor(10 * euclid)``      sum of ``floor(10 * euclid) / 10``
vrplib     CVRPLIB ``.vrp`` (EUC_2D), e.g. X      ``nint(euclid)``            sum of ``nint(euclid)``
lilim      Li & Lim PDPTW                         ``round(1000 * euclid)``    double-precision Euclidean sum
sartori    Sartori & Buriol PDPTW (OSRM minutes)  the file's minute matrix    sum of the minute matrix
=========  =====================================  ==========================  ===============================

Numbering: matrix index 0 is the depot and stop ``k`` has matrix index ``k + 1`` in file order, so
``node_of_stop[k]`` is the benchmark's customer number (depot 0, customers 1..n; VRPLIB node id minus 1;
the Sartori file's node id). Solution files (CVRPLIB ``.sol``, SINTEF ``Route k : ...``) use these node
numbers, and :meth:`BenchmarkInstance.cost` takes routes in them.

Any file may be gzip-compressed (the name ends in ``.gz``). Only the standard library and the copilot
core are used.

The package: :mod:`tools.instances.model` (the instance and its scoring), :mod:`tools.instances.files`
(reading files), :mod:`tools.instances.vrp` (Solomon, VRPLIB), :mod:`tools.instances.pdptw` (Li & Lim,
Sartori) and :mod:`tools.instances.solutions` (BKS and solution files).
"""

from __future__ import annotations

from pathlib import Path

from copilot.core.errors import InputError
from tools.instances.files import _Reader, instance_name
from tools.instances.model import FORMATS, HIERARCHICAL_VEHICLE_COST, LILIM_SCALE, SCALE, SOLOMON_SCALE, BenchmarkInstance
from tools.instances.pdptw import _read_lilim, _read_sartori
from tools.instances.solutions import load_bks, read_solution
from tools.instances.vrp import _read_solomon, _read_vrplib

__all__ = [
    "FORMATS",
    "HIERARCHICAL_VEHICLE_COST",
    "LILIM_SCALE",
    "SCALE",
    "SOLOMON_SCALE",
    "BenchmarkInstance",
    "instance_name",
    "load_bks",
    "read_instance",
    "read_solution",
]


def read_instance(path: Path, fmt: str) -> BenchmarkInstance:
    """Read one benchmark file. ``fmt`` is one of ``solomon``, ``vrplib``, ``lilim``, ``sartori``.

    Raises :class:`~copilot.core.errors.InputError` naming the file and line when the file is malformed.
    """
    path = Path(path)
    if fmt not in FORMATS:
        raise InputError(f"unknown benchmark format {fmt!r}; expected one of {', '.join(FORMATS)}")
    reader = _Reader(path)
    if fmt == "solomon":
        return _read_solomon(reader)
    if fmt == "vrplib":
        return _read_vrplib(reader)
    if fmt == "lilim":
        return _read_lilim(reader)
    return _read_sartori(reader)
