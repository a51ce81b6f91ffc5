"""Scenario scripts: a base world and named variants (more demand, more vans, shorter shifts, a breakdown at
11:00, a forecast-driven day), each planned through the what-if tool's own planning step, compared in one report.

A scenario comes from a YAML file (:meth:`Scenario.from_yaml`) or is built in Python::

    from copilot.apps.scenario import Scenario, Variant, run_scenarios, write_report
    from tools.whatif import AddVehicles, ScaleDemand

    sc = Scenario(world="copilot/apps/demo/hangzhou-0501", planning={"iterations": 300},
                  variants=[Variant(name="demand-x1.2", changes=[ScaleDemand(factor=1.2)]),
                            Variant(name="plus-2-vans", changes=[AddVehicles(count=2, like="HZ-V1")])])
    report = run_scenarios(sc, executor="process", workers=2)
    write_report(report, Path("out"))

How a variant is planned: the base world is planned for the whole day (no clock, nothing committed: what
:func:`tools.whatif.what_if` does on a store with no dispatched plan). A variant's changes go through
:func:`tools.whatif.plan_changes`, the same function the what-if tool plans with, and its key figures
through :func:`tools.kpis.plan_kpis`; so with a work budget (``iterations``) the report's numbers equal
the what-if tool's numbers for the same changes. A variant with ``at: "11:00"`` happens during the day: the
base plan is dispatched, the clock stands at 11:00, work started before then stays done and the rest is
re-planned (a breakdown at 11:00 is ``at: "11:00"`` with ``remove_vehicles``).

A ``forecast_day`` change is resolved once, before the variants run, into a
:class:`tools.whatif.ResampleOrders` change by :func:`tools.whatif.forecast_day` (the forecast tools on
the world's history, or on a history CSV the file names); the report keeps the forecast's numbers.

Executors: ``process`` (a local process pool, one worker per CPU by default), ``sequential`` (in this
process) and ``ray`` (each variant a Ray task; ``ray.init(address)``, or a local Ray when no address is
given; the ``ray`` extra). Variants with ``at`` start when the base plan is done.

PyYAML, Ray and matplotlib stay in this module (and matplotlib in :mod:`copilot.apps.maps`).
"""

from __future__ import annotations

import csv
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args

from pydantic import BaseModel, ConfigDict, Field, InstanceOf, PrivateAttr, ValidationError, field_validator, model_validator

from copilot.core.domain import Plan, World
from copilot.core.errors import ConfigurationError, CopilotError, InputError
from copilot.core.forecasting import parse_day
from copilot.core.units import format_clock
from tools.context import ToolContext, UnassignedOut, parse_user_time
from tools.kpis import Kpis, plan_kpis
from tools.planning import PlanningDeps, PlanSettings
from tools.whatif import Change, ForecastDayOut, ForecastDayRequest, KpiDeltas, apply_changes, forecast_day, kpi_deltas, plan_changes

Executor = Literal["process", "ray", "sequential"]
EXECUTORS: tuple[str, ...] = ("process", "ray", "sequential")
BASE = "base"
_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$"

# --------------------------------------------------------------------------------------------------
# The scenario: a base world, planning settings, variants
# --------------------------------------------------------------------------------------------------


class ScenarioFileError(InputError):
    """A scenario file (or dict) is not valid; ``problems`` lists each problem with where it is."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = list(problems)
        shown = "\n".join(f"  - {p}" for p in self.problems[:30])
        more = f"\n  ... and {len(self.problems) - 30} more" if len(self.problems) > 30 else ""
        super().__init__(f"{source}: the scenario is not valid ({len(self.problems)} problem(s)):\n{shown}{more}")


class Planning(BaseModel):
    """How every variant is solved: the same settings for all, so the runs compare and repeat."""

    model_config = ConfigDict(extra="forbid")

    time_limit_s: float = Field(default=5.0, gt=0, le=3600, description="search time cap per plan, seconds")
    iterations: int | None = Field(default=None, ge=1, le=1_000_000, description="work budget per plan (repeatable numbers); None: time only")
    seed: int = Field(default=0, ge=0, description="search seed")
    engine: Literal["auto", "ortools", "pyvrp", "vroom"] = "auto"  # copilot.core.routing.ENGINE_NAMES (a test keeps them equal)

    def settings(self) -> PlanSettings:
        """The tools' planning settings."""
        return PlanSettings(time_limit_s=self.time_limit_s, seed=self.seed, iterations=self.iterations, engine=self.engine)


class ForecastDaySpec(ForecastDayRequest):
    """A forecast-driven day (``forecast_day``): the day's order count follows the forecast (see :func:`tools.whatif.forecast_day`).

    ``history`` names a daily history CSV (relative to the scenario file) when the world's own history
    should not be used; ``key`` and ``value`` are its series and volume columns, ``history_end`` cuts it.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["forecast_day"] = "forecast_day"
    history: str | None = Field(default=None, description="daily history CSV (date, key, value columns); default: the world's own history")
    key: str = Field(default="region", description="series column(s) of the history CSV, comma-separated")
    value: str = Field(default="volume", description="volume column of the history CSV")
    history_end: str | None = Field(default=None, description="drop history rows after this ISO date (forecast as of that day)")

    @field_validator("history_end")
    @classmethod
    def _iso_day(cls, v: str | None) -> str | None:
        return None if v is None else parse_day(v, "history_end").isoformat()

    def request(self) -> ForecastDayRequest:
        """The tool's request."""
        return ForecastDayRequest.model_validate(self.model_dump(include=set(ForecastDayRequest.model_fields)))


_TOOL_CHANGES: tuple[type[BaseModel], ...] = get_args(get_args(Change)[0])
CHANGE_KINDS: tuple[str, ...] = (*(str(m.model_fields["kind"].default) for m in _TOOL_CHANGES), "forecast_day")

_ALL_MODELS: list[type[BaseModel]] = [*_TOOL_CHANGES, ForecastDaySpec]
_MODELS: dict[str, type[BaseModel]] = {str(m.model_fields["kind"].default): m for m in _ALL_MODELS}

if TYPE_CHECKING:
    ScenarioChange = Change | ForecastDaySpec
else:  # every change kind of the what-if tool, and forecast_day
    ScenarioChange = Annotated[Union[(*_TOOL_CHANGES, ForecastDaySpec)], Field(discriminator="kind")]


_CLOCK_FIELDS = frozenset({"at", "start", "end", "shift_start", "shift_end"})


def _yaml_scalars(data: dict[str, Any]) -> dict[str, Any]:
    """Undo YAML 1.1's readings of unquoted values: ``11:00`` is the base-60 number 660, ``2022-09-30`` a date."""
    out = dict(data)
    for k, v in data.items():
        if k in _CLOCK_FIELDS and isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 24 * 60:
            out[k] = f"{v // 60:02d}:{v % 60:02d}"
        elif isinstance(v, date):
            out[k] = v.isoformat()
    return out


def _short_form(changes: Any) -> Any:
    """``{scale_demand: {factor: 1.2}}`` -> ``{kind: scale_demand, factor: 1.2}``; the full form passes as it is."""
    if not isinstance(changes, list):
        return changes
    out: list[Any] = []
    for i, ch in enumerate(changes):
        if isinstance(ch, dict) and "kind" not in ch and len(ch) == 1:
            kind, body = next(iter(ch.items()))
            if kind not in CHANGE_KINDS:
                raise ValueError(f"changes[{i}]: unknown change {kind!r}; expected one of {', '.join(CHANGE_KINDS)}")
            if body is None:
                body = {}
            if not isinstance(body, dict):
                raise ValueError(f"changes[{i}] ({kind}): expected a mapping of its fields, e.g. {{{kind}: {{...}}}}, got {body!r}")
            ch = {"kind": kind, **body}
        if isinstance(ch, dict):
            ch = _yaml_scalars(ch)
        if isinstance(ch, dict) and "kind" in ch and ch["kind"] not in CHANGE_KINDS:
            raise ValueError(f"changes[{i}]: unknown change kind {ch['kind']!r}; expected one of {', '.join(CHANGE_KINDS)}")
        if isinstance(ch, dict) and ch.get("kind") in _MODELS:
            fields = _MODELS[ch["kind"]].model_fields
            unknown = [k for k in ch if k not in fields]
            if unknown:  # the tools' models ignore unknown fields; in a file they are typos
                known = ", ".join(k for k in fields if k != "kind")
                raise ValueError(f"changes[{i}] ({ch['kind']}): unknown field(s) {', '.join(map(str, unknown))}; {ch['kind']} takes {known}")
        out.append(ch)
    return out


class Variant(BaseModel):
    """A named list of changes to the base world, optionally happening during the day (``at``)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=_NAME_PATTERN, description="letters, digits and . _ + - (used in file names)")
    description: str = ""
    at: str | None = Field(default=None, description="HH:MM: the base plan is dispatched and the changes happen at this time (re-planned from then)")
    changes: list[ScenarioChange] = Field(min_length=1, max_length=20)

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = _yaml_scalars(data)
            if "changes" in data:
                data = {**data, "changes": _short_form(data["changes"])}
        return data

    @field_validator("name")
    @classmethod
    def _not_base(cls, v: str) -> str:
        if v == BASE:
            raise ValueError(f"{BASE!r} is the unchanged world's row; give the variant another name")
        return v

    @field_validator("at")
    @classmethod
    def _clock_text(cls, v: str | None) -> str | None:
        if v is None:
            return v
        parts = v.strip().split(":")
        if len(parts) != 2 or not all(p.isdigit() for p in parts) or int(parts[0]) > 23 or int(parts[1]) > 59:
            raise ValueError(f"expected a time of day HH:MM like 11:00, got {v!r}")
        return f"{int(parts[0]):02d}:{int(parts[1]):02d}"


class Scenario(BaseModel):
    """A base world (a world folder, or the name of a stored world), planning settings and variants."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(default="scenario", min_length=1, max_length=100)
    description: str = ""
    world: str | InstanceOf[Path] | InstanceOf[World] = Field(description="world folder (relative to the scenario file), or a stored world's name")
    planning: Planning = Field(default_factory=Planning)
    variants: list[Variant] = Field(min_length=1, max_length=200)

    _source: Path | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _base_alias(cls, data: Any) -> Any:
        if isinstance(data, dict) and "base" in data and "world" not in data:
            data = {**{k: v for k, v in data.items() if k != "base"}, "world": data["base"]}
        return data

    @model_validator(mode="after")
    def _unique_names(self) -> Scenario:
        seen: set[str] = set()
        for v in self.variants:
            if v.name in seen:
                raise ValueError(f"two variants are named {v.name!r}; names must be unique")
            seen.add(v.name)
        return self

    @property
    def source(self) -> Path | None:
        """The YAML file it came from (relative paths are relative to its folder)."""
        return self._source

    @classmethod
    def from_dict(cls, data: Any, *, source: Path | None = None, world: str | Path | World | None = None) -> Scenario:
        """Validate a scenario given as data; ``world`` overrides the base world. Raises :class:`ScenarioFileError`."""
        label = str(source) if source is not None else "scenario"
        if not isinstance(data, dict):
            raise ScenarioFileError(label, [f"expected a mapping with world, planning and variants, got {type(data).__name__}"])
        if world is not None:
            data = {**{k: v for k, v in data.items() if k != "base"}, "world": world}
        try:
            sc = cls.model_validate(data)
        except ValidationError as exc:
            raise ScenarioFileError(label, _problems(exc, data)) from None
        sc._source = source
        return sc

    @classmethod
    def from_yaml(cls, path: str | Path, *, world: str | Path | World | None = None) -> Scenario:
        """Read and validate a scenario YAML file; ``world`` overrides the file's base world."""
        import yaml

        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{path}: cannot read the scenario file ({exc.strerror or exc})") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise ScenarioFileError(str(path), [f"not valid YAML at{where}: {problem}"]) from None
        if data is None:
            raise ScenarioFileError(str(path), ["the file is empty; expected world, planning and variants"])
        sc = cls.from_dict(data, source=path, world=world)
        if "name" not in data:
            sc.name = path.stem
        return sc

    def relative(self, text: str) -> Path:
        """A path as the scenario names it: relative to the file's folder (or the working directory)."""
        p = Path(text).expanduser()
        if not p.is_absolute() and self._source is not None:
            p = self._source.parent / p
        return p


def _problems(exc: ValidationError, data: dict[str, Any]) -> list[str]:
    """Each validation error as 'variant 'x' (variants[2]): changes[0] (scale_demand): factor: message'."""
    out: list[str] = []
    raw_variants = data.get("variants")
    variants: list[Any] = raw_variants if isinstance(raw_variants, list) else []
    for err in exc.errors():
        loc = list(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        where: list[str] = []
        if len(loc) >= 2 and loc[0] == "variants" and isinstance(loc[1], int):
            i = loc[1]
            raw = variants[i] if i < len(variants) else None
            name = raw.get("name") if isinstance(raw, dict) else None
            where.append(f"variant {name!r} (variants[{i}])" if isinstance(name, str) else f"variants[{i}]")
            loc = loc[2:]
            if len(loc) >= 2 and loc[0] == "changes" and isinstance(loc[1], int):
                kind = loc[2] if len(loc) >= 3 and isinstance(loc[2], str) and loc[2] in CHANGE_KINDS else None
                where.append(f"changes[{loc[1]}]" + (f" ({kind})" if kind else ""))
                loc = loc[3:] if kind else loc[2:]
        rest = ".".join(str(x) for x in loc)
        if err["type"] == "missing":
            msg = "is required"
        elif err["type"] == "extra_forbidden":
            msg = "is not a known field"
        elif err["type"] == "union_tag_invalid":
            msg = f"unknown change kind; expected one of {', '.join(CHANGE_KINDS)}"
        out.append(": ".join([*where, *([rest] if rest else []), msg]) if where or rest else msg)
    return out


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


def _draw_maps(name: str, world: World, plan: Plan, directory: Path, title: str) -> list[str]:
    from copilot.apps import maps

    heading = f"{title or world.name} / {name}: {plan.vehicles_used} vehicles, {plan.distance_m / 1000:.1f} km, {len(plan.unassigned)} unassigned"
    return [str(maps.write_png(world, plan, directory / f"{name}.png", heading)), str(maps.write_html(world, plan, directory / f"{name}.html", heading))]


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


# --------------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------------


class RouteRow(BaseModel):
    """One vehicle's route in a variant's plan."""

    vehicle_id: str
    stops: list[str] = Field(description="order ids in visiting order")
    distance_km: float
    start: str = Field(description="leaves the depot, HH:MM local")
    end: str = Field(description="back at the depot, HH:MM local")


class VariantRow(BaseModel):
    """One row of the comparison: a variant's key figures and their change against the base."""

    variant: str
    description: str = ""
    at: str | None = Field(default=None, description="HH:MM the changes happen (the base plan dispatched, re-planned from then); None: the whole day")
    status: Literal["ok", "failed"]
    error: str | None = None
    changes: list[str] = Field(default_factory=list, description="the changes applied, in words (the what-if tool's words)")
    kpis: Kpis | None = Field(default=None, description="key figures of the variant's plan (tools.kpis.plan_kpis)")
    deltas: KpiDeltas | None = Field(default=None, description="variant minus base (tools.whatif.kpi_deltas)")
    solve_s: float = Field(description="seconds to apply the changes, plan and measure")
    solver: str | None = None
    unassigned: list[UnassignedOut] = Field(default_factory=list)
    routes: list[RouteRow] = Field(default_factory=list)
    maps: list[str] = Field(default_factory=list, description="route map files")


class RunInfo(BaseModel):
    """How the scenario ran."""

    executor: str
    workers: int
    ray_address: str | None = None
    started: str
    resolve_s: float = Field(description="seconds to load the world, resolve forecasts and check the variants")
    solve_wall_s: float = Field(description="wall seconds from the first submitted plan to the last result")
    cpu_count: int | None = None
    worker_pids: int = Field(description="distinct processes that planned variants")


class ScenarioReport(BaseModel):
    """Every variant against the base world; ``rows[0]`` is the base."""

    name: str
    description: str = ""
    world: str
    world_source: str
    planning: Planning
    run: RunInfo
    rows: list[VariantRow]
    forecasts: dict[str, list[ForecastDayOut]] = Field(default_factory=dict)
    scenario: dict[str, Any] = Field(default_factory=dict, description="the scenario as validated")
    files: list[str] = Field(default_factory=list)

    _plans: dict[str, tuple[World, Plan]] = PrivateAttr(default_factory=dict)

    def row(self, name: str) -> VariantRow:
        """The row of a variant (``base`` for the unchanged world)."""
        for r in self.rows:
            if r.variant == name:
                return r
        raise KeyError(name)

    def plan(self, name: str) -> tuple[World, Plan]:
        """A variant's changed world and plan (only in the process that ran the scenario)."""
        return self._plans[name]

    @property
    def ok(self) -> bool:
        """Every row was planned."""
        return all(r.status == "ok" for r in self.rows)


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


# --------------------------------------------------------------------------------------------------
# Writing the report: table (CSV, Markdown), plots, maps, JSON
# --------------------------------------------------------------------------------------------------

_COLUMNS = (
    "variant", "at", "status", "vehicles_used", "total_distance_km", "unassigned_count", "on_time_share", "utilisation", "orders_served", "parcels_served",
    "late_visits", "driving_time_min", "vehicles_available", "d_vehicles_used", "d_total_distance_km", "d_unassigned_count", "d_on_time_share", "d_utilisation",
    "d_orders_served", "solve_s", "changes", "error",
)  # fmt: skip


def table_rows(report: ScenarioReport) -> list[dict[str, Any]]:
    """The comparison table, one dict per row (the CSV's columns)."""
    out: list[dict[str, Any]] = []
    for r in report.rows:
        k, d = r.kpis, r.deltas
        row: dict[str, Any] = {"variant": r.variant, "at": r.at or "", "status": r.status, "solve_s": r.solve_s, "changes": "; ".join(r.changes), "error": r.error or ""}
        for name in ("vehicles_used", "total_distance_km", "unassigned_count", "on_time_share", "utilisation", "orders_served", "parcels_served", "late_visits",
                     "driving_time_min", "vehicles_available"):  # fmt: skip
            row[name] = getattr(k, name) if k is not None else None
        for name in ("vehicles_used", "total_distance_km", "unassigned_count", "on_time_share", "utilisation", "orders_served"):
            row[f"d_{name}"] = getattr(d, name) if d is not None else None
        out.append({c: row.get(c) for c in _COLUMNS})
    return out


def _fmt(x: Any, digits: int = 1, *, sign: bool = False, pct: bool = False) -> str:
    if x is None:
        return "-"
    if pct:
        x = x * 100
    if isinstance(x, int) and not pct:
        return f"{x:+d}" if sign else str(x)
    text = f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"
    return text + ("%" if pct else "")


def markdown_table(report: ScenarioReport) -> str:
    """The comparison table as Markdown (shares in percent; deltas against the base)."""
    head = [
        "variant",
        "at",
        "vehicles used",
        "km",
        "unassigned",
        "on-time",
        "utilisation",
        "Δ vehicles",
        "Δ km",
        "Δ unassigned",
        "Δ on-time (pts)",
        "Δ utilisation (pts)",
        "solve s",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    for r in report.rows:
        k, d = r.kpis, r.deltas
        if k is None:
            cells = [r.variant, r.at or "", *["-"] * (len(head) - 4), f"{r.solve_s:.1f}"]
            cells[2] = f"failed: {(r.error or '').replace('|', '/')}"
        else:
            cells = [
                r.variant, r.at or "", str(k.vehicles_used), _fmt(k.total_distance_km), str(k.unassigned_count), _fmt(k.on_time_share, pct=True),
                _fmt(k.utilisation, pct=True), _fmt(d.vehicles_used if d else None, sign=True), _fmt(d.total_distance_km if d else None, sign=True),
                _fmt(d.unassigned_count if d else None, sign=True), _fmt(d.on_time_share * 100 if d and d.on_time_share is not None else None, sign=True),
                _fmt(d.utilisation * 100 if d and d.utilisation is not None else None, sign=True), f"{r.solve_s:.1f}",
            ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    notes = [
        f"- **{r.variant}**{f' (at {r.at})' if r.at else ''}: {'; '.join([*(f.words for f in report.forecasts.get(r.variant, [])), *r.changes]) or r.description or '-'}"
        for r in report.rows
        if r.variant != BASE
    ]
    p = report.planning
    budget = f"{p.iterations} iterations (time cap {p.time_limit_s:g} s)" if p.iterations else f"{p.time_limit_s:g} s"
    title = f"# Scenario {report.name}: {report.world}\n\n{report.description + chr(10) + chr(10) if report.description else ''}"
    meta = f"Each plan: {budget}, seed {p.seed}, engine {p.engine}; executor {report.run.executor} ({report.run.workers} worker(s)), {report.run.solve_wall_s:.1f} s.\n\n"
    return title + meta + "\n".join(lines) + "\n\n## Variants\n\n" + "\n".join(notes) + "\n"


def write_report(report: ScenarioReport, out: Path, *, maps: bool = True) -> list[Path]:
    """Write comparison.csv, comparison.md, plots/*.png, maps/<variant>.png|.html and report.json into ``out``; returns the files."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    rows = table_rows(report)
    csv_path = out / "comparison.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(_COLUMNS))
        writer.writeheader()
        writer.writerows([{k: "" if v is None else v for k, v in r.items()} for r in rows])
    files.append(csv_path)
    md = out / "comparison.md"
    md.write_text(markdown_table(report), encoding="utf-8")
    files.append(md)
    files += write_plots(report, out / "plots")
    if maps:
        for r in report.rows:
            if r.status != "ok":
                continue
            if not r.maps or not all(Path(m).exists() for m in r.maps):
                if r.variant not in report._plans:
                    continue
                world, plan = report._plans[r.variant]
                r.maps = _draw_maps(r.variant, world, plan, out / "maps", report.name)
            files += [Path(m) for m in r.maps]
    js = out / "report.json"
    report.files = [str(f) for f in [*files, js]]
    js.write_text(report.model_dump_json(indent=2), encoding="utf-8")
    files.append(js)
    return files


def write_plots(report: ScenarioReport, directory: Path) -> list[Path]:
    """Bar charts per variant: distance, unassigned orders, vehicles used, on-time share and utilisation (matplotlib, Agg)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ConfigurationError("scenario plots need matplotlib: pip install 'logistics-copilot[scenario]'") from exc
    directory.mkdir(parents=True, exist_ok=True)
    ok = [r for r in report.rows if r.kpis is not None]
    names = [r.variant for r in ok]
    files: list[Path] = []

    def bars(values: Sequence[float], title: str, ylabel: str, filename: str, fmt: str) -> None:
        fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(names) + 2), 4.5))
        colors = ["#7f7f7f" if n == BASE else "#1f77b4" for n in names]
        drawn = ax.bar(names, values, color=colors)
        ax.bar_label(drawn, labels=[fmt.format(v) for v in values], fontsize=8)
        if names and names[0] == BASE:
            ax.axhline(values[0], color="#7f7f7f", linestyle="--", linewidth=1)
        ax.set_title(f"{report.name}: {title}")
        ax.set_ylabel(ylabel)
        ax.tick_params(axis="x", labelrotation=30)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
        fig.tight_layout()
        path = directory / filename
        fig.savefig(path, dpi=100)
        plt.close(fig)
        files.append(path)

    if not ok:
        return files
    kp = [r.kpis for r in ok if r.kpis is not None]
    bars([k.total_distance_km for k in kp], "total distance per variant", "km", "distance_km.png", "{:.1f}")
    bars([k.unassigned_count for k in kp], "unassigned orders per variant", "orders", "unassigned.png", "{:.0f}")
    bars([k.vehicles_used for k in kp], "vehicles used per variant", "vehicles", "vehicles_used.png", "{:.0f}")
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(names) + 2), 4.5))
    xs = list(range(len(names)))
    width = 0.4
    on_time = [100 * (k.on_time_share or 0.0) for k in kp]
    util = [100 * (k.utilisation or 0.0) for k in kp]
    a = ax.bar([x - width / 2 for x in xs], on_time, width, label="on-time share", color="#2ca02c")
    b = ax.bar([x + width / 2 for x in xs], util, width, label="utilisation", color="#ff7f0e")
    ax.bar_label(a, labels=[f"{v:.0f}" for v in on_time], fontsize=7)
    ax.bar_label(b, labels=[f"{v:.0f}" for v in util], fontsize=7)
    ax.set_xticks(xs, names, rotation=30, ha="right")
    ax.set_ylim(0, 110)
    ax.set_ylabel("%")
    ax.set_title(f"{report.name}: on-time share and utilisation")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path = directory / "service.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    files.append(path)
    return files


def summary_lines(report: ScenarioReport) -> Iterable[str]:
    """Short text lines for the terminal: one per row."""
    for r in report.rows:
        if r.kpis is None:
            yield f"{r.variant:<20} failed: {r.error}"
            continue
        k, d = r.kpis, r.deltas
        delta = "" if d is None or r.variant == BASE else f"  (Δ km {d.total_distance_km:+.1f}, Δ unassigned {d.unassigned_count:+d})"
        share = "-" if k.on_time_share is None else f"{100 * k.on_time_share:.1f}%"
        yield f"{r.variant:<20} {k.vehicles_used:>2} vehicles {k.total_distance_km:>8.1f} km {k.unassigned_count:>3} unassigned  on-time {share}{delta}"
