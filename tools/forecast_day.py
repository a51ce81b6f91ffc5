"""A forecast-driven day: the demand forecast of the world's history (:mod:`tools.forecast`) as a what-if change.

:func:`forecast_day` turns the forecast for one day into a ``resample_orders`` change
(:class:`tools.whatif.ResampleOrders`) that a what-if or a scenario variant (:mod:`copilot.apps.scenario`)
applies: the day gets as many orders as the forecast says, or its orders scaled by forecast / recent volume.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from copilot.core.errors import InputError
from copilot.core.forecasting import MAX_HORIZON_DAYS, parse_day
from tools.context import RequestModel, ToolContext
from tools.forecast import ForecastRequest, HistoryRequest, forecast_demand, history_volume
from tools.whatif import ResampleOrders

__all__ = ["ForecastDayOut", "ForecastDayRequest", "forecast_day"]


class ForecastDayRequest(RequestModel):
    """A day whose number of orders follows the demand forecast of the world's history."""

    series: list[str] | None = Field(default=None, description="history series whose forecasts add up to the day's volume (default: every series)")
    day: str | None = Field(
        default=None, description="ISO date to forecast (default: the world's date when the history ends 1 to 28 days before it, else the day after the history)"
    )
    mode: Literal["volume", "relative"] = Field(
        default="volume",
        description="volume: the day gets as many orders as the forecast; relative: the day's orders are scaled by forecast / mean daily volume of the "
        "last window_days history days (for history that is not the station's own, or counts in other units)",
    )
    window_days: int = Field(default=28, ge=1, le=366, description="relative mode: how many of the last history days make the reference mean")
    seed: int = Field(default=0, description="seed of the resample_orders change")


class ForecastDayOut(BaseModel):
    """How many orders the forecast gives the day, and the change that makes the world so."""

    day: str = Field(description="the forecast day, ISO date")
    series: list[str]
    mode: Literal["volume", "relative"]
    forecast: float = Field(description="sum over the series of forecast_demand's point forecast for the day")
    reference: float | None = Field(default=None, description="relative mode: mean daily volume over the last window_days history days (sum over the series)")
    orders_before: int = Field(description="active orders of the world")
    count: int = Field(description="active orders of the forecast-driven day (rounded to a whole order)")
    models: list[str] = Field(description="the forecast model of each series")
    change: ResampleOrders = Field(description="the change to apply (a what-if or a scenario variant)")
    words: str


def forecast_day(ctx: ToolContext, request: ForecastDayRequest) -> ForecastDayOut:
    """The order count of a forecast-driven day from :func:`tools.forecast.forecast_demand`, as a ``resample_orders`` change.

    ``volume`` mode: count = round(sum of the series' point forecasts for the day). ``relative`` mode:
    count = round(active orders x forecast / reference), with reference the mean daily volume of the
    series over their last ``window_days`` history days (from :func:`tools.forecast.history_volume`).
    Reads only; the world itself is not changed.
    """
    world = ctx.world()
    reader = ctx.history_reader()
    known = {s.key: s for s in reader.series(ctx.world_name)}
    keys = list(dict.fromkeys(reader.resolve(ctx.world_name, s) for s in request.series)) if request.series else list(known)
    if not keys:
        raise InputError(f"world {ctx.world_name!r} has no history to forecast from; import history first (logistics-copilot forecast import)")
    ends = {k: date.fromisoformat(known[k].last) for k in keys}
    if request.day is not None:
        day = parse_day(request.day, "day")
    else:
        own = parse_day(world.date, "the world's date") if world.date else None
        fits = own is not None and all(1 <= (own - e).days <= MAX_HORIZON_DAYS for e in ends.values())
        day = own if fits and own is not None else max(ends.values()) + timedelta(days=1)
    total = 0.0
    models: list[str] = []
    for k in keys:
        h = (day - ends[k]).days
        if not 1 <= h <= MAX_HORIZON_DAYS:
            raise InputError(f"{day} is {h} day(s) after the history of series {k!r} ends ({ends[k]}); a forecast needs a day 1 to {MAX_HORIZON_DAYS} days after it")
        fc = forecast_demand(ctx, ForecastRequest(series=k, days=h))
        total += fc.days[-1].forecast
        models.append(f"{k}: {fc.model}")
    active = len(world.active_orders())
    reference: float | None = None
    if request.mode == "volume":
        count = round(total)
        how = f"forecast {total:.1f} order(s) for {day}"
    else:
        reference = 0.0
        for k in keys:
            start = ends[k] - timedelta(days=request.window_days - 1)
            reference += history_volume(ctx, HistoryRequest(series=k, start=start.isoformat(), end=ends[k].isoformat())).total / request.window_days
        if reference <= 0:
            raise InputError(f"the last {request.window_days} history day(s) of {', '.join(keys)} hold no volume; relative mode needs a positive reference")
        count = round(active * total / reference)
        how = f"forecast {total:.1f} for {day} against a mean of {reference:.1f} a day over the last {request.window_days} day(s)"
        how += f": x{total / reference:.3f} on {active} order(s)"
    change = ResampleOrders(count=count, seed=request.seed)
    return ForecastDayOut(
        day=day.isoformat(),
        series=keys,
        mode=request.mode,
        forecast=round(total, 1),
        reference=round(reference, 3) if reference is not None else None,
        orders_before=active,
        count=count,
        models=models,
        change=change,
        words=f"forecast-driven day ({', '.join(keys)}): {how} -> {count} order(s)",
    )
