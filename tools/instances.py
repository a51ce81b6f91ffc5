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
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from copilot.core.errors import InputError
from copilot.core.routing import FleetVehicle, Matrix, Objective, Pair, RoutingProblem, Stop

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


# --------------------------------------------------------------------------------------------- reading


def _read_lines(path: Path) -> list[str]:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read benchmark file ({e.strerror or e})") from e
    if path.name.endswith(".gz") or raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise InputError(f"{path}: not a valid gzip file ({e})") from e
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text.splitlines()


def instance_name(path: Path) -> str:
    """The instance name from its file name (``C101.txt`` -> ``C101``, ``bar-n100-1.txt.gz`` -> ``bar-n100-1``)."""
    name = path.name
    for suffix in (".gz", ".txt", ".vrp", ".TXT", ".VRP"):
        name = name.removesuffix(suffix)
    return name


class _Reader:
    """Helpers that name the file and line in every error."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines = _read_lines(path)

    def fail(self, lineno: int | None, msg: str) -> InputError:
        where = f"{self.path}:{lineno}" if lineno else str(self.path)
        return InputError(f"{where}: {msg}")

    def ints(self, lineno: int, fields: Sequence[str], what: str) -> list[int]:
        try:
            return [int(f) for f in fields]
        except ValueError:
            raise self.fail(lineno, f"expected integers for {what}, got {' '.join(fields)!r}") from None

    def nums(self, lineno: int, fields: Sequence[str], what: str) -> list[int | float]:
        try:
            return [_num(f) for f in fields]
        except ValueError:
            raise self.fail(lineno, f"expected numbers for {what}, got {' '.join(fields)!r}") from None


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


def _check_ids(r: _Reader, ids: Sequence[tuple[int, int]]) -> None:
    """Node ids must be 0..n in file order (so that node number = matrix index)."""
    for expected, (lineno, node_id) in enumerate(ids):
        if node_id != expected:
            raise r.fail(lineno, f"node id {node_id} out of order (expected {expected}; the depot is node 0, then 1..n)")


def _euclid_matrix(coords: Sequence[tuple[float, float]], arc: Callable[[float, float], int]) -> Matrix:
    """Square matrix of ``arc(dx, dy)``, zero on the diagonal."""
    return tuple(tuple(0 if i == j else arc(xi - xj, yi - yj) for j, (xj, yj) in enumerate(coords)) for i, (xi, yi) in enumerate(coords))


# ---------------------------------------------------------------------------------------------- Solomon


def _read_solomon(r: _Reader) -> BenchmarkInstance:
    lines = r.lines
    name = next((ln.strip() for ln in lines if ln.strip()), "") or instance_name(r.path)
    fleet: tuple[int, int] | None = None
    rows: list[tuple[int, list[int | float]]] = []
    state = "head"
    for no, line in enumerate(lines, start=1):
        fields = line.split()
        upper = line.strip().upper()
        if not fields:
            continue
        if upper.startswith("VEHICLE"):
            state = "vehicle"
            continue
        if upper.startswith("CUSTOMER"):
            state = "customer"
            continue
        if state == "vehicle":
            if fields[0].upper() == "NUMBER":
                continue
            if len(fields) != 2:
                raise r.fail(no, f"expected 'NUMBER CAPACITY' under VEHICLE, got {line.strip()!r}")
            k, q = r.ints(no, fields, "vehicle number and capacity")
            fleet = (k, q)
            state = "head"
        elif state == "customer":
            if fields[0].upper().startswith("CUST"):
                continue
            if len(fields) != 7:
                raise r.fail(no, f"expected 7 columns (id x y demand ready due service), got {len(fields)}")
            vals = r.nums(no, fields, "a customer row")
            for val in (vals[0], vals[3]):
                if not isinstance(val, int):
                    raise r.fail(no, "customer number and demand must be integers")
            rows.append((no, vals))
    if fleet is None:
        raise r.fail(None, "no VEHICLE block with NUMBER and CAPACITY")
    if len(rows) < 2:
        raise r.fail(None, "no CUSTOMER rows (need the depot and at least one customer)")
    _check_ids(r, [(no, int(v[0])) for no, v in rows])
    coords = tuple((v[1], v[2]) for _, v in rows)
    s = SOLOMON_SCALE

    def scaled(no: int, x: int | float) -> int:
        y = x * s
        if abs(y - round(y)) > 1e-6:
            raise r.fail(no, f"time value {x} has more than one decimal")
        return round(y)

    stops = []
    for no, v in rows[1:]:
        ready, due, service = scaled(no, v[4]), scaled(no, v[5]), scaled(no, v[6])
        if due < ready:
            raise r.fail(no, f"due date {v[5]} before ready time {v[4]}")
        if int(v[3]) < 0:
            raise r.fail(no, "negative demand")
        stops.append(Stop(id=str(v[0]), location=int(v[0]), delivery=int(v[3]), service=service, windows=((ready, due),)))
    dno, depot = rows[0]
    ready, due = scaled(dno, depot[4]), scaled(dno, depot[5])
    k, q = fleet
    vehicles = tuple(FleetVehicle(id=f"v{i}", start=0, end=0, capacity=q, ready=ready, latest_end=due) for i in range(k))
    dist = _euclid_matrix(coords, _dimacs10)
    problem = RoutingProblem(
        distance=dist,
        durations=(dist,),
        stops=tuple(stops),
        vehicles=vehicles,
        objective=Objective.DISTANCE,
        name=name,
        meta={"format": "solomon", "scale": s, "source": str(r.path)},
    )
    return BenchmarkInstance(name, "solomon", problem, tuple(range(1, len(rows))), coords, r.path)


# ----------------------------------------------------------------------------------------------- VRPLIB


def _read_vrplib(r: _Reader) -> BenchmarkInstance:
    header: dict[str, str] = {}
    coords_rows: list[tuple[int, list[int | float]]] = []
    demand_rows: list[tuple[int, list[int]]] = []
    depots: list[int] = []
    section = ""
    for no, line in enumerate(r.lines, start=1):
        text = line.strip()
        if not text:
            continue
        upper = text.upper()
        if upper == "EOF":
            break
        if upper.endswith("_SECTION"):
            section = upper
            if section not in ("NODE_COORD_SECTION", "DEMAND_SECTION", "DEPOT_SECTION"):
                raise r.fail(no, f"unsupported section {text!r} (only NODE_COORD, DEMAND and DEPOT sections are read)")
            continue
        if ":" in text and not section:
            key, _, value = text.partition(":")
            header[key.strip().upper()] = value.strip()
            continue
        fields = text.split()
        if section == "NODE_COORD_SECTION":
            if len(fields) != 3:
                raise r.fail(no, f"expected 'id x y' in NODE_COORD_SECTION, got {text!r}")
            coords_rows.append((no, r.nums(no, fields, "a coordinate row")))
        elif section == "DEMAND_SECTION":
            if len(fields) != 2:
                raise r.fail(no, f"expected 'id demand' in DEMAND_SECTION, got {text!r}")
            demand_rows.append((no, r.ints(no, fields, "a demand row")))
        elif section == "DEPOT_SECTION":
            (d,) = r.ints(no, fields[:1], "a depot id")
            if d == -1:
                section = "done"
            else:
                depots.append(d)
        elif section == "done":
            raise r.fail(no, f"unexpected line after DEPOT_SECTION: {text!r}")
        else:
            raise r.fail(no, f"expected 'KEY : value' in the header, got {text!r}")
    ewt = header.get("EDGE_WEIGHT_TYPE", "")
    if ewt != "EUC_2D":
        raise r.fail(None, f"EDGE_WEIGHT_TYPE {ewt or '(missing)'} is not supported (only EUC_2D)")
    try:
        capacity = int(header["CAPACITY"])
        dimension = int(header["DIMENSION"])
    except (KeyError, ValueError):
        raise r.fail(None, "header needs integer DIMENSION and CAPACITY") from None
    if len(coords_rows) != dimension or len(demand_rows) != dimension:
        raise r.fail(None, f"DIMENSION is {dimension} but there are {len(coords_rows)} coordinates and {len(demand_rows)} demands")
    if depots != [1]:
        raise r.fail(None, f"only a single depot with node id 1 is supported (DEPOT_SECTION gives {depots})")
    _check_ids(r, [(no, int(v[0]) - 1) for no, v in coords_rows])
    _check_ids(r, [(no, v[0] - 1) for no, v in demand_rows])
    coords = tuple((v[1], v[2]) for _, v in coords_rows)
    stops = []
    for no, (node_id, demand) in demand_rows[1:]:
        if demand < 0:
            raise r.fail(no, "negative demand")
        stops.append(Stop(id=str(node_id - 1), location=node_id - 1, delivery=demand))
    if demand_rows[0][1][1] != 0:
        raise r.fail(demand_rows[0][0], "the depot must have demand 0")
    name = header.get("NAME", "") or instance_name(r.path)
    vehicles = tuple(FleetVehicle(id=f"v{i}", start=0, end=0, capacity=capacity) for i in range(len(stops)))
    dist = _euclid_matrix(coords, _nint_euclid)
    problem = RoutingProblem(
        distance=dist,
        durations=(dist,),
        stops=tuple(stops),
        vehicles=vehicles,
        objective=Objective.DISTANCE,
        name=name,
        meta={"format": "vrplib", "scale": 1, "source": str(r.path)},
    )
    return BenchmarkInstance(name, "vrplib", problem, tuple(range(1, dimension)), coords, r.path)


# ---------------------------------------------------------------------------------------------- Li & Lim


def _ceil_scaled(x: float, scale: int) -> int:
    return math.ceil(scale * x - 1e-9)


def _read_lilim(r: _Reader) -> BenchmarkInstance:
    rows: list[tuple[int, list[int | float]]] = []
    head: tuple[int, list[int | float]] | None = None
    for no, line in enumerate(r.lines, start=1):
        fields = line.split()
        if not fields:
            continue
        if head is None:
            if len(fields) != 3:
                raise r.fail(no, f"first line must be 'vehicles capacity speed', got {line.strip()!r}")
            head = (no, r.nums(no, fields, "the header"))
            continue
        if len(fields) != 9:
            raise r.fail(no, f"expected 9 columns (id x y demand ready due service pickup delivery), got {len(fields)}")
        vals = r.nums(no, fields, "a task row")
        for col in (0, 3, 7, 8):
            if not isinstance(vals[col], int):
                raise r.fail(no, "id, demand and pickup/delivery ids must be integers")
        rows.append((no, vals))
    if head is None or len(rows) < 3:
        raise r.fail(None, "need the header line, the depot row and at least one pickup-delivery pair")
    # The third header field ("speed") is 0 in some files of the set; travel time equals distance (speed 1) throughout.
    hno, (k, q, _speed) = head
    if not isinstance(k, int) or not isinstance(q, int) or k <= 0 or q < 0:
        raise r.fail(hno, "header needs a positive integer vehicle count and a non-negative integer capacity")
    _check_ids(r, [(no, int(v[0])) for no, v in rows])
    coords = tuple((v[1], v[2]) for _, v in rows)
    s = LILIM_SCALE
    n = len(coords)
    dist: list[tuple[int, ...]] = []
    dur: list[tuple[int, ...]] = []
    for i, (xi, yi) in enumerate(coords):
        drow, trow = [], []
        for j, (xj, yj) in enumerate(coords):
            e = 0.0 if i == j else math.sqrt((xi - xj) ** 2 + (yi - yj) ** 2)
            drow.append(round(s * e))
            trow.append(_ceil_scaled(e, s))
        dist.append(tuple(drow))
        dur.append(tuple(trow))

    def scaled(no: int, x: int | float) -> int:
        y = x * s
        if abs(y - round(y)) > 1e-6:
            raise r.fail(no, f"time value {x} has more than three decimals")
        return round(y)

    stops: list[Stop] = []
    pairs: list[Pair] = []
    for no, v in rows[1:]:
        node, demand, pick_id, deliv_id = int(v[0]), int(v[3]), int(v[7]), int(v[8])
        ready, due, service = scaled(no, v[4]), scaled(no, v[5]), scaled(no, v[6])
        if due < ready:
            raise r.fail(no, f"due time {v[5]} before ready time {v[4]}")
        if pick_id == 0 and deliv_id != 0:  # a pickup naming its delivery
            if demand < 0:
                raise r.fail(no, "a pickup (pickup id 0) must have a non-negative demand")
            if not 0 < deliv_id < n:
                raise r.fail(no, f"delivery id {deliv_id} is not a node")
            dno, dv = rows[deliv_id]
            if int(dv[7]) != node or int(dv[3]) != -demand:
                raise r.fail(dno, f"delivery {deliv_id} does not point back to pickup {node} with demand {-demand}")
            stops.append(Stop(id=str(node), location=node, pickup=demand, service=service, windows=((ready, due),)))
            pairs.append(Pair(pickup=node - 1, delivery=deliv_id - 1))
        elif deliv_id == 0 and pick_id != 0:  # a delivery naming its pickup
            if demand > 0:
                raise r.fail(no, "a delivery (delivery id 0) must have a non-positive demand")
            if not 0 < pick_id < n or int(rows[pick_id][1][8]) != node:
                raise r.fail(no, f"pickup {pick_id} does not name this delivery {node}")
            stops.append(Stop(id=str(node), location=node, delivery=-demand, service=service, windows=((ready, due),)))
        else:
            raise r.fail(no, f"node {node} is neither a pickup (0 d) nor a delivery (p 0): pickup/delivery ids {pick_id} {deliv_id}")
    dno, depot = rows[0]
    ready, due = scaled(dno, depot[4]), scaled(dno, depot[5])
    vc = HIERARCHICAL_VEHICLE_COST
    vehicles = tuple(FleetVehicle(id=f"v{i}", start=0, end=0, capacity=q, ready=ready, latest_end=due) for i in range(k))
    name = instance_name(r.path)
    problem = RoutingProblem(
        distance=tuple(dist),
        durations=(tuple(dur),),
        stops=tuple(stops),
        vehicles=vehicles,
        pairs=tuple(sorted(pairs, key=lambda p: p.pickup)),
        objective=Objective.VEHICLES_THEN_DISTANCE,
        vehicle_cost=vc,
        name=name,
        meta={"format": "lilim", "scale": s, "source": str(r.path)},
    )
    return BenchmarkInstance(name, "lilim", problem, tuple(range(1, n)), coords, r.path)


# ---------------------------------------------------------------------------------------------- Sartori


def _read_sartori(r: _Reader) -> BenchmarkInstance:
    header: dict[str, str] = {}
    nodes: list[tuple[int, list[int | float]]] = []
    matrix: list[tuple[int, ...]] = []
    section = "header"
    seen_eof = False
    for no, line in enumerate(r.lines, start=1):
        text = line.strip()
        if not text:
            continue
        upper = text.upper()
        if upper == "NODES":
            section = "nodes"
            continue
        if upper == "EDGES":
            section = "edges"
            continue
        if upper == "EOF":
            seen_eof = True
            break
        if section == "header":
            key, sep, value = text.partition(":")
            if not sep:
                raise r.fail(no, f"expected 'KEY: value' in the header, got {text!r}")
            header[key.strip().upper()] = value.strip()
        elif section == "nodes":
            fields = text.split()
            if len(fields) != 9:
                raise r.fail(no, f"expected 9 columns (id lat lon demand etw ltw service pickup delivery), got {len(fields)}")
            vals = r.nums(no, fields, "a node row")
            for col in (0, 3, 4, 5, 6, 7, 8):
                if not isinstance(vals[col], int):
                    raise r.fail(no, "id, demand, times and pair ids must be integers")
            nodes.append((no, vals))
        else:
            row = r.ints(no, text.split(), "a row of EDGES")
            if len(row) != len(nodes):
                raise r.fail(no, f"EDGES row has {len(row)} entries, expected {len(nodes)} (one per node)")
            if any(x < 0 for x in row):
                raise r.fail(no, "negative travel time")
            matrix.append(tuple(row))
    if not seen_eof:
        raise r.fail(None, "missing EOF (file truncated?)")
    try:
        size = int(header["SIZE"])
        capacity = int(header["CAPACITY"])
        route_time = int(header["ROUTE-TIME"])
    except (KeyError, ValueError):
        raise r.fail(None, "header needs integer SIZE, CAPACITY and ROUTE-TIME") from None
    if len(nodes) != size:
        raise r.fail(None, f"SIZE is {size} but NODES has {len(nodes)} rows")
    if len(matrix) != size:
        raise r.fail(None, f"SIZE is {size} but EDGES has {len(matrix)} rows")
    if size < 3 or (size - 1) % 2:
        raise r.fail(None, f"SIZE {size} must be 1 + an even number of nodes")
    _check_ids(r, [(no, int(v[0])) for no, v in nodes])
    half = (size - 1) // 2
    stops: list[Stop] = []
    pairs: list[Pair] = []
    for no, v in nodes[1:]:
        node, demand, etw, ltw, service, pick_id, deliv_id = (int(x) for x in (v[0], v[3], v[4], v[5], v[6], v[7], v[8]))
        if ltw < etw:
            raise r.fail(no, f"time window ends ({ltw}) before it starts ({etw})")
        if service < 0:
            raise r.fail(no, "negative service time")
        if node <= half:
            if pick_id != 0 or deliv_id != node + half or demand < 0:
                raise r.fail(no, f"pickup {node} should name delivery {node + half} (columns 0 {node + half}) with demand >= 0")
            stops.append(Stop(id=str(node), location=node, pickup=demand, service=service, windows=((etw, ltw),)))
            pairs.append(Pair(pickup=node - 1, delivery=node + half - 1))
        else:
            if deliv_id != 0 or pick_id != node - half or demand > 0:
                raise r.fail(no, f"delivery {node} should name pickup {node - half} (columns {node - half} 0) with demand <= 0")
            if int(nodes[node - half][1][3]) != -demand:
                raise r.fail(no, f"delivery demand {demand} does not match pickup {node - half}")
            stops.append(Stop(id=str(node), location=node, delivery=-demand, service=service, windows=((etw, ltw),)))
    dno, depot = nodes[0]
    ready = int(depot[4])
    if route_time < ready:
        raise r.fail(dno, f"ROUTE-TIME {route_time} before the depot opens at {ready}")
    vc = HIERARCHICAL_VEHICLE_COST
    vehicles = tuple(
        FleetVehicle(id=f"v{i}", start=0, end=0, capacity=capacity, ready=ready, latest_end=route_time) for i in range(half)
    )
    m = tuple(tuple(0 if i == j else x for j, x in enumerate(row)) for i, row in enumerate(matrix))
    name = header.get("NAME", "") or instance_name(r.path)
    problem = RoutingProblem(
        distance=m,
        durations=(m,),
        stops=tuple(stops),
        vehicles=vehicles,
        pairs=tuple(pairs),
        objective=Objective.VEHICLES_THEN_DISTANCE,
        vehicle_cost=vc,
        name=name,
        meta={"format": "sartori", "scale": 1, "source": str(r.path), "location": header.get("LOCATION", "")},
    )
    coords = tuple((v[1], v[2]) for _, v in nodes)
    return BenchmarkInstance(name, "sartori", problem, tuple(range(1, size)), coords, r.path, raw_matrix=tuple(matrix))


# ------------------------------------------------------------------------------------------ BKS and solutions


def load_bks(set_dir: Path) -> dict[str, tuple[int, float]]:
    """``{instance: (vehicles, distance)}`` from ``set_dir/bks.csv``.

    Accepts the VRP sets' ``instance,vehicles,distance,...`` and Sartori's ``instance;size;vehicles;cost;...``.
    """
    path = Path(set_dir) / "bks.csv"
    lines = _read_lines(path)
    if not lines:
        raise InputError(f"{path}: empty BKS file")
    delim = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.reader(io.StringIO("\n".join(lines)), delimiter=delim)
    head = [h.strip().lower() for h in next(reader)]
    try:
        i_name = head.index("instance")
        i_veh = head.index("vehicles")
        i_dist = head.index("distance") if "distance" in head else head.index("cost")
    except ValueError:
        raise InputError(f"{path}:1: header needs instance, vehicles and distance (or cost) columns, got {head}") from None
    out: dict[str, tuple[int, float]] = {}
    for no, row in enumerate(reader, start=2):
        if not row or not "".join(row).strip():
            continue
        try:
            out[row[i_name].strip()] = (int(row[i_veh]), float(row[i_dist]))
        except (IndexError, ValueError):
            raise InputError(f"{path}:{no}: expected an instance name, an integer vehicle count and a number, got {row}") from None
    return out


_ROUTE_RE = re.compile(r"^\s*Route\s*#?\s*\d+\s*:(.*)$", re.IGNORECASE)


def read_solution(path: Path) -> tuple[list[list[int]], float | None]:
    """Routes (node numbers, depot implicit) and the stated cost from a CVRPLIB ``.sol`` or SINTEF solution file.

    CVRPLIB: ``Route #k: ...`` lines and ``Cost N``. SINTEF (Li & Lim, Sartori): a header, ``Solution``, then
    ``Route k : ...``; the cost is not in the file (it is in the file name), so ``None`` is returned for it.
    """
    path = Path(path)
    routes: list[list[int]] = []
    cost: float | None = None
    for no, line in enumerate(_read_lines(path), start=1):
        m = _ROUTE_RE.match(line)
        if m:
            try:
                routes.append([int(x) for x in m.group(1).split()])
            except ValueError:
                raise InputError(f"{path}:{no}: route must list integer node numbers, got {line.strip()!r}") from None
        elif line.strip().lower().startswith("cost"):
            try:
                cost = float(line.split()[1])
            except (IndexError, ValueError):
                raise InputError(f"{path}:{no}: expected 'Cost <number>', got {line.strip()!r}") from None
    if not routes:
        raise InputError(f"{path}: no 'Route' lines found")
    return routes, cost
