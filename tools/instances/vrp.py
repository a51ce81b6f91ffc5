"""The VRP sets: Solomon VRPTW (original text format) and CVRPLIB ``.vrp`` (EUC_2D, e.g. X)."""

from __future__ import annotations

from copilot.core.routing import FleetVehicle, Objective, RoutingProblem, Stop
from tools.instances.files import _check_ids, _euclid_matrix, _Reader, instance_name
from tools.instances.model import SOLOMON_SCALE, BenchmarkInstance, _dimacs10, _nint_euclid

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
