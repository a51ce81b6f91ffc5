"""How much OR-Tools' first-solution strategy decides the plan: each strategy on one world at several time limits.

::

    python bench/first_solution.py --world ../shared/eval/worlds/hangzhou-0501 --json results/first_solution.json

Backs the engine's choice of savings for problems without pickup-and-delivery pairs
(``OrToolsEngine._first_strategy``): one row per strategy and time limit with the total distance (km),
orders left out and wall time, all from the same routing problem the planner builds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from copilot.core.routing import SolveOptions, route_distance  # noqa: E402
from solvers.ortools_engine import OrToolsEngine  # noqa: E402
from tools.planning import PlanSettings, build_problem  # noqa: E402
from tools.world_io import read_world  # noqa: E402

STRATEGIES = ("SAVINGS", "PARALLEL_CHEAPEST_INSERTION", "LOCAL_CHEAPEST_INSERTION", "PATH_CHEAPEST_ARC")


def main() -> int:
    """Run every strategy at every limit and write the JSON rows."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--world", type=Path, required=True)
    ap.add_argument("--limits", default="1,5,10", help="comma-separated time limits in seconds")
    ap.add_argument("--json", type=Path, default=Path("results/first_solution.json"))
    args = ap.parse_args()
    problem = build_problem(read_world(args.world), PlanSettings()).problem
    rows = []
    for name in STRATEGIES:
        for limit in (float(x) for x in args.limits.split(",")):
            t0 = time.perf_counter()
            sol = OrToolsEngine(first_solution=name).solve(problem, SolveOptions(time_limit_s=limit))
            km = sum(route_distance(problem, i, r) for i, r in enumerate(sol.routes)) / 1000
            rows.append({"strategy": name, "time_limit_s": limit, "distance_km": round(km, 3), "dropped": len(sol.dropped),
                         "wall_s": round(time.perf_counter() - t0, 2)})
            print(json.dumps(rows[-1]), flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"world": args.world.name, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
