"""Benchmark the project's solver against PyVRP, VROOM and the OR-Tools tutorial setup, at equal time.

::

    python bench/solvers/run.py --data ../shared/data --sets solomon,x,lilim,sartori --time-limit 10 \\
        --out results/solvers [--limit N] [--instances NAME,...] [--solvers ours,pyvrp,vroom,ortools_tutorial] [--resume]

Solvers run one at a time, in this process. Every result is scored the same way: routes are mapped to
benchmark node numbers, the distance is recomputed from the raw data under the set's published
convention (``BenchmarkInstance.cost``), and feasibility is checked by ``solvers.checker.check_solution``.
``results.csv`` grows one row at a time (a crash loses nothing; ``--resume`` skips rows already there),
and ``summary.md`` is rewritten from the whole CSV at the end. See ``bench/solvers/README.md``.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import math
import os
import platform
import re
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.solvers.baselines import SOLVERS, SolverRun, run_solver  # noqa: E402
from copilot.core.errors import InputError  # noqa: E402
from tools.instances import BenchmarkInstance, instance_name, load_bks, read_instance  # noqa: E402

check_solution: Callable[..., Sequence[object]] | None
try:
    from solvers.checker import check_solution
except ImportError:  # the checker is part of the project; guarded for partial checkouts
    check_solution = None

LILIM_CLASSES = ("lc1", "lc2", "lr1", "lr2", "lrc1", "lrc2")
LILIM_PICKS = (0, 4)  # the 1st and 5th instance of each class, by name


@dataclass(frozen=True)
class SetSpec:
    """Where a benchmark set lives under ``--data`` and how to read it."""

    key: str
    folder: str  # instance folder, relative to --data
    pattern: str
    fmt: str
    bks_folder: str  # folder holding bks.csv, relative to --data
    hierarchical: bool


SETS: dict[str, SetSpec] = {
    "solomon": SetSpec("solomon", "vrp/solomon", "*.txt", "solomon", "vrp/solomon", False),
    "x": SetSpec("x", "vrp/cvrp_x", "*.vrp", "vrplib", "vrp/cvrp_x", False),
    "lilim": SetSpec("lilim", "vrp/li_lim_100", "*.txt", "lilim", "vrp/li_lim_100", True),
    "sartori": SetSpec("sartori", "sartori_pdptw_osrm/instances", "*.txt.gz", "sartori", "sartori_pdptw_osrm", True),
    "abp": SetSpec("abp", "vrp/cvrp_abp", "*.vrp", "vrplib", "vrp/cvrp_abp", False),  # optional; not checked BKS
}
DEFAULT_SETS = ("solomon", "x", "lilim", "sartori")

COLUMNS = [
    "set",
    "instance",
    "solver",
    "engine",
    "status",
    "feasible",
    "violations",
    "first_violation",
    "served",
    "stops",
    "vehicles",
    "bks_vehicles",
    "vehicle_diff",
    "distance",
    "bks_distance",
    "gap_pct",
    "wall_s",
    "solver_s",
    "time_limit_s",
    "seed",
    "objective",
    "note",
]


def _natural(name: str) -> list[object]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def _size_then_name(name: str) -> tuple[int, list[object]]:
    m = re.search(r"-n(\d+)", name)
    return (int(m.group(1)) if m else 0, _natural(name))


def set_instances(data: Path, spec: SetSpec) -> list[Path]:
    """The instance files of a set, in run order (the Li & Lim set is a fixed 12-instance sample)."""
    folder = data / spec.folder
    if not folder.is_dir():
        raise InputError(f"set {spec.key}: folder {folder} not found (is --data the shared data folder?)")
    files = sorted(
        (p for p in folder.glob(spec.pattern) if p.is_file() and p.name != "bks.csv"), key=lambda p: _size_then_name(instance_name(p))
    )
    if spec.key != "lilim":
        return files
    by_class: dict[str, list[Path]] = {c: [] for c in LILIM_CLASSES}
    for p in files:
        m = re.fullmatch(r"(lrc|lc|lr)(\d)\d\d", instance_name(p))
        if m and m.group(1) + m.group(2) in by_class:
            by_class[m.group(1) + m.group(2)].append(p)
    picked = []
    for c in LILIM_CLASSES:
        members = sorted(by_class[c], key=lambda p: _natural(instance_name(p)))
        picked += [members[i] for i in LILIM_PICKS if i < len(members)]
    return picked


# ----------------------------------------------------------------------------------------------- scoring


def _fmt(x: float | None, digits: int = 4) -> str:
    if x is None:
        return ""
    x = round(x, digits) + 0.0  # + 0.0 turns -0.0 into 0.0
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.{digits}f}".rstrip("0").rstrip(".")


def score(
    set_key: str, inst: BenchmarkInstance, solver: str, run: SolverRun, bks: tuple[int, float] | None, time_limit: float, seed: int
) -> dict[str, str]:
    """One CSV row: the run recomputed and checked from the raw data."""
    p = inst.problem
    routes = [list(r) for r in run.routes]
    used = [r for r in routes if r]
    served = {i for r in routes for i in r}
    distance: float | None = None
    note = run.note
    if run.status == "ok":
        try:
            distance = inst.cost(inst.node_routes(used)) if all(0 <= i < len(p.stops) for i in served) else None
        except InputError as e:
            note = f"{note}; {e}".strip("; ")
    feasible = ""
    n_viol = ""
    first = ""
    if run.status == "ok" and check_solution is not None:
        per_vehicle = routes if solver == "ours" else used
        per_vehicle = per_vehicle + [[] for _ in range(len(p.vehicles) - len(per_vehicle))]
        violations = check_solution(p, per_vehicle)
        n_viol = str(len(violations))
        first = str(violations[0])[:200] if violations else ""
        feasible = "1" if not violations else "0"
    elif run.status != "ok":
        feasible = "0"
    bv, bd = bks if bks else (None, None)
    # BKS values are published to at most 4 decimals; compare at that precision
    gap = 100 * (round(distance, 4) - bd) / bd if distance is not None and bd else None
    return {
        "set": set_key,
        "instance": inst.name,
        "solver": solver,
        "engine": run.engine,
        "status": run.status,
        "feasible": feasible,
        "violations": n_viol,
        "first_violation": first,
        "served": str(len(served)),
        "stops": str(len(p.stops)),
        "vehicles": str(len(used)) if run.status == "ok" else "",
        "bks_vehicles": "" if bv is None else str(bv),
        "vehicle_diff": "" if bv is None or run.status != "ok" else str(len(used) - bv),
        "distance": _fmt(distance),
        "bks_distance": _fmt(bd),
        "gap_pct": _fmt(gap, 3),
        "wall_s": f"{run.wall_s:.2f}",
        "solver_s": "" if run.solver_s is None else f"{run.solver_s:.2f}",
        "time_limit_s": _fmt(float(time_limit)),
        "seed": str(seed),
        "objective": _fmt(run.objective, 1),
        "note": note.replace("\n", " ")[:300],
    }


# ----------------------------------------------------------------------------------------------- CSV


def read_rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def append_row(path: Path, row: dict[str, str]) -> None:
    new = not path.exists() or path.stat().st_size == 0
    with path.open("a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        if new:
            w.writeheader()
        w.writerow(row)
        f.flush()
        os.fsync(f.fileno())


# ----------------------------------------------------------------------------------------------- summary


def _num(s: str) -> float | None:
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def _mean(xs: Sequence[float]) -> str:
    return f"{statistics.fmean(xs):.2f}" if xs else "–"


def summarise(rows: list[dict[str, str]], header: str = "") -> str:
    """Markdown: per set x solver, instances, feasible count, gaps, wall time, vehicle excess."""
    sets = [k for k in SETS if any(r["set"] == k for r in rows)]
    solver_order = [s for s in SOLVERS if any(r["solver"] == s for r in rows)]
    out = [header] if header else []
    out.append(
        "| set | solver | instances | feasible | mean gap % | median gap % | mean gap % (common) | mean wall s | max wall s "
        "| mean vehicle excess | BKS vehicles reached |"
    )
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for k in sets:
        spec = SETS[k]
        in_set = [r for r in rows if r["set"] == k]
        solvers_here = [s for s in solver_order if any(r["solver"] == s for r in in_set)]
        # "common": instances where every solver in this set has a feasible row
        feas = {(r["instance"], r["solver"]) for r in in_set if r["feasible"] == "1"}
        names = {r["instance"] for r in in_set}
        common = {n for n in names if all((n, s) in feas for s in solvers_here)}
        for s in solvers_here:
            mine = [r for r in in_set if r["solver"] == s]
            ok = [r for r in mine if r["feasible"] == "1"]
            gaps = [g for r in ok if (g := _num(r["gap_pct"])) is not None]
            common_gaps = [g for r in ok if r["instance"] in common and (g := _num(r["gap_pct"])) is not None]
            walls = [w for r in mine if (w := _num(r["wall_s"])) is not None]
            if spec.hierarchical:
                diffs = [d for r in ok if (d := _num(r["vehicle_diff"])) is not None]
                excess = _mean(diffs)
                reached = f"{sum(1 for d in diffs if d <= 0)}/{len(ok)}"
            else:
                excess = reached = "–"
            med = f"{statistics.median(gaps):.2f}" if gaps else "–"
            common_txt = f"{_mean(common_gaps)} (n={len(common)})" if common_gaps else "–"
            max_wall = f"{max(walls):.2f}" if walls else "–"
            out.append(
                f"| {k} | {s} | {len(mine)} | {len(ok)} | {_mean(gaps)} | {med} | {common_txt} | {_mean(walls)} | {max_wall} | {excess} | {reached} |"
            )
    out.append("")
    out.append(
        "Gaps are 100 × (distance − BKS) / BKS over feasible runs, distance recomputed from the raw data under the set's "
        "published convention. *common*: only instances where every solver of that set was feasible. "
        "For lilim and sartori (fewest vehicles first), *vehicle excess* is vehicles used − BKS vehicles, and a distance "
        "gap with more vehicles than the BKS is not comparable to one with the same number."
    )
    return "\n".join(out) + "\n"


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for pkg in ("pyvrp", "pyvroom", "ortools"):
        try:
            parts.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            parts.append(f"{pkg} (not installed)")
    return ", ".join(parts)


# ----------------------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="the shared data folder (holds vrp/ and sartori_pdptw_osrm/)")
    ap.add_argument("--sets", default=",".join(DEFAULT_SETS), help=f"comma list of {', '.join(SETS)} (default {','.join(DEFAULT_SETS)})")
    ap.add_argument("--time-limit", type=float, default=10.0, help="seconds per instance and solver (default 10)")
    ap.add_argument("--out", type=Path, default=Path("results/solvers"), help="output folder for results.csv and summary.md")
    ap.add_argument("--limit", type=int, default=None, help="at most N instances per set (the first N in run order)")
    ap.add_argument("--instances", default="", help="comma list of instance names to run (within the chosen sets)")
    ap.add_argument("--solvers", default=",".join(SOLVERS), help=f"comma list of {', '.join(SOLVERS)}")
    ap.add_argument("--seed", type=int, default=1, help="seed for ours and PyVRP (VROOM and OR-Tools are deterministic)")
    ap.add_argument("--resume", action="store_true", help="keep results.csv and skip (instance, solver) rows already in it")
    ap.add_argument("--vroom-threads", type=int, default=1, help="VROOM threads (default 1: the other solvers use one core)")
    ap.add_argument("--vroom-exploration", type=int, default=5, help="VROOM exploration level (default 5, VROOM's own default)")
    return ap.parse_args(argv)


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sets = _split(args.sets)
    solvers = _split(args.solvers)
    for s in sets:
        if s not in SETS:
            raise SystemExit(f"unknown set {s!r}; choose from {', '.join(SETS)}")
    for s in solvers:
        if s not in SOLVERS:
            raise SystemExit(f"unknown solver {s!r}; choose from {', '.join(SOLVERS)}")
    if args.time_limit <= 0:
        raise SystemExit("--time-limit must be positive")
    if "ours" in solvers:
        try:
            importlib.import_module("solvers.auto")
        except ImportError as e:
            print(f"warning: the project's solver is not importable ({e}); skipping 'ours'", file=sys.stderr)
            solvers.remove("ours")
    if check_solution is None:
        print("warning: solvers.checker is not importable; the feasible column stays empty", file=sys.stderr)
    wanted = set(_split(args.instances))

    plan: list[tuple[SetSpec, Path]] = []
    for s in sets:
        spec = SETS[s]
        files = set_instances(args.data, spec)
        if wanted:
            files = [p for p in files if instance_name(p) in wanted]
        if args.limit is not None:
            files = files[: args.limit]
        plan += [(spec, p) for p in files]
    if wanted:
        missing = wanted - {instance_name(p) for _, p in plan}
        if missing:
            raise SystemExit(f"instances not found in sets {','.join(sets)}: {', '.join(sorted(missing))}")
    if not plan:
        raise SystemExit("nothing to run")

    args.out.mkdir(parents=True, exist_ok=True)
    csv_path = args.out / "results.csv"
    done: set[tuple[str, str, str]] = set()
    if args.resume:
        old = read_rows(csv_path)
        limits = {r["time_limit_s"] for r in old}
        if limits and limits != {_fmt(float(args.time_limit))}:
            raise SystemExit(f"{csv_path} holds runs with --time-limit {', '.join(sorted(limits))}; resume with the same limit")
        done = {(r["set"], r["instance"], r["solver"]) for r in old if r["status"] != "error"}
    elif csv_path.exists():
        backup = csv_path.with_suffix(".csv.bak")
        csv_path.replace(backup)
        print(f"note: previous {csv_path} moved to {backup} (use --resume to continue a run)", file=sys.stderr)

    bks_cache: dict[str, dict[str, tuple[int, float]]] = {}
    total = len(plan) * len(solvers)
    step = 0
    started = time.perf_counter()
    for spec, path in plan:
        if spec.key not in bks_cache:
            bks_cache[spec.key] = load_bks(args.data / spec.bks_folder)
        name = instance_name(path)
        todo = [s for s in solvers if (spec.key, name, s) not in done]
        if not todo:
            step += len(solvers)
            continue
        inst = read_instance(path, spec.fmt)
        bks = bks_cache[spec.key].get(inst.name)
        for solver in solvers:
            step += 1
            if solver not in todo:
                continue
            kw: dict[str, object] = {}
            if solver == "vroom":
                kw = {"threads": args.vroom_threads, "exploration": args.vroom_exploration}
            run = run_solver(solver, inst, args.time_limit, args.seed, **kw)
            row = score(spec.key, inst, solver, run, bks, args.time_limit, args.seed)
            append_row(csv_path, row)
            gap = f"gap {row['gap_pct']}%" if row["gap_pct"] else "gap –"
            veh = f"veh {row['vehicles'] or '–'}/{row['bks_vehicles'] or '?'}"
            feas = {"1": "feasible", "0": "INFEASIBLE", "": "unchecked"}[row["feasible"]]
            extra = (
                f" [{row['first_violation'] or row['note']}]" if row["feasible"] != "1" and (row["first_violation"] or row["note"]) else ""
            )
            print(
                f"[{step}/{total}] {spec.key}/{inst.name} {solver} ({row['engine']}): {row['status']} {feas} "
                f"dist {row['distance'] or '–'} {gap} {veh} {row['wall_s']}s{extra}",
                file=sys.stderr,
                flush=True,
            )

    rows = read_rows(csv_path)
    header = (
        f"# Solver benchmark\n\n"
        f"Command: `python {shlex.join(['bench/solvers/run.py', *(argv if argv is not None else sys.argv[1:])])}`  \n"
        f"Time limit {_fmt(float(args.time_limit))} s per instance and solver, seed {args.seed}, solvers run one at a time; "
        f"{platform.python_version()} on {platform.machine()} with {os.cpu_count()} CPUs; {_versions()}; "
        f"VROOM: exploration {args.vroom_exploration}, {args.vroom_threads} thread(s). "
        f"Run took {math.ceil(time.perf_counter() - started)} s.\n"
    )
    md = summarise(rows, header)
    (args.out / "summary.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
