"""Best known solutions (``bks.csv``) and solution files (CVRPLIB ``.sol``, SINTEF ``Route k : ...``)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from copilot.core.errors import InputError
from tools.instances.files import _read_lines


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
