"""The forecaster: statsforecast models chosen per series by a rolling-origin backtest on its own history.

Implements :class:`copilot.core.ports.Forecaster`. statsforecast (2.x: compiled C++, no numba JIT) is
imported only here.

How one series is forecast:

1. **Candidates** (:data:`DEFAULT_CANDIDATES`): seasonal naive (weekly), naive, simple exponential
   smoothing (ETS(A,N,N)), a dynamically optimised Theta model with a weekly season, and the means of
   the last 7, 14 and 28 days. ``ets`` (automatic ETS with a weekly season) and ``arima`` (automatic
   ARIMA) can be added by name; on the LaDe Jilin series they were slower and not more accurate.
2. **Selection**: each candidate forecasts the last ``windows`` weeks of the history from the days
   before each week (rolling origin, 7 days ahead). A candidate needs ``windows*7`` days plus its own
   minimum; one that raises or returns a non-finite value is dropped for this series (and named in
   the notes). The ``combine`` candidates with the smallest absolute error are averaged (ties broken
   by the candidate order, so the choice is deterministic); averaging the best few was more accurate
   on held-out weeks than taking the single best.
3. **Forecast**: the chosen candidates are fitted on the whole history and their forecasts averaged,
   cut at zero. A chosen candidate that fails on the whole history is replaced by the next best one,
   and the forecast is flagged ``fallback``. When the history is too short to choose (fewer than
   ``windows*7 + 1`` days) or every candidate fails, the forecast is the mean of the last (up to 7)
   days, flagged ``fallback`` with the reason.
4. **Intervals** come from the errors of the same averaged forecast on the validation weeks (a
   normal approximation with their root mean square error, at least the Poisson spread of the
   forecast, widened for days beyond a week by the square root of the lead time); lower bounds are
   cut at zero. The interval of the total over the
   horizon adds a level error shared by all days (the root mean square error of the validation weeks'
   totals, scaled to the horizon) and independent daily noise.

Zero days are ordinary values. Missing days were filled by :class:`copilot.core.forecasting.DailySeries`
(with zero, listed in its ``filled``) and are reported in the notes. The same history always gives
the same forecast: no randomness, one thread, a fixed order of candidates.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt

from copilot.core.errors import InputError
from copilot.core.forecasting import DailySeries, DayForecast, SeriesForecast, check_horizon, check_level

Array = npt.NDArray[np.float64]
FitPredict = Callable[[Array, int], Array]

DEFAULT_CANDIDATES = ("seasonal_naive", "naive", "ses", "theta", "window_7", "window_14", "window_28")
VALIDATION_DAYS = 7
SEASON = 7


def _models() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import statsforecast.models as sf_models
    return sf_models


def _mean(result: Any) -> Array:
    return np.asarray(result["mean"], dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A named model: ``min_days`` of history it needs, and how to fit it and forecast ``h`` days."""

    name: str
    min_days: int
    fit_predict: FitPredict


#: Days of history each candidate needs before its first validation week.
MIN_DAYS = {
    "seasonal_naive": SEASON,
    "naive": 1,
    "ses": 7,
    "theta": 2 * SEASON,
    "ets": 3 * SEASON,
    "arima": 3 * SEASON,
    "window_7": 7,
    "window_14": 14,
    "window_28": 28,
}


def _candidates(names: Sequence[str]) -> list[Candidate]:
    """The named candidates, built on statsforecast (imported here, on first use)."""
    m = _models()

    def sf(make: Callable[[], Any]) -> FitPredict:
        return lambda y, h: _mean(make().forecast(y=y, h=h))

    makers: dict[str, Callable[[], Any]] = {
        "seasonal_naive": lambda: m.SeasonalNaive(season_length=SEASON),
        "naive": lambda: m.Naive(),
        "ses": lambda: m.AutoETS(model="ANN"),
        "theta": lambda: m.DynamicOptimizedTheta(season_length=SEASON),
        "ets": lambda: m.AutoETS(season_length=SEASON),
        "arima": lambda: m.AutoARIMA(season_length=SEASON),
        "window_7": lambda: m.WindowAverage(window_size=7),
        "window_14": lambda: m.WindowAverage(window_size=14),
        "window_28": lambda: m.WindowAverage(window_size=28),
    }
    return [Candidate(name, MIN_DAYS[name], sf(makers[name])) for name in names]


def _short_reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text[:120]}" if text else type(error).__name__


class StatsForecaster:
    """Per-series model choice by rolling-origin backtest among statsforecast models (see the module doc)."""

    name = "statsforecast-select"

    def __init__(self, candidates: Sequence[str] = DEFAULT_CANDIDATES, *, windows: int = 3, combine: int = 3) -> None:
        unknown = [c for c in candidates if c not in MIN_DAYS]
        if unknown or not candidates:
            raise InputError(f"unknown forecasting model(s) {', '.join(unknown) or '(none given)'}; expected some of {', '.join(MIN_DAYS)}")
        if windows < 1 or combine < 1:
            raise InputError("windows and combine must be 1 or more")
        self.candidates: tuple[str, ...] = tuple(dict.fromkeys(candidates))
        self.windows = windows
        self.combine = combine
        self._built: list[Candidate] | None = None

    @property
    def _candidates(self) -> list[Candidate]:
        if self._built is None:
            self._built = _candidates(self.candidates)
        return self._built

    def warm_up(self) -> float:
        """Import statsforecast and run each candidate once on a small series; returns the seconds taken.

        statsforecast 2.x ships compiled code (no numba JIT), so this is the import and first-call cost.
        """
        started = time.perf_counter()
        y = np.array([float(10 + (i * 7) % 5) for i in range(42)], dtype=np.float64)
        for c in self._candidates:
            try:
                self._run(c, y, 3)
            except Exception:  # a warm-up failure shows up again, and is handled, in forecast()
                continue
        return time.perf_counter() - started

    def forecast(self, series: Sequence[DailySeries], horizon: int, level: int = 80) -> list[SeriesForecast]:
        """One forecast per series (same order) for the ``horizon`` days after its last day."""
        check_horizon(horizon)
        check_level(level)
        z = NormalDist().inv_cdf(0.5 + level / 200)
        return [self._one(s, horizon, level, z) for s in series]

    # -- one series ---------------------------------------------------------------------------

    def _run(self, c: Candidate, y: Array, h: int) -> Array:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            out = c.fit_predict(y, h)
        if out.shape != (h,) or not np.all(np.isfinite(out)):
            raise ValueError("the model returned a non-finite forecast")
        return np.maximum(out, 0.0)

    def _one(self, s: DailySeries, horizon: int, level: int, z: float) -> SeriesForecast:
        y = np.asarray(s.values, dtype=np.float64)
        n = len(y)
        notes: list[str] = []
        if s.filled:
            shown = ", ".join(str(d) for d in s.filled[:5]) + (" ..." if len(s.filled) > 5 else "")
            notes.append(f"{len(s.filled)} missing day(s) counted as zero volume: {shown}")
        val = VALIDATION_DAYS
        cuts = [n - val * k for k in range(self.windows, 0, -1)]
        actual = np.stack([y[c : c + val] for c in cuts]) if cuts[0] >= 1 else np.empty((0, val))
        errors: dict[str, Array] = {}
        predictions: dict[str, Array] = {}
        attempted = 0
        for c in self._candidates:
            if cuts[0] < c.min_days:
                continue
            attempted += 1
            try:
                pred = np.stack([self._run(c, y[:cut], val) for cut in cuts])
            except Exception as exc:  # a model that cannot fit this series is dropped, not fatal
                notes.append(f"{c.name} dropped: it failed on an earlier part of the history ({_short_reason(exc)})")
                continue
            predictions[c.name] = pred
            errors[c.name] = np.abs(actual - pred)
        order = {c.name: i for i, c in enumerate(self._candidates)}
        ranked = sorted(errors, key=lambda name: (float(errors[name].sum()), order[name]))
        if not ranked:
            need = val * self.windows + min(c.min_days for c in self._candidates)
            why = f"only {n} day(s) of history; choosing a model needs at least {need}" if not attempted else "every model failed on this history"
            return self._fallback(s, y, horizon, level, z, why, notes)
        chosen: list[str] = []
        paths: list[Array] = []
        failed: list[str] = []
        by_name = {c.name: c for c in self._candidates}
        for name in ranked:
            if len(chosen) == self.combine:
                break
            try:
                paths.append(self._run(by_name[name], y, horizon))
                chosen.append(name)
            except Exception as exc:
                failed.append(f"{name} ({_short_reason(exc)})")
        if not chosen:
            return self._fallback(s, y, horizon, level, z, "every model failed on the whole history: " + "; ".join(failed), notes)
        point = np.maximum(np.mean(np.stack(paths), axis=0), 0.0)
        val_pred = np.mean(np.stack([predictions[name] for name in chosen]), axis=0)
        residual = actual - val_pred
        # counts vary at least like a Poisson variable: a floor for series the validation weeks happened to fit exactly
        floor = math.sqrt(float(np.mean(point)))
        sd_day = max(float(np.sqrt(np.mean(residual**2))), floor)
        sd_week = max(float(np.sqrt(np.mean(residual.sum(axis=1) ** 2))), floor * math.sqrt(val))
        fallback = bool(failed)
        reason = ""
        if failed:
            reason = "the best model(s) failed on the whole history: " + "; ".join(failed) + "; used the next best instead"
        model = chosen[0] if len(chosen) == 1 else f"mean({', '.join(chosen)})"
        mae = float(np.mean(np.abs(residual)))
        notes.append(f"chosen by a backtest on the last {self.windows} week(s): mean absolute error {mae:.2f} a day")
        return self._result(s, point, sd_day, sd_week, horizon, level, z, model, fallback, reason, notes)

    def _fallback(self, s: DailySeries, y: Array, horizon: int, level: int, z: float, why: str, notes: list[str]) -> SeriesForecast:
        recent = y[-min(len(y), VALIDATION_DAYS) :]
        mean = float(np.mean(recent))
        # spread of the recent days, at least Poisson-like so that a flat or one-day history has an interval
        sd = max(float(np.std(recent, ddof=1)) if len(recent) > 1 else 0.0, math.sqrt(mean))
        point = np.full(horizon, mean, dtype=np.float64)
        model = f"window_{len(recent)}"
        reason = why + f"; used the mean of the last {len(recent)} day(s)"
        return self._result(s, point, sd, sd * math.sqrt(VALIDATION_DAYS), horizon, level, z, model, True, reason, notes)

    def _result(
        self,
        s: DailySeries,
        point: Array,
        sd_day: float,
        sd_week: float,
        horizon: int,
        level: int,
        z: float,
        model: str,
        fallback: bool,
        reason: str,
        notes: list[str],
    ) -> SeriesForecast:
        days: list[DayForecast] = []
        for i in range(horizon):
            lead = i + 1
            sd = sd_day * math.sqrt(max(1.0, lead / VALIDATION_DAYS))
            p = float(point[i])
            days.append(DayForecast(s.end + timedelta(days=lead), p, max(0.0, p - z * sd), p + z * sd))
        total = float(sum(d.point for d in days))
        # a level error shared by the days (from the weekly totals) plus independent daily noise
        sd_total = math.sqrt((sd_week * horizon / VALIDATION_DAYS) ** 2 + sd_day**2 * horizon)
        return SeriesForecast(
            key=s.key,
            days=tuple(days),
            level=level,
            model=model,
            total=total,
            total_lower=max(0.0, total - z * sd_total),
            total_upper=total + z * sd_total,
            fallback=fallback,
            reason=reason,
            notes=tuple(notes),
        )


__all__ = ["DEFAULT_CANDIDATES", "StatsForecaster"]
