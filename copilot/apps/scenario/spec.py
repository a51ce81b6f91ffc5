"""The scenario file model: a base world, planning settings and named variants, read from YAML or a dict.

:class:`Scenario` (with :class:`Planning` and :class:`Variant`) validates a scenario; a variant's changes
are the what-if tool's changes (:data:`tools.whatif.Change`) or a ``forecast_day``
(:class:`ForecastDaySpec`). The short form ``{scale_demand: {factor: 1.2}}`` is accepted, YAML 1.1's
readings of unquoted times and dates are undone, and every problem of a file is reported at once as a
:class:`ScenarioFileError` saying where it is. PyYAML is imported here only (in :meth:`Scenario.from_yaml`).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args

from pydantic import BaseModel, ConfigDict, Field, InstanceOf, PrivateAttr, ValidationError, field_validator, model_validator

from copilot.core.domain import World
from copilot.core.errors import InputError
from copilot.core.forecasting import parse_day
from tools.forecast_day import ForecastDayRequest
from tools.planning import PlanSettings
from tools.whatif import Change

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
    """A forecast-driven day (``forecast_day``): the day's order count follows the forecast (see :func:`tools.forecast_day.forecast_day`).

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
