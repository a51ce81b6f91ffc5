"""The server's solver pool: plans in worker processes (a solve holds the interpreter lock), same answers as in
process, and a dead worker is replaced."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from copilot.apps.wiring import make_deps, make_solver_pool
from tools.planning import PlanSettings, plan_world
from tools.world_io import read_world

TINY = Path(__file__).resolve().parents[1] / "data" / "worlds" / "tiny"


def test_pooled_plans_equal_in_process_plans_and_a_dead_worker_is_replaced() -> None:
    world = read_world(TINY)
    settings = PlanSettings(time_limit_s=5.0, iterations=60, seed=3)  # fixed work: the same answer every time
    pool = make_solver_pool("ortools", workers=1)
    try:
        pooled = plan_world(world, make_deps("ortools", pool), settings)
        local = plan_world(world, make_deps("ortools"), settings)
        assert [r.order_ids for r in pooled.routes] == [r.order_ids for r in local.routes]
        assert pooled.solver == local.solver and len(pooled.assigned_ids()) == len(world.orders)
        workers = list(pool._executor()._processes.values())  # the pool's own processes did the work
        assert workers and all(p.pid != os.getpid() for p in workers)
        for p in workers:
            os.kill(p.pid, signal.SIGKILL)
            p.join(10)
        again = plan_world(world, make_deps("ortools", pool), settings)  # a new worker takes over
        assert [r.order_ids for r in again.routes] == [r.order_ids for r in local.routes]
    finally:
        pool.close()
