"""Scenario run time: the same scenario sequentially and on a local process pool, in one run, and their ratio.

::

    python bench/scenario_speed.py --file bench/scenarios/hangzhou-8.yaml --json bench/results/scenario_speed.json

Steps: the scenario is resolved once (its forecast_day changes become resample_orders changes; reported
as ``resolve_s``, not part of either timing), one plan of the base world warms up the solvers in this
process (the pool's forked workers inherit that), then the resolved scenario runs with
``executor="sequential"`` and with ``executor="process"`` on ``--workers`` processes (default 2), each timed
around the whole :func:`copilot.apps.scenario.run_scenarios` call (no output files). ``ratio`` is process
seconds / sequential seconds (target <= 0.6 on 2 cores). With a work budget (``iterations``) both runs
must give the same numbers; ``same_numbers`` says whether they did. The load average before and after is
recorded: other work on the machine slows the pool more than the sequential run. ``schedule_bound_s`` is
what the pool would take with ``--workers`` free cores, replaying its queue with the sequential per-plan
seconds (a model, not a measurement: it shows whether a slow pool run was starved of CPU).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from copilot.apps.scenario import BASE, Scenario, load_base_world, resolve_scenario, run_scenarios  # noqa: E402
from copilot.apps.scenario.executors import _Job, _run_job  # noqa: E402

TARGET = 0.6


def schedule_bound(seconds: dict[str, float], independent: list[str], after_base: list[str], workers: int) -> float:
    """The pool's wall time if each plan took its sequential seconds and every worker had a free core.

    Plays the pool's own order: the base and the variants without a time are queued first, the timed
    variants join the queue when the base is done; a free worker takes the next queued plan.
    """
    free = [0.0] * workers
    queue = [BASE, *independent]
    waiting = list(after_base)
    base_done = math.inf  # known once the base is assigned (it is first in the queue)
    for _ in range(1 + len(independent) + len(after_base)):
        w = min(range(workers), key=lambda i: free[i])
        t = free[w]
        if waiting and (base_done <= t or not queue):  # timed variants join the queue when the base is done
            t = max(t, base_done)
            queue.extend(waiting)
            waiting = []
        name = queue.pop(0)
        free[w] = t + seconds[name]
        if name == BASE:
            base_done = free[w]
    return max(free)


def main() -> int:
    """Run the scenario both ways and write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--file", type=Path, required=True, help="scenario YAML file")
    ap.add_argument("--json", type=Path, default=Path("bench/results/scenario_speed.json"))
    ap.add_argument("--workers", type=int, default=2, help="pool processes (default 2)")
    ap.add_argument("--world", help="base world folder or stored name instead of the file's")
    args = ap.parse_args()

    started = datetime.now(UTC).isoformat(timespec="seconds")
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    scenario = Scenario.from_yaml(args.file, world=Path(args.world).resolve() if args.world and Path(args.world).is_dir() else args.world)
    resolved, forecasts = resolve_scenario(scenario)
    resolve_s = time.perf_counter() - t0
    world = load_base_world(resolved).world
    t0 = time.perf_counter()
    _run_job(_Job(BASE, world, (), resolved.planning.settings()))
    warm_up_s = time.perf_counter() - t0
    print(f"resolved in {resolve_s:.1f} s, warm-up plan {warm_up_s:.1f} s; {len(resolved.variants)} variants + base", file=sys.stderr)

    runs = {}
    for executor, workers in (("sequential", 1), ("process", args.workers)):
        t0 = time.perf_counter()
        report = run_scenarios(resolved, executor, workers)  # type: ignore[arg-type]
        wall = time.perf_counter() - t0
        runs[executor] = (wall, report)
        print(f"{executor:<10} {wall:6.1f} s  ({report.run.worker_pids} process(es))", file=sys.stderr)
    seq_s, seq = runs["sequential"]
    pool_s, pool = runs["process"]
    same = [r.kpis for r in seq.rows] == [r.kpis for r in pool.rows]
    ratio = pool_s / seq_s
    bound = schedule_bound(
        {r.variant: r.solve_s for r in seq.rows}, [v.name for v in resolved.variants if v.at is None], [v.name for v in resolved.variants if v.at], args.workers
    )
    doc = {
        "file": str(args.file),
        "world": seq.world,
        "variants": len(resolved.variants),
        "plans": len(seq.rows),
        "planning": resolved.planning.model_dump(),
        "workers": args.workers,
        "sequential_s": round(seq_s, 2),
        "process_s": round(pool_s, 2),
        "ratio": round(ratio, 3),
        "target": TARGET,
        "meets_target": ratio <= TARGET,
        "same_numbers": same,
        "schedule_bound_s": round(bound, 2),
        "schedule_bound_ratio": round(bound / seq_s, 3),
        "sum_of_plan_s": round(sum(r.solve_s for r in seq.rows), 2),
        "resolve_s": round(resolve_s, 2),
        "warm_up_s": round(warm_up_s, 2),
        "per_plan_s": {r.variant: {"sequential": r.solve_s, "process": p.solve_s} for r, p in zip(seq.rows, pool.rows, strict=True)},
        "rows": [
            {"variant": r.variant, "vehicles_used": r.kpis.vehicles_used, "km": r.kpis.total_distance_km, "unassigned": r.kpis.unassigned_count}
            for r in seq.rows
            if r.kpis
        ],
        "forecasts": {k: [f.words for f in v] for k, v in forecasts.items()},
        "cpu_count": os.cpu_count(),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "started": started,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(f"sequential {seq_s:.1f} s, process pool ({args.workers}) {pool_s:.1f} s: ratio {ratio:.2f} (target <= {TARGET}); same numbers: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
