"""One variant's run and the executors that run them: in this process, a local process pool, or Ray tasks.

:func:`_run_job` plans one :class:`_Job` through the what-if tool's planning step (module level, so that
it pickles by reference into a worker process or a Ray task) and returns its :class:`_Outcome`. The pools
(``sequential``, ``process``, ``ray``) share the small surface of :class:`_Pool`. Ray is imported here only.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from copilot.apps.scenario.report import _draw_maps
from copilot.core.domain import Plan, World
from copilot.core.errors import ConfigurationError, CopilotError
from tools.kpis import Kpis, plan_kpis
from tools.planning import PlanningDeps, PlanSettings
from tools.whatif import Change, plan_changes

Executor = Literal["process", "ray", "sequential"]
EXECUTORS: tuple[str, ...] = ("process", "ray", "sequential")

# --------------------------------------------------------------------------------------------------
# One variant's run (in a worker process, a Ray task, or here)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Job:
    name: str
    world: World
    changes: tuple[Change, ...]
    settings: PlanSettings
    clock: int | None = None
    committed: Plan | None = None
    maps_dir: str | None = None
    title: str = ""


@dataclass(slots=True)
class _Outcome:
    name: str
    seconds: float
    world: World | None = None
    plan: Plan | None = None
    words: list[str] = field(default_factory=list)
    kpis: Kpis | None = None
    error: str | None = None
    maps: list[str] = field(default_factory=list)
    pid: int = 0


_DEPS: dict[str, PlanningDeps] = {}


def _deps(engine: str) -> PlanningDeps:
    if engine not in _DEPS:
        from copilot.apps.wiring import make_deps

        _DEPS[engine] = make_deps(engine)
    return _DEPS[engine]


def _run_job(job: _Job) -> _Outcome:
    """Plan one variant through the what-if tool's planning step and measure it (module level: pickled by reference)."""
    t0 = time.perf_counter()
    try:
        world, plan, words = plan_changes(job.world, job.changes, _deps(job.settings.engine), job.settings, clock=job.clock, committed=job.committed)
        kpis = plan_kpis(world, plan)
    except CopilotError as exc:
        return _Outcome(job.name, time.perf_counter() - t0, error=str(exc), pid=os.getpid())
    seconds = time.perf_counter() - t0
    maps = _draw_maps(job.name, world, plan, Path(job.maps_dir), job.title) if job.maps_dir else []
    return _Outcome(job.name, seconds, world, plan, words, kpis, None, maps, os.getpid())


# --------------------------------------------------------------------------------------------------
# Executors
# --------------------------------------------------------------------------------------------------


class _Pool:
    """Submit jobs, wait for some to finish: the small surface the scheduler needs from an executor."""

    def submit(self, job: _Job) -> Any:
        raise NotImplementedError

    def wait_some(self, pending: list[Any]) -> list[tuple[Any, _Outcome]]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the executor's resources."""


class _Sequential(_Pool):
    def __init__(self) -> None:
        self._jobs: dict[int, _Job] = {}
        self._next = 0

    def submit(self, job: _Job) -> Any:
        handle = self._next
        self._next += 1
        self._jobs[handle] = job
        return handle

    def wait_some(self, pending: list[Any]) -> list[tuple[Any, _Outcome]]:
        first = min(pending)  # in submission order
        return [(first, _run_job(self._jobs.pop(first)))]


class _Processes(_Pool):
    def __init__(self, workers: int) -> None:
        self._ex = ProcessPoolExecutor(max_workers=workers)

    def submit(self, job: _Job) -> Any:
        return self._ex.submit(_run_job, job)

    def wait_some(self, pending: list[Any]) -> list[tuple[Any, _Outcome]]:
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        futures: list[Future[_Outcome]] = [f for f in pending if f in done]
        return [(f, f.result()) for f in futures]

    def close(self) -> None:
        self._ex.shutdown(wait=True, cancel_futures=True)


class _Ray(_Pool):
    def __init__(self, workers: int | None, address: str | None) -> None:
        try:
            import ray
        except ImportError as exc:
            raise ConfigurationError("the ray executor needs Ray: pip install 'logistics-copilot[ray]'") from exc
        self._ray = ray
        self._owned = not ray.is_initialized()
        if self._owned:
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address:
                kwargs["address"] = address
            elif workers is not None:
                kwargs["num_cpus"] = workers
            try:
                ray.init(**kwargs)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ConfigurationError(f"cannot start or reach Ray{f' at {address}' if address else ''}: {exc}") from exc
        self._task = ray.remote(num_cpus=1)(_run_job)

    def submit(self, job: _Job) -> Any:
        return self._task.remote(job)

    def wait_some(self, pending: list[Any]) -> list[tuple[Any, _Outcome]]:
        ready, _ = self._ray.wait(pending, num_returns=1)
        return [(ref, self._ray.get(ref)) for ref in ready]

    def close(self) -> None:
        if self._owned:
            self._ray.shutdown()
