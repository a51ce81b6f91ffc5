"""Scale benchmark: plan one LaDe-P city day at growing sizes, up to the whole day (Chongqing, 1,470 stops).

::

    python bench/realistic/scale.py --data ../shared/data/lade_pickup_day_slices --out bench/results/realistic \\
        [--sizes 150,300,600,1000,1470] [--time-limit 50] [--vroom-limit 60]

Each size is a generated world (``worlds.WorldSpec``: Chongqing, 3 depots, one van per ~41 stops, so the
whole day has 36 vans, bulky and cold skills) planned the way ``logistics-copilot plan`` plans it
(``tools.planning.plan_world``: build the problem, solve, time the routes, independent check) in a fresh
process, which reports its wall time and peak memory: ``ru_maxrss`` of the planner and of the portfolio's forked
second search (they overlap in time and share the pages the fork copied, so their sum is an upper bound), and the
peak of the two processes' summed PSS (``/proc/<pid>/smaps_rollup``, sampled every 0.2 s; a page shared by the
two counts half in each), which is what the pair really holds. VROOM then solves the same routing problem
(2 threads, exploration 5) with ``--vroom-limit`` seconds. Writes ``scale.csv`` and ``scale.md``.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import resource
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT, ROOT / "bench" / "realistic"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from worlds import WorldSpec  # noqa: E402

if TYPE_CHECKING:
    from copilot.core.routing import RoutingProblem


def _spec(size: int, seed: int) -> WorldSpec:
    return WorldSpec("Chongqing", size, 1 if size < 300 else 3, seed, stops_per_van=41.0)


def _pss_kb(pid: int) -> int:
    """Proportional set size of ``pid`` in KiB (0 when it is gone or the kernel has no smaps_rollup)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (read from /proc/*/stat: not every kernel has task/*/children)."""
    kids: list[int] = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            after_name = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(after_name[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


class PssPeak:
    """Samples this process's PSS plus its children's every ``every`` seconds and keeps the peak (MiB)."""

    def __init__(self, every: float = 0.2) -> None:
        self.every = every
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, _pss_kb(me) + sum(_pss_kb(k) for k in _children(me)))
            self._stop.wait(self.every)

    def __enter__(self) -> PssPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> int:
        return round(self.peak_kb / 1024)


def _ours(size: int, seed: int, limit: float, data: str, out: multiprocessing.connection.Connection) -> None:
    from worlds import build_world, read_rows

    from solvers.auto import AutoSolver
    from solvers.checker import PlanChecker
    from tools.planning import PlanningDeps, PlanSettings, build_problem, plan_world

    world = build_world(_spec(size, seed), read_rows(Path(data)))
    with PssPeak() as pss:
        t0 = time.perf_counter()
        plan = plan_world(world, PlanningDeps(AutoSolver(), PlanChecker()), PlanSettings(time_limit_s=limit, seed=seed))
        wall = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    second = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the portfolio's forked second search
    problem = build_problem(world, PlanSettings(time_limit_s=limit)).problem
    out.send({"stops": len(world.orders), "vehicles": len(world.vehicles), "wall_s": round(wall, 1), "peak_mb": round(rss), "second_search_peak_mb": round(second),
              "pss_peak_mb": pss.peak_mb,
              "served": sum(len(r.visits) for r in plan.routes), "km": round(plan.distance_m / 1000, 1), "engine": plan.solver[:160],
              "problem": problem})


def _vroom(problem: RoutingProblem, limit: float) -> dict[str, object]:
    from peers import run_vroom

    from copilot.core.routing import route_distance
    from solvers.checker import check_solution

    t0 = time.perf_counter()
    run = run_vroom(problem, limit, 0, threads=2, exploration=5)
    wall = time.perf_counter() - t0
    bad = check_solution(problem, run.routes)
    km = sum(route_distance(problem, vi, seq) for vi, seq in enumerate(run.routes)) / 1000
    return {"vroom_served": 0 if bad else sum(len(r) for r in run.routes), "vroom_km": round(km, 1), "vroom_wall_s": round(wall, 1),
            "vroom_violations": len(bad)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="lade_pickup_day_slices folder")
    ap.add_argument("--out", type=Path, default=Path("bench/results/realistic"))
    ap.add_argument("--sizes", default="150,300,600,1000,1470")
    ap.add_argument("--time-limit", type=float, default=50.0, help="our solver's search time (the rest of the minute builds, times and checks)")
    ap.add_argument("--vroom-limit", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    mp = multiprocessing.get_context("fork")
    for size in (int(x) for x in args.sizes.split(",")):
        recv, send = mp.Pipe(duplex=False)
        child = mp.Process(target=_ours, args=(size, args.seed, args.time_limit, args.data, send))
        child.start()
        send.close()
        got = recv.recv()
        child.join()
        problem = got.pop("problem")
        row = {"size": size, **got}
        if args.vroom_limit > 0:
            row |= _vroom(problem, args.vroom_limit)
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    with open(args.out / "scale.csv", "w", newline="") as f:
        w = csv.DictWriter(f, list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    lines = ["# Scale: one Chongqing day (LaDe-P) at growing sizes", "",
             f"Ours: `plan_world` (build, solve {args.time_limit:g} s, time, check) in a fresh process; VROOM: same problem, "
             f"{args.vroom_limit:g} s, 2 threads, exploration 5.", "",
             "| stops | vans | ours wall s | ours peak RSS MB (planner + second search) | ours peak PSS MB (both) | ours served | ours km "
             "| VROOM served | VROOM km | VROOM wall s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['stops']} | {r['vehicles']} | {r['wall_s']} | {r['peak_mb']} + {r['second_search_peak_mb']} | {r['pss_peak_mb']} | {r['served']} | {r['km']} | "
              f"{r.get('vroom_served', '-')} | {r.get('vroom_km', '-')} | {r.get('vroom_wall_s', '-')} |" for r in rows]
    (args.out / "scale.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
