"""The pickup-and-delivery sets: Li & Lim PDPTW and Sartori & Buriol PDPTW (OSRM minutes)."""

from __future__ import annotations

import math

from copilot.core.routing import FleetVehicle, Objective, Pair, RoutingProblem, Stop
from tools.instances.files import _check_ids, _Reader, instance_name
from tools.instances.model import HIERARCHICAL_VEHICLE_COST, LILIM_SCALE, BenchmarkInstance

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
