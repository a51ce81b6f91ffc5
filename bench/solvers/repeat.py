"""Repeatability and time-limit check: solve each instance twice with the same seed, in two modes.

::

    python bench/solvers/repeat.py --data ../shared/data --world copilot/apps/demo/hangzhou-0501 \\
        --time-limit 5 --iterations 300 --out results/repeat.json

* time mode: stops at the wall-clock limit; reports wall / limit (the limit is honoured within 10%
  when the ratio is <= 1.10) and whether both runs gave the same routes;
* budget mode: stops after a fixed amount of search (``SolveOptions.iterations``); both runs must
  give the same routes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from copilot.core.routing import SolveOptions  # noqa: E402
from solvers.auto import AutoSolver  # noqa: E402
from solvers.checker import PlanChecker  # noqa: E402
from tools.instances import read_instance  # noqa: E402
from tools.planning import PlanningDeps, PlanSettings, plan_world  # noqa: E402
from tools.world_io import read_world  # noqa: E402

INSTANCES = (
    ("vrp/solomon/R201.txt", "solomon"),
    ("vrp/solomon/RC105.txt", "solomon"),
    ("vrp/cvrp_x/X-n101-k25.vrp", "vrplib"),
    ("vrp/li_lim_100/lr105.txt", "lilim"),
    ("sartori_pdptw_osrm/instances/bar-n100-1.txt.gz", "sartori"),
)


def main() -> int:
    """Run the check and write the JSON report."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="the shared data folder (vrp/, sartori_pdptw_osrm/)")
    ap.add_argument("--world", type=Path, required=True, help="a world folder to plan (e.g. the demo world)")
    ap.add_argument("--time-limit", type=float, default=5.0)
    ap.add_argument("--iterations", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("results/repeat.json"))
    args = ap.parse_args()
    rows = []
    solver = AutoSolver()
    for rel, fmt in INSTANCES:
        inst = read_instance(args.data / rel, fmt)
        for mode in ("time", "budget"):
            opts = SolveOptions(time_limit_s=args.time_limit if mode == "time" else 600.0, seed=args.seed,
                                iterations=args.iterations if mode == "budget" else None)
            runs = []
            for _ in range(2):
                t0 = time.perf_counter()
                sol = solver.solve(inst.problem, opts)
                runs.append((sol.routes, time.perf_counter() - t0, sol.engine))
            rows.append(_row(inst.name, mode, args.time_limit, runs))
            print(json.dumps(rows[-1]), file=sys.stderr)
    world = read_world(args.world)
    deps = PlanningDeps(solver, PlanChecker())
    for mode in ("time", "budget"):
        settings = PlanSettings(time_limit_s=args.time_limit if mode == "time" else 600.0, seed=args.seed,
                                iterations=args.iterations if mode == "budget" else None)
        runs = []
        for _ in range(2):
            t0 = time.perf_counter()
            plan = plan_world(world, deps, settings)
            runs.append((tuple(r.order_ids for r in plan.routes), time.perf_counter() - t0, plan.solver.split(" ")[0]))
        rows.append(_row(f"world:{world.name}", mode, args.time_limit, runs))
        print(json.dumps(rows[-1]), file=sys.stderr)
    timed = [r for r in rows if r["mode"] == "time"]
    report = {
        "time_limit_s": args.time_limit,
        "iterations": args.iterations,
        "max_wall_ratio_time_mode": max(r["max_wall_ratio"] for r in timed),
        "budget_mode_all_identical": all(r["identical"] for r in rows if r["mode"] == "budget"),
        "time_mode_identical": sum(r["identical"] for r in timed),
        "time_mode_runs": len(timed),
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps({k: v for k, v in report.items() if k != "rows"}, indent=2))
    return 0


def _row(name: str, mode: str, limit: float, runs: list[tuple[object, float, str]]) -> dict[str, object]:
    return {
        "instance": name,
        "mode": mode,
        "engine": runs[0][2],
        "identical": runs[0][0] == runs[1][0],
        "wall_s": [round(r[1], 3) for r in runs],
        "max_wall_ratio": round(max(r[1] for r in runs) / limit, 3) if mode == "time" else None,
    }


if __name__ == "__main__":
    raise SystemExit(main())
