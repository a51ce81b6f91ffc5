"""Realistic-world benchmark: ours, VROOM and PyVRP on worlds generated from the LaDe-P slices.

::

    python bench/realistic/run.py --data ../shared/data/lade_pickup_day_slices --limits 5,30 \\
        --out bench/results/realistic [--worlds 0,3] [--solvers ours,vroom,pyvrp] [--vroom-threads 2]

Every solver gets the same routing problem (``tools.planning.build_problem`` of the generated world; at
12:00 with the vans under way for the mid-day worlds, see ``worlds.py``) and the same wall time. Each
result is re-checked by the independent checker (``solvers.checker.check_solution``); a plan with a
violation counts as serving nothing. Ranking: orders served, then distance (problem matrix metres). The
command writes ``results.csv`` (one row per world, limit and solver) and ``summary.md`` into ``--out``
and prints progress on stderr.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT, ROOT / "bench" / "realistic"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from peers import SOLVERS, Run  # noqa: E402
from worlds import STANDARD, WorldSpec, build_world, committed, noon, read_rows  # noqa: E402

from copilot.core.routing import RoutingProblem, route_distance  # noqa: E402
from solvers.checker import PlanChecker, check_solution  # noqa: E402
from tools.planning import PlanningDeps, PlanSettings, build_problem, plan_world  # noqa: E402

FIELDS = ["world", "city", "stops", "depots", "vehicles", "midday", "limit_s", "solver", "engine", "status", "served", "unassigned",
          "distance_km", "wall_s", "violations", "note"]


def world_problem(spec: WorldSpec, rows: dict[str, list[dict[str, str]]]) -> RoutingProblem:
    """The benchmark problem of ``spec``: the whole day, or the 12:00 re-plan of a committed 5 s plan."""
    from solvers.auto import AutoSolver

    world = build_world(spec, rows)
    settings = PlanSettings(time_limit_s=5.0, seed=1, move_penalty_m=0)
    if not spec.midday:
        return build_problem(world, settings).problem
    morning = plan_world(world, PlanningDeps(AutoSolver(), PlanChecker()), settings)
    return build_problem(world, settings, clock=noon(world), committed=committed(morning), warm_start=False).problem


def score(problem: RoutingProblem, run: Run) -> dict[str, object]:
    if run.status != "ok":
        return {"served": "", "unassigned": "", "distance_km": "", "violations": ""}
    problems = check_solution(problem, run.routes)
    served = sum(len(r) for r in run.routes)
    dist = sum(route_distance(problem, vi, seq) for vi, seq in enumerate(run.routes))
    if problems:
        run.note = (run.note + "; " if run.note else "") + "; ".join(map(str, problems[:3]))
        served = 0
    return {"served": served, "unassigned": len(problem.stops) - served, "distance_km": round(dist / 1000, 2), "violations": len(problems)}


def summarise(rows: list[dict[str, object]], limits: list[float]) -> str:
    out = ["# Realistic worlds from LaDe-P: ours vs VROOM vs PyVRP", "",
           "Served orders / km (problem matrix distance). `n/a`: the model does not fit that solver. "
           "Ranking: served, then distance.", ""]
    for limit in limits:
        at = [r for r in rows if float(r["limit_s"]) == limit]
        worlds = list(dict.fromkeys(str(r["world"]) for r in at))
        out += [f"## {limit:g} s", "", "| world | stops | vehicles | ours | VROOM | PyVRP | ours vs VROOM |", "|---|---|---|---|---|---|---|"]
        ge = better_km = n = 0
        for w in worlds:
            cell = {str(r["solver"]): r for r in at if r["world"] == w}
            ref = next(iter(cell.values()))

            def fmt(s: str, cell: dict[str, dict[str, object]] = cell) -> str:
                r = cell.get(s)
                if r is None:
                    return "-"
                return f"{r['served']} / {r['distance_km']}" if r["status"] == "ok" else str(r["status"])

            verdict = ""
            o, v = cell.get("ours"), cell.get("vroom")
            if o and v and o["status"] == v["status"] == "ok":
                n += 1
                so, sv = int(o["served"]), int(v["served"])  # type: ignore[call-overload]
                ko, kv = float(o["distance_km"]), float(v["distance_km"])  # type: ignore[arg-type]
                ge += so >= sv
                better_km += so > sv or (so == sv and ko <= kv * 1.01)
                verdict = f"served {so - sv:+d}, km {100 * (ko - kv) / kv:+.1f} %" if kv else f"served {so - sv:+d}"
            out.append(f"| {w} | {ref['stops']} | {ref['vehicles']} | {fmt('ours')} | {fmt('vroom')} | {fmt('pyvrp')} | {verdict} |")
        out += ["", f"Ours serves at least VROOM's count on **{ge} of {n}** worlds; serves more, or as many within "
                f"+1 % of VROOM's distance, on **{better_km} of {n}**.", ""]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="lade_pickup_day_slices folder (or its pickups.csv.gz)")
    ap.add_argument("--limits", default="5,30", help="wall-time limits in seconds, comma-separated")
    ap.add_argument("--out", type=Path, default=Path("bench/results/realistic"))
    ap.add_argument("--worlds", default="", help="indices into the standard twelve (default all)")
    ap.add_argument("--solvers", default="ours,vroom,pyvrp")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--vroom-threads", type=int, default=2)
    ap.add_argument("--vroom-exploration", type=int, default=5)
    args = ap.parse_args(argv)
    limits = [float(x) for x in args.limits.split(",")]
    solvers = [s for s in args.solvers.split(",") if s]
    for s in solvers:
        if s not in SOLVERS:
            ap.error(f"unknown solver {s!r}; expected some of {', '.join(SOLVERS)}")
    specs = [STANDARD[int(i)] for i in args.worlds.split(",")] if args.worlds else list(STANDARD)
    rows_by_city = read_rows(args.data)
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, object]] = []
    total = len(specs) * len(limits) * len(solvers)
    k = 0
    with open(args.out / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, FIELDS)
        writer.writeheader()
        for spec in specs:
            t0 = time.perf_counter()
            problem = world_problem(spec, rows_by_city)
            print(f"{spec.name}: {len(problem.stops)} stops, {len(problem.vehicles)} vehicles, built in {time.perf_counter() - t0:.1f} s",
                  file=sys.stderr, flush=True)
            for limit in limits:
                for s in solvers:
                    k += 1
                    try:
                        run = SOLVERS[s](problem, limit, args.seed, threads=args.vroom_threads, exploration=args.vroom_exploration)
                    except Exception as e:  # a solver that raises is reported, and the run goes on
                        run = Run(status="error", note=f"{type(e).__name__}: {e}")
                    row: dict[str, object] = {
                        "world": spec.name, "city": spec.city, "stops": len(problem.stops), "depots": spec.depots,
                        "vehicles": len(problem.vehicles), "midday": spec.midday, "limit_s": limit, "solver": s, "engine": run.engine,
                        "status": run.status, "wall_s": round(run.wall_s, 2), **score(problem, run), "note": run.note[:300],
                    }
                    rows.append(row)
                    writer.writerow(row)
                    f.flush()
                    print(f"[{k}/{total}] {spec.name} {limit:g}s {s}: {row['status']} served {row['served']} km {row['distance_km']} "
                          f"wall {row['wall_s']} {row['note'][:120] if row['note'] else ''}", file=sys.stderr, flush=True)
    summary = summarise(rows, limits)
    (args.out / "summary.md").write_text(summary)
    (args.out / "worlds.txt").write_text("\n".join(str(asdict(s)) for s in specs) + "\n")
    print(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
