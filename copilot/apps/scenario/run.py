"""Running a scenario: plan the base world and every variant on an executor and gather the report.

:func:`run_scenarios` loads and resolves the scenario (:mod:`copilot.apps.scenario.world`), submits the
base and the variants to an executor (:mod:`copilot.apps.scenario.executors`), starts the timed variants
once the base plan is done, and builds the :class:`~copilot.apps.scenario.report.ScenarioReport`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from copilot.apps.scenario.executors import EXECUTORS, Executor, _Job, _Outcome, _Pool, _Processes, _Ray, _Sequential
from copilot.apps.scenario.report import RouteRow, RunInfo, ScenarioReport, VariantRow
from copilot.apps.scenario.spec import BASE, Scenario
from copilot.apps.scenario.world import _Base, check_variants, load_base_world, resolve_forecasts
from copilot.core.domain import Plan
from copilot.core.errors import InputError
from copilot.core.units import format_clock
from tools.context import UnassignedOut, parse_user_time
from tools.kpis import Kpis
from tools.whatif import kpi_deltas

# --------------------------------------------------------------------------------------------------
# A report row from a variant's outcome
# --------------------------------------------------------------------------------------------------


def _row(variant: str, description: str, at: str | None, out: _Outcome, base: Kpis | None) -> VariantRow:
    if out.error is not None or out.kpis is None or out.plan is None or out.world is None:
        return VariantRow(variant=variant, description=description, at=at, status="failed", error=out.error, solve_s=round(out.seconds, 3))
    off = out.world.utc_offset_s
    return VariantRow(
        variant=variant,
        description=description,
        at=at,
        status="ok",
        changes=out.words,
        kpis=out.kpis,
        deltas=kpi_deltas(out.kpis, base) if base is not None else None,
        solve_s=round(out.seconds, 3),
        solver=out.plan.solver,
        unassigned=[UnassignedOut(order_id=u.order_id, reason=u.reason) for u in out.plan.unassigned],
        routes=[
            RouteRow(
                vehicle_id=r.vehicle_id,
                stops=list(r.order_ids),
                distance_km=round(r.distance_m / 1000, 3),
                start=format_clock(r.start, off),
                end=format_clock(r.end, off),
            )
            for r in out.plan.routes
            if r.visits
        ],
        maps=out.maps,
    )


# --------------------------------------------------------------------------------------------------
# Running the scenario
# --------------------------------------------------------------------------------------------------

ProgressCallback = Callable[[VariantRow], None]


def run_scenarios(
    scenario: Scenario,
    executor: Executor = "process",
    workers: int | None = None,
    *,
    progress: bool | ProgressCallback = False,
    ray_address: str | None = None,
    maps_dir: Path | None = None,
    db_url: str | None = None,
) -> ScenarioReport:
    """Plan the base world and every variant; ``progress=True`` shows a progress bar on stderr (or pass a callback per finished row).

    ``workers``: processes (or local Ray CPUs), default the CPU count. ``maps_dir``: each variant's route
    map (PNG and HTML) is drawn there by the worker that planned it.
    """
    if executor not in EXECUTORS:
        raise InputError(f"unknown executor {executor!r}; expected one of {', '.join(EXECUTORS)}")
    if workers is not None and workers < 1:
        raise InputError(f"workers must be at least 1, got {workers}")
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    base = load_base_world(scenario, db_url=db_url)
    world = base.world
    changes, forecasts = resolve_forecasts(scenario, base)
    check_variants(scenario, world, changes)
    settings = scenario.planning.settings()
    resolve_s = time.perf_counter() - t0
    n_jobs = 1 + len(scenario.variants)
    n_workers = 1 if executor == "sequential" else max(1, min(workers or os.cpu_count() or 1, n_jobs))
    maps = str(maps_dir) if maps_dir is not None else None
    clocks = {v.name: parse_user_time(v.at, world) if v.at else None for v in scenario.variants}
    variants = {v.name: v for v in scenario.variants}

    def job(name: str, committed: Plan | None = None) -> _Job:
        return _Job(name, world, tuple(changes.get(name, ())), settings, clocks.get(name), committed, maps, scenario.name)

    pool: _Pool
    if executor == "sequential":
        pool = _Sequential()
    elif executor == "process":
        pool = _Processes(n_workers)
    else:
        pool = _Ray(workers, ray_address)
    outcomes: dict[str, _Outcome] = {}
    rows: dict[str, VariantRow] = {}
    bar = _ProgressBar(n_jobs, scenario.name) if progress is True else None
    callback = progress if callable(progress) else None

    def finish(name: str, out: _Outcome) -> None:
        outcomes[name] = out
        v = variants.get(name)
        base_kpis = outcomes[BASE].kpis if BASE in outcomes else None
        rows[name] = _row(name, v.description if v else "the unchanged world", v.at if v else None, out, base_kpis)
        if bar is not None:
            bar.advance(rows[name])
        if callback is not None:
            callback(rows[name])

    t1 = time.perf_counter()
    try:
        # the base and the variants without a time first (with a fork-based pool the worker processes
        # start at the first submit, before the progress bar's thread does); timed variants need the base plan
        pending = {pool.submit(job(BASE)): BASE}
        later = [v.name for v in scenario.variants if v.at is not None]
        for v in scenario.variants:
            if v.at is None:
                pending[pool.submit(job(v.name))] = v.name
        if bar is not None:
            bar.start()
        while pending:
            for handle, out in pool.wait_some(list(pending)):
                name = pending.pop(handle)
                finish(name, out)
                if name != BASE:
                    continue
                for w in later:
                    if out.plan is None:
                        finish(w, _Outcome(w, 0.0, error=f"the base world could not be planned, so nothing happens at {variants[w].at}: {out.error}"))
                    else:
                        pending[pool.submit(job(w, out.plan))] = w
    finally:
        if bar is not None:
            bar.stop()
        pool.close()
    solve_wall_s = time.perf_counter() - t1
    # deltas of rows that finished before the base did
    base_kpis = outcomes[BASE].kpis
    ordered = [BASE, *(v.name for v in scenario.variants)]
    final: list[VariantRow] = []
    for n in ordered:
        kpis = rows[n].kpis
        final.append(rows[n].model_copy(update={"deltas": kpi_deltas(kpis, base_kpis)}) if kpis is not None and base_kpis is not None else rows[n])
    report = ScenarioReport(
        name=scenario.name,
        description=scenario.description,
        world=world.name,
        world_source=base.source,
        planning=scenario.planning,
        run=RunInfo(
            executor=executor,
            workers=n_workers,
            ray_address=ray_address if executor == "ray" else None,
            started=started,
            resolve_s=round(resolve_s, 3),
            solve_wall_s=round(solve_wall_s, 3),
            cpu_count=os.cpu_count(),
            worker_pids=len({o.pid for o in outcomes.values() if o.pid}),
        ),
        rows=final,
        forecasts=forecasts,
        scenario=_scenario_dump(scenario, base),
    )
    report._plans = {n: (o.world, o.plan) for n, o in outcomes.items() if o.world is not None and o.plan is not None}
    return report


def _scenario_dump(scenario: Scenario, base: _Base) -> dict[str, Any]:
    data = scenario.model_dump(mode="json", exclude={"world"})
    data["world"] = base.source
    return data


class _ProgressBar:
    """A rich progress bar on stderr: one step per planned row."""

    def __init__(self, total: int, name: str) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[last]}"),
            console=Console(stderr=True),
        )
        self._task = self._progress.add_task(f"scenario {name}", total=total, last="")

    def start(self) -> None:
        self._progress.start()

    def advance(self, row: VariantRow) -> None:
        what = f"{row.variant}: failed" if row.status == "failed" else f"{row.variant}: {row.solve_s:.1f} s"
        self._progress.update(self._task, advance=1, last=what)

    def stop(self) -> None:
        self._progress.stop()
