"""Solving in worker processes, so that a server keeps answering while it plans.

OR-Tools holds Python's global interpreter lock for the whole search (measured: a thread ticking every 5 ms
in the same process got no tick during a 1.9 s solve), so a server that solves in its own process stops
answering everyone, whatever its limits, while one partner's draft is planned. :class:`PooledSolver` sends
each problem to a small pool of worker processes (``spawn``: no fork of a threaded server) that each hold
their own :class:`solvers.auto.AutoSolver`; the server's threads only wait on a future, without the lock.

The problem and the solution cross the process boundary pickled (frozen dataclasses of ints); a worker that
dies (out of memory, killed) is replaced and the solve is tried once more; a worker whose server died without
shutting the pool down (kill -9) ends itself within a second of its current solve.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from copilot.core.routing import RoutingProblem, Solution, SolveOptions
from solvers.auto import AutoSolver

_worker_solver: AutoSolver | None = None


def _start_worker(engine: str, parent: int) -> None:
    global _worker_solver
    if _worker_solver is None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the whole process group: the server shuts the pool
        # the parent's pid comes from the parent: a worker started just as its server died exits too
        threading.Thread(target=_exit_with, args=(parent,), daemon=True, name="parent-watch").start()
    _worker_solver = AutoSolver(engine)


def _exit_with(parent: int) -> None:
    """End this worker once the process that started it is gone (a kill -9 of the server runs no shutdown)."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _solve_in_worker(problem: RoutingProblem, options: SolveOptions) -> Solution:
    assert _worker_solver is not None, "the worker was started without its solver"
    return _worker_solver.solve(problem, options)


class PooledSolver:
    """A :class:`copilot.core.ports.RoutingSolver` that solves in ``workers`` processes (the same engines as AutoSolver)."""

    name = "auto"

    def __init__(self, engine: str = "auto", workers: int = 2) -> None:
        AutoSolver(engine)  # validates the engine name here, where the caller can see the error
        if workers < 1:
            raise ValueError(f"a solver pool needs at least one worker, got {workers}")
        self.engine = engine
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker, initargs=(self.engine, os.getpid())
                )
            return self._pool

    def _replace_broken(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken:
                self._pool = None
        broken.shutdown(wait=False, cancel_futures=True)

    def solve(self, problem: RoutingProblem, options: SolveOptions) -> Solution:
        """Solve in a worker process (a dead worker is replaced and the solve tried once more)."""
        for attempt in (1, 2):
            pool = self._executor()
            try:
                return pool.submit(_solve_in_worker, problem, options).result()
            except BrokenProcessPool:
                self._replace_broken(pool)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def warm_up(self) -> None:
        """Start the worker processes now (each imports the engines once) instead of on the first solve."""
        pool = self._executor()
        for f in [pool.submit(_start_worker, self.engine, os.getpid()) for _ in range(self.workers)]:
            f.result()

    def close(self) -> None:
        """Stop the worker processes."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
