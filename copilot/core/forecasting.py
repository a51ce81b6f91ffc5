"""Demand forecasting in the core: daily series, forecasts with intervals, and a rolling-origin backtest.

Standard library only. A :class:`DailySeries` is one series (a region, a courier, ...) with exactly one
value per calendar day from ``start`` on: missing days are filled explicitly (with zero, recorded in
``filled``) or rejected, never skipped silently. A forecaster (the :class:`copilot.core.ports.Forecaster`
port) turns series into :class:`SeriesForecast` objects: a point forecast and an interval per day, the
total over the horizon with its interval, the model used and whether a fallback was needed.

:func:`backtest` scores any forecaster against the two baselines every forecast must beat — naive (the
last day repeated) and seasonal naive (the last week repeated) — with rolling origins:

* origin ``k`` (``k = 0 .. origins-1``) is the day at index ``T-1-horizon-step*k`` of a series of
  ``T`` days; the forecaster sees the days up to and including the origin and forecasts the next
  ``horizon`` days;
* WAPE = sum |error| / sum actual, pooled over the windows of a series and over all series;
* MASE per window = MAE of the window / the in-sample MAE of the seasonal naive (``m = season``) on
  the days up to the origin; per series the mean over windows, overall the mean over series.

A series whose earliest origin would leave fewer than ``season + 2`` training days is skipped (and
listed with the reason). These are the definitions of ``shared/data/lade_delivery_jilin/baselines.py``,
so the baseline figures agree with that README.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Literal

from copilot.core.errors import InputError

if TYPE_CHECKING:
    from copilot.core.ports import Forecaster

MissingDays = Literal["zero", "error"]
MAX_HORIZON_DAYS = 28


def parse_day(text: str | date, what: str = "date") -> date:
    """A calendar day from ``YYYY-MM-DD`` text (or a :class:`date`); InputError otherwise."""
    if isinstance(text, date):
        return text
    t = text.strip() if isinstance(text, str) else text
    try:
        if not isinstance(t, str) or len(t) != 10:
            raise ValueError
        return date.fromisoformat(t)
    except ValueError:
        raise InputError(f"{what} must be a date like 2022-09-30, got {text!r}") from None


def check_level(level: int) -> int:
    """A prediction-interval level in percent, 50 to 99."""
    if isinstance(level, bool) or not isinstance(level, int) or not 50 <= level <= 99:
        raise InputError(f"interval level must be a whole percentage between 50 and 99, got {level!r}")
    return level


def check_horizon(horizon: int) -> int:
    """A forecast horizon in days, 1 to :data:`MAX_HORIZON_DAYS`."""
    if isinstance(horizon, bool) or not isinstance(horizon, int) or not 1 <= horizon <= MAX_HORIZON_DAYS:
        raise InputError(f"forecast horizon must be 1 to {MAX_HORIZON_DAYS} days, got {horizon!r}")
    return horizon


@dataclass(frozen=True, slots=True)
class DailySeries:
    """One value per calendar day from ``start`` on (volumes: finite, zero or more).

    ``filled`` lists the days that were missing in the source and were filled with zero.
    """

    key: str
    start: date
    values: tuple[float, ...]
    filled: tuple[date, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key.strip():
            raise InputError(f"a series needs a non-empty key, got {self.key!r}")
        if not self.values:
            raise InputError(f"series {self.key!r} has no days")
        for i, v in enumerate(self.values):
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
                raise InputError(f"series {self.key!r} on {self.start + timedelta(days=i)}: volume must be a finite number, zero or more, got {v!r}")

    @property
    def end(self) -> date:
        """The last day with a value."""
        return self.start + timedelta(days=len(self.values) - 1)

    def __len__(self) -> int:
        return len(self.values)

    def dates(self) -> list[date]:
        """Every day of the series, in order."""
        return [self.start + timedelta(days=i) for i in range(len(self.values))]

    def cut(self, end: date) -> DailySeries:
        """The series up to and including ``end`` (InputError when that is before its start)."""
        if end < self.start:
            raise InputError(f"series {self.key!r} starts on {self.start}, after {end}")
        n = min(len(self.values), (end - self.start).days + 1)
        return DailySeries(self.key, self.start, self.values[:n], tuple(d for d in self.filled if d <= end))

    @staticmethod
    def from_points(key: str, points: Iterable[tuple[str | date, float]], *, missing: MissingDays = "zero") -> DailySeries:
        """Build a series from (day, volume) pairs in any order.

        Duplicate days are an error. Days missing between the first and the last are filled with
        zero and listed in ``filled`` (``missing="zero"``), or rejected (``missing="error"``).
        """
        by_day: dict[date, float] = {}
        for raw_day, volume in points:
            day = parse_day(raw_day)
            if day in by_day:
                raise InputError(f"series {key!r} has two values for {day}")
            by_day[day] = volume
        if not by_day:
            raise InputError(f"series {key!r} has no days")
        first, last = min(by_day), max(by_day)
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        gaps = [d for d in days if d not in by_day]
        if gaps and missing == "error":
            shown = ", ".join(str(d) for d in gaps[:10]) + (f" and {len(gaps) - 10} more" if len(gaps) > 10 else "")
            raise InputError(f"series {key!r} has {len(gaps)} missing day(s) between {first} and {last}: {shown} (give every day, with 0 for no orders)")
        return DailySeries(key, first, tuple(float(by_day.get(d, 0.0)) for d in days), tuple(gaps))


@dataclass(frozen=True, slots=True)
class DayForecast:
    """The forecast for one day: the point forecast and the interval (``lower`` .. ``upper``)."""

    day: date
    point: float
    lower: float
    upper: float


@dataclass(frozen=True, slots=True)
class SeriesForecast:
    """A forecast of one series for the days after its last day.

    ``total`` is the sum of the daily points; ``total_lower``/``total_upper`` its interval at ``level``
    percent. ``model`` names what produced the points; ``fallback`` is True when the chosen model
    could not be used (or the history was too short to choose one) and ``reason`` says why.
    """

    key: str
    days: tuple[DayForecast, ...]
    level: int
    model: str
    total: float
    total_lower: float
    total_upper: float
    fallback: bool = False
    reason: str = ""
    notes: tuple[str, ...] = ()

    @property
    def points(self) -> list[float]:
        """The daily point forecasts."""
        return [d.point for d in self.days]


# --------------------------------------------------------------------------------------------------
# Baselines and metrics
# --------------------------------------------------------------------------------------------------


def naive_forecast(values: Sequence[float], horizon: int) -> list[float]:
    """The last value repeated."""
    return [float(values[-1])] * horizon


def seasonal_naive_forecast(values: Sequence[float], horizon: int, season: int = 7) -> list[float]:
    """The last ``season`` days repeated (the last value when the series is shorter than a season)."""
    if len(values) < season:
        return naive_forecast(values, horizon)
    last = list(values[-season:])
    return [float(last[i % season]) for i in range(horizon)]


def seasonal_scale(values: Sequence[float], season: int = 7) -> float:
    """Mean absolute difference between each day and the same day a season earlier (nan when undefined)."""
    diffs = [abs(values[t] - values[t - season]) for t in range(season, len(values))]
    return sum(diffs) / len(diffs) if diffs else math.nan


@dataclass
class ScoreSum:
    """Accumulated errors of one method on one series (or overall)."""

    abs_err: float = 0.0
    actual: float = 0.0
    mase: list[float] = field(default_factory=list)

    @property
    def wape(self) -> float:
        return self.abs_err / self.actual if self.actual > 0 else math.nan

    @property
    def mean_mase(self) -> float:
        finite = [m for m in self.mase if math.isfinite(m)]
        return sum(finite) / len(finite) if finite else math.nan


METHODS = ("ours", "seasonal_naive", "naive")


@dataclass
class SeriesBacktest:
    """The backtest of one series."""

    key: str
    test_start: date
    test_end: date
    scores: dict[str, ScoreSum]
    models: list[str]
    fallbacks: int = 0
    day_hits: int = 0
    days: int = 0
    total_hits: int = 0
    windows: int = 0


@dataclass
class BacktestReport:
    """Per-series and overall scores of a forecaster and the two baselines, with timings."""

    forecaster: str
    horizon: int
    origins: int
    step: int
    season: int
    level: int
    series: list[SeriesBacktest]
    skipped: dict[str, str]
    seconds: float
    seconds_per_origin: list[float]

    def overall(self, method: str) -> tuple[float, float]:
        """Pooled WAPE and mean-over-series MASE of ``method`` (ours, seasonal_naive or naive)."""
        abs_err = sum(s.scores[method].abs_err for s in self.series)
        actual = sum(s.scores[method].actual for s in self.series)
        mases = [s.scores[method].mean_mase for s in self.series if math.isfinite(s.scores[method].mean_mase)]
        return (abs_err / actual if actual > 0 else math.nan), (sum(mases) / len(mases) if mases else math.nan)

    def coverage(self) -> tuple[float, float]:
        """Share of test days inside the daily interval, and of test windows inside the total's interval."""
        days = sum(s.days for s in self.series)
        windows = sum(s.windows for s in self.series)
        return (sum(s.day_hits for s in self.series) / days if days else math.nan), (sum(s.total_hits for s in self.series) / windows if windows else math.nan)


def backtest(
    forecaster: Forecaster,
    series: Sequence[DailySeries],
    *,
    horizon: int = 7,
    origins: int = 8,
    step: int = 7,
    season: int = 7,
    level: int = 80,
    progress: Callable[[str], None] | None = None,
) -> BacktestReport:
    """Rolling-origin backtest of ``forecaster`` against naive and seasonal naive (see the module doc).

    At each origin every eligible series is forecast in one call; its wall time is the fit+predict
    time of that origin.
    """
    check_horizon(horizon)
    check_level(level)
    if origins < 1 or step < 1 or season < 1:
        raise InputError("origins, step and season must be 1 or more")
    eligible: list[DailySeries] = []
    skipped: dict[str, str] = {}
    for s in series:
        first_origin = len(s) - 1 - horizon - step * (origins - 1)
        if first_origin < season + 1:
            need = season + 2 + horizon + step * (origins - 1)
            skipped[s.key] = f"{len(s)} days; {origins} origins of {horizon} days need at least {need}"
        else:
            eligible.append(s)
    results = {
        s.key: SeriesBacktest(
            key=s.key,
            test_start=s.start + timedelta(days=len(s) - horizon - step * (origins - 1)),
            test_end=s.end,
            scores={m: ScoreSum() for m in METHODS},
            models=[],
        )
        for s in eligible
    }
    seconds_per_origin: list[float] = []
    for k in reversed(range(origins)):  # oldest origin first
        cuts = [s.cut(s.start + timedelta(days=len(s) - 1 - horizon - step * k)) for s in eligible]
        if not cuts:
            break
        started = time.perf_counter()
        forecasts = forecaster.forecast(cuts, horizon, level)
        seconds_per_origin.append(time.perf_counter() - started)
        if progress is not None:
            progress(f"origin {origins - k}/{origins}: {len(cuts)} series forecast in {seconds_per_origin[-1]:.2f} s")
        for s, train, fc in zip(eligible, cuts, forecasts, strict=True):
            actual = list(s.values[len(train) : len(train) + horizon])
            r = results[s.key]
            scale = seasonal_scale(train.values, season)
            predictions = {
                "ours": fc.points,
                "seasonal_naive": seasonal_naive_forecast(train.values, horizon, season),
                "naive": naive_forecast(train.values, horizon),
            }
            for method, pred in predictions.items():
                err = [abs(a - p) for a, p in zip(actual, pred, strict=True)]
                sc = r.scores[method]
                sc.abs_err += sum(err)
                sc.actual += sum(actual)
                sc.mase.append(sum(err) / len(err) / scale if scale > 0 else math.nan)
            r.models.append(fc.model)
            r.fallbacks += int(fc.fallback)
            r.days += len(actual)
            r.day_hits += sum(1 for a, d in zip(actual, fc.days, strict=True) if d.lower <= a <= d.upper)
            r.windows += 1
            r.total_hits += int(fc.total_lower <= sum(actual) <= fc.total_upper)
    return BacktestReport(
        forecaster=getattr(forecaster, "name", type(forecaster).__name__),
        horizon=horizon,
        origins=origins,
        step=step,
        season=season,
        level=level,
        series=[results[s.key] for s in eligible],
        skipped=skipped,
        seconds=sum(seconds_per_origin),
        seconds_per_origin=seconds_per_origin,
    )


__all__ = [
    "MAX_HORIZON_DAYS",
    "BacktestReport",
    "DailySeries",
    "DayForecast",
    "SeriesBacktest",
    "SeriesForecast",
    "backtest",
    "check_horizon",
    "check_level",
    "naive_forecast",
    "parse_day",
    "seasonal_naive_forecast",
    "seasonal_scale",
]
