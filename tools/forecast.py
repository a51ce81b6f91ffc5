"""Demand tools: forecasts with intervals, history questions and fleet sizing, for the agent and the API.

Every tool reads only: history comes through the read-only, parameterised queries of the store
(:meth:`ToolContext.history_reader`), forecasts from the injected :class:`copilot.core.ports.Forecaster`,
fleet sizing solves sampled days with the injected routing solver. Nothing is written.

A forecast covers the ``days`` days after the series' last history day (for the ``jilin-1001`` world,
whose history ends on 2022-09-30, that is 2022-10-01 on, the operating day). ``total`` is the sum of
the daily point forecasts; :func:`forecast_total` returns exactly that number. The same stored history
always gives the same forecast.
"""

from __future__ import annotations

import math
import random
from datetime import date, timedelta
from statistics import NormalDist

from pydantic import BaseModel, Field, model_validator

from copilot.core.domain import Depot, Vehicle
from copilot.core.errors import InputError
from copilot.core.forecasting import MAX_HORIZON_DAYS, DailySeries, SeriesForecast, parse_day
from copilot.core.routing import FleetVehicle, RoutingProblem, SolveOptions, Stop, route_distance
from copilot.core.units import travel_matrices
from tools.context import RequestModel, ToolContext

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _r(x: float, digits: int = 1) -> float:
    return round(x + 0.0, digits)


def _load_series(ctx: ToolContext, series: str) -> DailySeries:
    """The whole stored history of one series as a daily series (missing days count as zero, noted)."""
    reader = ctx.history_reader()
    key = reader.resolve(ctx.world_name, series)
    rows = reader.daily(ctx.world_name, key)
    if not rows:
        raise InputError(f"series {key!r} has no history rows")
    return DailySeries.from_points(key, rows, missing="zero")


# --------------------------------------------------------------------------------------------------
# Forecast
# --------------------------------------------------------------------------------------------------


class ForecastRequest(RequestModel):
    """Which series to forecast, for how many days."""

    series: str = Field(description="the series key as stored, e.g. a region id like '31' (list_series shows them)")
    days: int = Field(default=7, ge=1, le=MAX_HORIZON_DAYS, description="days ahead, starting the day after the last history day")
    level: int = Field(default=80, ge=50, le=99, description="interval level in percent (80: 10% chance below, 10% above)")


class DayForecastOut(BaseModel):
    """The forecast for one day."""

    date: str = Field(description="ISO date")
    weekday: str
    forecast: float = Field(description="point forecast of the day's volume (orders), 1 decimal")
    lower: float = Field(description="lower end of the interval")
    upper: float = Field(description="upper end of the interval")


class ForecastOut(BaseModel):
    """A volume forecast for one series."""

    series: str
    history_end: str = Field(description="the last day of stored history")
    first_day: str = Field(description="the first forecast day (the day after history_end)")
    last_day: str
    total: float = Field(description="sum of the daily point forecasts over the days, 1 decimal: the number to quote")
    total_lower: float = Field(description="lower end of the total's interval")
    total_upper: float = Field(description="upper end of the total's interval")
    level: int = Field(description="interval level in percent")
    days: list[DayForecastOut] = Field(description="one entry per forecast day, first_day first")
    model: str = Field(description="the model(s) used; 'mean(a, b, c)' is the average of the three best in a backtest")
    fallback: bool = Field(description="True when the preferred model could not be used (short history or a failed fit); see reason")
    reason: str | None = Field(default=None, description="why a fallback was used")
    notes: list[str] = Field(default_factory=list)


def _forecast(ctx: ToolContext, series: str, days: int, level: int = 80) -> SeriesForecast:
    forecaster = ctx.require_forecaster()
    s = _load_series(ctx, series)
    return forecaster.forecast([s], days, level)[0]


def _out(fc: SeriesForecast, history_end: date) -> ForecastOut:
    return ForecastOut(
        series=fc.key,
        history_end=history_end.isoformat(),
        first_day=fc.days[0].day.isoformat(),
        last_day=fc.days[-1].day.isoformat(),
        total=_r(fc.total),
        total_lower=_r(fc.total_lower),
        total_upper=_r(fc.total_upper),
        level=fc.level,
        days=[DayForecastOut(date=d.day.isoformat(), weekday=WEEKDAYS[d.day.weekday()], forecast=_r(d.point), lower=_r(d.lower), upper=_r(d.upper)) for d in fc.days],
        model=fc.model,
        fallback=fc.fallback,
        reason=fc.reason or None,
        notes=list(fc.notes),
    )


def forecast_demand(ctx: ToolContext, request: ForecastRequest) -> ForecastOut:
    """Forecast a series' daily volume for the next ``days`` days, with an interval per day and for the total."""
    fc = _forecast(ctx, request.series, request.days, request.level)
    return _out(fc, fc.days[0].day - timedelta(days=1))


def forecast_total(ctx: ToolContext, series: str, days: int) -> float:
    """The project's own forecast total for a series over the next ``days`` days (equals ``forecast_demand(...).total``)."""
    return forecast_demand(ctx, ForecastRequest(series=series, days=days)).total


# --------------------------------------------------------------------------------------------------
# History
# --------------------------------------------------------------------------------------------------


class SeriesOut(BaseModel):
    """One history series."""

    series: str
    first_day: str
    last_day: str
    days: int = Field(description="days with a row")
    total: int = Field(description="total volume over the whole history")
    mean_per_day: float


class SeriesList(BaseModel):
    """Every history series of the world."""

    world: str
    series: list[SeriesOut]


def list_series(ctx: ToolContext) -> SeriesList:
    """The world's history series (regions, couriers, ...) with their date range and totals."""
    items = ctx.history_reader().series(ctx.world_name)
    return SeriesList(
        world=ctx.world_name,
        series=[
            SeriesOut(series=s.key, first_day=s.first, last_day=s.last, days=s.days, total=s.total, mean_per_day=_r(s.total / s.days if s.days else 0.0)) for s in items
        ],
    )


class HistoryRequest(RequestModel):
    """A series and a date range (both ends included)."""

    series: str = Field(description="the series key, e.g. '53'")
    start: str | None = Field(default=None, description="first day, ISO date like 2022-09-24 (default: 6 days before end)")
    end: str | None = Field(default=None, description="last day, ISO date (default: the last history day)")


class DayVolume(BaseModel):
    """One day's volume."""

    date: str
    weekday: str
    volume: int


class HistoryOut(BaseModel):
    """Volumes of one series over a date range."""

    series: str
    start: str
    end: str
    total: int = Field(description="total volume over start..end inclusive")
    days_with_data: int
    mean_per_day: float
    days: list[DayVolume] = Field(description="the days with a row, oldest first")
    note: str | None = None


def _bounds(ctx: ToolContext, series: str, start: str | None, end: str | None, default_days: int | None) -> tuple[str, date, date, date, date]:
    """The series key and the asked range (``default_days`` before ``end`` when no start; None: from the first day)."""
    reader = ctx.history_reader()
    key = reader.resolve(ctx.world_name, series)
    info = next(s for s in reader.series(ctx.world_name) if s.key == key)
    first, last = date.fromisoformat(info.first), date.fromisoformat(info.last)
    hi = parse_day(end, "end") if end else last
    default_lo = first if default_days is None else hi - timedelta(days=default_days - 1)
    lo = parse_day(start, "start") if start else default_lo
    if lo > hi:
        raise InputError(f"the date range is empty: start {lo} is after end {hi}")
    return key, lo, hi, first, last


def history_volume(ctx: ToolContext, request: HistoryRequest) -> HistoryOut:
    """Total and daily volume of one series from ``start`` to ``end`` (both included)."""
    key, lo, hi, first, last = _bounds(ctx, request.series, request.start, request.end, 7)
    reader = ctx.history_reader()
    rows = reader.daily(ctx.world_name, key, lo.isoformat(), hi.isoformat())
    total = sum(v for _, v in rows)
    span = (hi - lo).days + 1
    note = None
    if lo < first or hi > last:
        note = f"the history of {key} runs from {first} to {last}; days outside it have no data and count as nothing"
    elif len(rows) < span:
        note = f"{span - len(rows)} day(s) in the range have no row"
    return HistoryOut(
        series=key,
        start=lo.isoformat(),
        end=hi.isoformat(),
        total=total,
        days_with_data=len(rows),
        mean_per_day=_r(total / len(rows) if rows else 0.0),
        days=[DayVolume(date=d, weekday=WEEKDAYS[date.fromisoformat(d).weekday()], volume=v) for d, v in rows],
        note=note,
    )


class ProfileRequest(RequestModel):
    """A series and an optional date range (default: the whole history)."""

    series: str = Field(description="the series key, e.g. '31'")
    start: str | None = Field(default=None, description="first day, ISO date (default: the first history day)")
    end: str | None = Field(default=None, description="last day, ISO date (default: the last history day)")


class WeekdayOut(BaseModel):
    """The mean volume on one weekday."""

    weekday: str
    mean: float
    days: int
    share_of_week: float = Field(description="this weekday's mean / the sum of the seven means")


class ProfileOut(BaseModel):
    """Mean volume by day of week."""

    series: str
    start: str
    end: str
    weekdays: list[WeekdayOut]
    busiest: str
    quietest: str
    max_min_ratio: float | None = Field(description="busiest mean / quietest mean (None when the quietest mean is zero)")


def day_of_week_profile(ctx: ToolContext, request: ProfileRequest) -> ProfileOut:
    """Mean daily volume per weekday (Mon..Sun) of one series over a date range."""
    key, lo, hi, _first, _last = _bounds(ctx, request.series, request.start, request.end, None)
    rows = ctx.history_reader().daily(ctx.world_name, key, lo.isoformat(), hi.isoformat())
    sums = [0.0] * 7
    counts = [0] * 7
    for d, v in rows:
        wd = date.fromisoformat(d).weekday()
        sums[wd] += v
        counts[wd] += 1
    means = [sums[i] / counts[i] if counts[i] else 0.0 for i in range(7)]
    week = sum(means)
    busiest = max(range(7), key=lambda i: (means[i], -i))
    quietest = min(range(7), key=lambda i: (means[i], i))
    return ProfileOut(
        series=key,
        start=lo.isoformat(),
        end=hi.isoformat(),
        weekdays=[WeekdayOut(weekday=WEEKDAYS[i], mean=_r(means[i]), days=counts[i], share_of_week=_r(means[i] / week if week else 0.0, 3)) for i in range(7)],
        busiest=WEEKDAYS[busiest],
        quietest=WEEKDAYS[quietest],
        max_min_ratio=_r(means[busiest] / means[quietest], 2) if means[quietest] > 0 else None,
    )


# --------------------------------------------------------------------------------------------------
# Fleet sizing
# --------------------------------------------------------------------------------------------------

VEHICLE_COST = 100_000  # per vehicle used, as 100 km of driving (distances cost 1 a metre): the solver saves vehicles first
DROP_PENALTY = 10**7  # per order left out: more than a vehicle, so an order is dropped only when no vehicle can serve it


MAX_FLEET_WORK_S = 120.0  # solver seconds one fleet-size request may spend over all its samples


class FleetSizeRequest(RequestModel):
    """A day to size the fleet for, and how to sample it."""

    day: str | None = Field(default=None, description="ISO date within 28 days after the history (default: the first forecast day)")
    series: list[str] | None = Field(default=None, description="series whose volumes add up to the day's orders (default: every series)")
    samples: int = Field(default=5, ge=1, le=50, description="sampled order sets; each is solved once")
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="seed of the sampled locations (same seed, same answer)")
    time_limit_s: float = Field(default=2.0, gt=0, le=60, description="solver time cap per sample")
    iterations: int | None = Field(default=200, ge=1, le=100_000, description="solver work per sample (fixed work gives repeatable answers; None: time only)")
    service_min: float = Field(default=3.0, ge=0, le=120, description="minutes of service per order")
    parcels_per_order: int = Field(default=1, ge=1, le=1000)
    center_lat: float | None = Field(default=None, ge=-90, le=90, description="centre of the service area (default: the depot)")
    center_lng: float | None = Field(default=None, ge=-180, le=180)
    radius_km: float = Field(default=5.0, gt=0, le=100, description="radius of the service area, used when the world has no past order locations")
    level: int = Field(default=80, ge=50, le=99, description="interval level of the volume forecast used for sampling")

    @model_validator(mode="after")
    def _bounded_work(self) -> FleetSizeRequest:
        if self.samples * self.time_limit_s > MAX_FLEET_WORK_S:
            raise ValueError(f"samples x time_limit_s may be at most {MAX_FLEET_WORK_S:g} solver seconds per request, got {self.samples * self.time_limit_s:g}")
        return self


class FleetSample(BaseModel):
    """One sampled day."""

    orders: int
    vehicles: int
    unserved: int
    distance_km: float


class FleetSizeOut(BaseModel):
    """Vehicles needed for a day: the median (P50) and the 90th percentile (P90) over sampled days."""

    day: str
    series: list[str]
    volume_forecast: float = Field(description="forecast orders of the day (sum over the series)")
    volume_lower: float
    volume_upper: float
    vehicles_p50: int
    vehicles_p90: int
    fleet_available: int = Field(description="vehicles in the world that are not reported unavailable")
    enough: bool = Field(description="vehicles_p90 <= fleet_available and every sampled order was served")
    samples: list[FleetSample]
    location_model: str
    vehicle_model: str
    notes: list[str] = Field(default_factory=list)


def _quantile_rank(values: list[int], q: float) -> int:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _disk_point(rng: random.Random, lat: float, lng: float, radius_m: float) -> tuple[float, float]:
    r = radius_m * math.sqrt(rng.random())
    theta = 2 * math.pi * rng.random()
    dlat = r * math.cos(theta) / 111_320.0
    dlng = r * math.sin(theta) / (111_320.0 * max(0.01, math.cos(math.radians(lat))))
    return lat + dlat, lng + dlng


def fleet_size(ctx: ToolContext, request: FleetSizeRequest) -> FleetSizeOut:
    """Vehicles needed on a forecast day (P50/P90): sampled order sets solved with the routing engine.

    Order counts are drawn from the forecast (evenly spread quantiles of a normal distribution with the
    forecast's interval), locations from the world's order locations when it has orders, else uniformly
    from a disk around the depot (or the given centre). Each order is ``parcels_per_order`` parcels with
    ``service_min`` minutes of service and no time window; the vehicles are copies of the world's
    vehicles (capacity, shift, speed). The solver minimises vehicles first, then distance.
    """
    forecaster = ctx.require_forecaster()
    world = ctx.world()
    reader = ctx.history_reader()
    keys = request.series or [s.key for s in reader.series(ctx.world_name)]
    if not keys:
        raise InputError(f"world {ctx.world_name!r} has no history to forecast from; import history first")
    loaded = [_load_series(ctx, k) for k in keys]
    ends = {s.end for s in loaded}
    day = parse_day(request.day, "day") if request.day else min(ends) + timedelta(days=1)
    horizons = {s.key: (day - s.end).days for s in loaded}
    for key, h in horizons.items():
        if not 1 <= h <= MAX_HORIZON_DAYS:
            raise InputError(f"{day} is {h} day(s) after the history of series {key!r} ends; fleet sizing needs a day 1 to {MAX_HORIZON_DAYS} days after it")
    by_h: dict[int, list[DailySeries]] = {}
    for s in loaded:
        by_h.setdefault(horizons[s.key], []).append(s)
    z = NormalDist().inv_cdf(0.5 + request.level / 200)
    point = var = lower = upper = 0.0
    for h, group in sorted(by_h.items()):
        for fc in forecaster.forecast(group, h, request.level):
            d = fc.days[-1]
            point += d.point
            lower += d.lower
            upper += d.upper
            var += ((d.upper - d.lower) / (2 * z)) ** 2
    sd = math.sqrt(var)

    if not world.depots or not world.vehicles:
        raise InputError(f"world {ctx.world_name!r} needs a depot and at least one vehicle to size the fleet")
    templates = [v for v in world.vehicles if v.available] or list(world.vehicles)
    depot = world.depot(templates[0].depot_id)
    templates = [v for v in templates if v.depot_id == depot.id]
    past = [(o.location.lat, o.location.lng) for o in world.orders if not o.cancelled]
    centre = (request.center_lat if request.center_lat is not None else depot.location.lat, request.center_lng if request.center_lng is not None else depot.location.lng)
    if past:
        location_model = f"past order locations of the world ({len(past)}), drawn with replacement"
    else:
        location_model = f"uniform in a {request.radius_km:g} km disk around {centre[0]:.4f}, {centre[1]:.4f}" + (
            f" (depot {depot.id})" if request.center_lat is None and request.center_lng is None else ""
        )
    rng = random.Random(request.seed)
    samples: list[FleetSample] = []
    notes: list[str] = []
    for i in range(request.samples):
        q = (i + 0.5) / request.samples
        orders = max(0, round(point + sd * NormalDist().inv_cdf(q))) if sd > 0 else max(0, round(point))
        if past:
            points = [past[rng.randrange(len(past))] for _ in range(orders)]
        else:
            points = [_disk_point(rng, centre[0], centre[1], request.radius_km * 1000) for _ in range(orders)]
        samples.append(_solve_day(ctx, depot, templates, points, request, seed=request.seed + i))
    vehicles = [s.vehicles for s in samples]
    p50, p90 = _quantile_rank(vehicles, 0.5), _quantile_rank(vehicles, 0.9)
    available = sum(1 for v in world.vehicles if v.available)
    unserved = sum(s.unserved for s in samples)
    if unserved:
        notes.append(f"{unserved} sampled order(s) could not be served by any vehicle (too far for a shift, or too heavy)")
    if request.samples < 10:
        notes.append(f"P90 over {request.samples} samples is the vehicles of the busiest sample or close to it; ask for more samples for a finer answer")
    cap = sorted({v.capacity for v in templates})
    return FleetSizeOut(
        day=day.isoformat(),
        series=[s.key for s in loaded],
        volume_forecast=_r(point),
        volume_lower=_r(lower),
        volume_upper=_r(upper),
        vehicles_p50=p50,
        vehicles_p90=p90,
        fleet_available=available,
        enough=p90 <= available and unserved == 0,
        samples=samples,
        location_model=location_model,
        vehicle_model=f"copies of the {len(templates)} vehicle(s) of depot {depot.id} (capacity {', '.join(map(str, cap))} parcels)",
        notes=notes,
    )


def _solve_day(ctx: ToolContext, depot: Depot, templates: list[Vehicle], points: list[tuple[float, float]], request: FleetSizeRequest, seed: int) -> FleetSample:
    if not points:
        return FleetSample(orders=0, vehicles=0, unserved=0, distance_km=0.0)
    coords = [(depot.location.lat, depot.location.lng), *points]
    speeds = sorted({v.speed_kmh for v in templates})
    dist, durations = travel_matrices(coords, speeds)
    parcels = request.parcels_per_order
    min_cap = min(v.capacity for v in templates)
    pool = max(len(templates), 2 * math.ceil(len(points) * parcels / min_cap) + 2)
    fleet = []
    for k in range(pool):
        v = templates[k % len(templates)]
        ready = max(v.shift.start, depot.hours.start)
        fleet.append(
            FleetVehicle(
                id=f"{v.id}#{k // len(templates) + 1}",
                start=0,
                end=0,
                capacity=v.capacity,
                ready=ready,
                latest_end=max(ready, min(v.shift.end, depot.hours.end)),
                profile=speeds.index(v.speed_kmh),
                cost_per_distance=1,
                max_duration=v.max_route_duration_s,
            )
        )
    service = round(request.service_min * 60)
    stops = tuple(Stop(id=f"s{i}", location=i + 1, delivery=parcels, service=service, penalty=DROP_PENALTY) for i in range(len(points)))
    problem = RoutingProblem(distance=dist, durations=durations, stops=stops, vehicles=tuple(fleet), vehicle_cost=VEHICLE_COST, name="fleet-size")
    options = SolveOptions(time_limit_s=request.time_limit_s, seed=seed, iterations=request.iterations, engine=ctx.settings.engine)
    solution = ctx.planning.solver.solve(problem, options)
    used = [(vi, seq) for vi, seq in enumerate(solution.routes) if seq]
    metres = sum(route_distance(problem, vi, seq) for vi, seq in used)
    return FleetSample(orders=len(points), vehicles=len(used), unserved=len(solution.dropped), distance_km=_r(metres / 1000, 3))


__all__ = [
    "DayForecastOut",
    "DayVolume",
    "FleetSample",
    "FleetSizeOut",
    "FleetSizeRequest",
    "ForecastOut",
    "ForecastRequest",
    "HistoryOut",
    "HistoryRequest",
    "ProfileOut",
    "ProfileRequest",
    "SeriesList",
    "SeriesOut",
    "WeekdayOut",
    "day_of_week_profile",
    "fleet_size",
    "forecast_demand",
    "forecast_total",
    "history_volume",
    "list_series",
]
