"""A scenario's base world and forecasts, resolved before anything is planned.

:func:`load_base_world` finds the base world (a folder, a stored world, or the bundled demo world);
:func:`resolve_forecasts` turns every ``forecast_day`` change into the what-if tool's ``resample_orders``
change (one forecast per distinct spec); :func:`resolve_scenario` gives the scenario with those changes in
place; :func:`check_variants` applies every variant's changes without planning, so that unknown ids and
bad times are reported before anything is solved.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from copilot.apps.scenario.spec import ForecastDaySpec, Scenario, ScenarioFileError
from copilot.core.domain import World
from copilot.core.errors import CopilotError, InputError
from tools.context import ToolContext, parse_user_time
from tools.forecast_day import ForecastDayOut, forecast_day
from tools.whatif import Change, apply_changes

# --------------------------------------------------------------------------------------------------
# The base world and forecasts
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Base:
    world: World
    source: str
    store_url: str | None  # the world is stored there (its history too)


def load_base_world(scenario: Scenario, *, db_url: str | None = None) -> _Base:
    """The base world: a folder (relative to the scenario file), else a stored world, else the bundled demo world of that name."""
    from copilot.apps.wiring import DEMO_WORLD, demo_world_dir
    from tools.world_io import read_world

    w = scenario.world
    if isinstance(w, World):
        return _Base(w, f"world object {w.name!r}", None)
    text = str(w)
    path = scenario.relative(text)
    if path.is_dir():
        return _Base(read_world(path), str(path), None)
    if isinstance(w, Path) or "/" in text or "\\" in text:
        raise InputError(f"world {text!r}: no such folder ({path.resolve()}); expected a world folder or a stored world's name")
    from copilot.apps.wiring import make_store
    from tools.sql import default_url

    url = db_url or default_url()
    store = make_store(url)
    try:
        if text in store.world_names():
            return _Base(store.load_world(text), f"stored world {text!r}", url)
        known = store.world_names()
    finally:
        store.close()
    if text == DEMO_WORLD:
        return _Base(read_world(demo_world_dir()), f"bundled demo world {DEMO_WORLD}", None)
    raise InputError(f"world {text!r}: not a folder ({path.resolve()}) and not a stored world (stored: {', '.join(known) or 'none'})")


def _forecast_context(scenario: Scenario, base: _Base, spec: ForecastDaySpec, db: Path) -> ToolContext:
    """A tool context whose store holds the base world and the history to forecast from (a scratch SQLite file, or the world's own store)."""
    from copilot.apps.wiring import make_deps, make_forecaster, make_store
    from copilot.core.domain import HistoryRow
    from tools.history_io import read_history_csv

    if spec.history is None and spec.history_end is None and base.store_url is not None:
        return ToolContext(store=make_store(base.store_url), planning=make_deps(), world_name=base.world.name, forecaster=make_forecaster())
    world = base.world
    rows: tuple[HistoryRow, ...] = world.history
    if spec.history is not None:
        rows = read_history_csv(scenario.relative(spec.history), key=spec.key, value=spec.value, missing="zero", end=spec.history_end).rows
    elif base.store_url is not None:  # a stored world's history lives in its store
        store = make_store(base.store_url)
        try:
            reader = store.history_reader()
            rows = tuple(HistoryRow(d, s.key, v) for s in reader.series(world.name) for d, v in reader.daily(world.name, s.key))
        finally:
            store.close()
    if spec.history is None and spec.history_end is not None:
        rows = tuple(r for r in rows if r.date <= spec.history_end)
    if not rows:
        raise InputError(f"world {world.name!r} has no history to forecast from; give forecast_day a history CSV (history: path, key: ..., value: ...)")
    store = make_store(f"sqlite:///{db}")
    store.import_world(replace(world, history=rows))
    return ToolContext(store=store, planning=make_deps(), world_name=world.name, forecaster=make_forecaster())


def resolve_forecasts(scenario: Scenario, base: _Base) -> tuple[dict[str, list[Change]], dict[str, list[ForecastDayOut]]]:
    """Every variant's changes with each ``forecast_day`` replaced by the tool's ``resample_orders`` change (one forecast per distinct spec)."""
    resolved: dict[str, list[Change]] = {}
    forecasts: dict[str, list[ForecastDayOut]] = {}
    cache: dict[str, ForecastDayOut] = {}
    with tempfile.TemporaryDirectory(prefix="scenario-forecast-") as tmp:
        for v in scenario.variants:
            out: list[Change] = []
            for i, ch in enumerate(v.changes):
                if isinstance(ch, ForecastDaySpec):
                    key = ch.model_dump_json()
                    if key not in cache:
                        try:
                            ctx = _forecast_context(scenario, base, ch, Path(tmp) / f"forecast-{len(cache)}.sqlite3")
                            try:
                                cache[key] = forecast_day(ctx, ch.request())
                            finally:
                                ctx.store.close()  # type: ignore[attr-defined]
                        except CopilotError as exc:
                            raise InputError(f"{_label(scenario)}: variant {v.name!r}: changes[{i}] (forecast_day): {exc}") from None
                    fc = cache[key]
                    forecasts.setdefault(v.name, []).append(fc)
                    out.append(fc.change)
                else:
                    out.append(ch)
            resolved[v.name] = out
    return resolved, forecasts


def resolve_scenario(scenario: Scenario, *, db_url: str | None = None) -> tuple[Scenario, dict[str, list[ForecastDayOut]]]:
    """The scenario with every ``forecast_day`` replaced by its ``resample_orders`` change, and the forecasts behind them.

    Running the resolved scenario plans the same worlds without forecasting again (a rerun, a benchmark).
    """
    base = load_base_world(scenario, db_url=db_url)
    changes, forecasts = resolve_forecasts(scenario, base)
    resolved = scenario.model_copy(update={"variants": [v.model_copy(update={"changes": changes[v.name]}) for v in scenario.variants]})
    resolved._source = scenario.source
    return resolved, forecasts


def _label(scenario: Scenario) -> str:
    return str(scenario.source) if scenario.source is not None else f"scenario {scenario.name!r}"


def check_variants(scenario: Scenario, world: World, changes: dict[str, list[Change]]) -> None:
    """Apply every variant's changes to the base world without planning: unknown ids and bad times are reported before anything is solved."""
    problems: list[str] = []
    for v in scenario.variants:
        try:
            clock = parse_user_time(v.at, world) if v.at else None
            apply_changes(world, changes[v.name], clock=clock)
        except CopilotError as exc:
            problems.append(f"variant {v.name!r}: {exc}")
    if problems:
        raise ScenarioFileError(_label(scenario), problems)
