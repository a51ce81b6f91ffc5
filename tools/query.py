"""Questions over the data: a small, flat query spec that the chat model fills, checked here and answered in SQL.

The model never writes SQL. It fills a :class:`QuerySpec` (a JSON schema of enums, a few dates and ids);
:func:`run_query` checks it (every mistake is an :class:`~copilot.core.errors.InputError` that says what to ask
instead), turns it into a :class:`copilot.core.ports.DataQuery` and hands that to the store's read-only
:class:`~copilot.core.ports.DataReader` (``ctx.data_reader()``; on the SQL store ``tools/sql/aggregates.py``
compiles it to parameterised SQLAlchemy Core). Nothing is written.

Sources and their rows:

* ``history``: the world's daily volume, one row per region and day (``volume``).
* ``orders``: today's orders, one row per order (``demand``), with its state in the committed plan (or the
  latest draft with ``plan="draft"``): ``status`` assigned (on a route), unassigned (left out by the plan),
  cancelled, or not_planned (not in the plan, e.g. added after it); ``vehicle`` the van of its route (null
  when on none).

How a question reads: ``metric`` of ``field`` is computed per group of ``group_by`` (one value per group,
from the rows in it); ``order`` and ``top_k`` then pick among the groups. Examples:

* busiest region in July: history, sum, volume, group_by [region], 2022-07-01..2022-07-31, desc, top_k 1
* September day with the most in region 31: history, sum, group_by [date], regions [31], Sep dates, desc, top_k 1
* each day 20-26 Sep in region 129: history, sum, group_by [date], regions [129], 2022-09-20..2022-09-26
* all regions together on 10 Sep: history, sum, date_from = date_to = 2022-09-10 (no group_by)
* orders per van today: orders, count, group_by [vehicle]

Numbers are exact: sums, counts, maxima and minima of whole volumes are whole numbers; means and percentages
are rounded to 2 decimals.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from copilot.core.errors import InputError, NotFound
from copilot.core.forecasting import parse_day
from copilot.core.ports import DataAnswer, DataGroup, DataQuery
from tools.context import RequestModel, ToolContext, find_vehicle
from tools.kpis import resolve_plan

Source = Literal["history", "orders"]
Metric = Literal["sum", "count", "mean", "max", "min"]
GroupKey = Literal["region", "date", "weekday", "month", "kind", "status", "priority", "vehicle", "skill"]

FIELDS: dict[str, str] = {"history": "volume", "orders": "demand"}
GROUPS: dict[str, tuple[str, ...]] = {"history": ("region", "date", "weekday", "month"), "orders": ("kind", "status", "priority", "vehicle", "skill")}
ROWS: dict[str, str] = {"history": "history rows (one per region and day)", "orders": "orders (one row per order)"}
MAX_GROUPS = 1000  # groups one answer may list without top_k
MAX_REGIONS = 100


class QuerySpec(RequestModel):
    """A question over the world's data: a metric per group, optional filters, a sort and a top-k."""

    source: Source = Field(description="history: daily volume per region and day; orders: today's orders with their plan state")
    metric: Metric = Field(description="computed per group over its rows: sum, count (rows), mean, max or min")
    field: Literal["volume", "demand"] | None = Field(default=None, description="volume (history) or demand (orders); empty: the source's own; ignored by count")
    group_by: list[GroupKey] = Field(
        default_factory=list, max_length=2, description="up to 2; history: region, date, weekday, month; orders: kind, status, priority, vehicle, skill"
    )
    date_from: str | None = Field(default=None, description="history only: first day, ISO date, included (default: the first history day)")
    date_to: str | None = Field(default=None, description="history only: last day, ISO date, included (default: the last history day)")
    regions: list[str] | None = Field(default=None, max_length=MAX_REGIONS, description="history only: keep these regions (default: all)")
    kind: Literal["pickup", "delivery"] | None = Field(default=None, description="orders only: keep this kind")
    priority: Literal["normal", "high"] | None = Field(default=None, description="orders only: keep this priority")
    status: Literal["assigned", "unassigned", "cancelled", "not_planned"] | None = Field(default=None, description="orders only: keep this plan state")
    vehicle: str | None = Field(default=None, max_length=100, description="orders only: keep the orders on this vehicle's route")
    plan: Literal["committed", "draft"] = Field(default="committed", description="orders only: the committed plan or the latest draft")
    order: Literal["desc", "asc"] | None = Field(default=None, description="sort groups by value: desc (largest first) or asc; empty: by group")
    top_k: int | None = Field(default=None, ge=1, le=100, description="keep the first k groups after sorting (desc when order is empty)")
    compare_from: str | None = Field(default=None, description="history only: first day of a second period, computed the same way")
    compare_to: str | None = Field(default=None, description="history only: last day of the second period")

    @field_validator("date_from", "date_to", "compare_from", "compare_to", "vehicle", "regions", "field", "order", "kind", "priority", "status", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        """An empty text or list (what a model often sends for a field it does not use) means the field is not given."""
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, list) and not value:
            return None
        return value


class QueryRow(BaseModel):
    """One group of the answer (the only row when nothing is grouped)."""

    group: dict[str, str | None] = Field(description="the group's value per group_by name ({} without group_by); vehicle null: on no route")
    value: int | float | None = Field(description="the metric over the group's rows (None: mean, max or min over no rows)")
    rows: int = Field(description="rows the value was computed from")
    compare_value: int | float | None = Field(default=None, description="the same group in the compare period")
    difference: int | float | None = Field(default=None, description="value - compare_value")
    percent_change: float | None = Field(default=None, description="difference / compare_value x 100 (None when compare_value is 0 or missing)")


class Period(BaseModel):
    """The days asked for and the days the history actually had."""

    date_from: str = Field(description="the first day asked (default: the first history day)")
    date_to: str = Field(description="the last day asked (default: the last history day)")
    days_in_range: int
    first_with_data: str | None = Field(description="the first day with a matching history row (None: no data)")
    last_with_data: str | None
    days_with_data: int = Field(description="days with at least one matching row")


class CompareOut(BaseModel):
    """The second period, and the totals side by side."""

    period: Period
    total: int | None = Field(description="sum or count over every matching row of the compare period (None for mean, max, min)")
    difference: int | None = Field(description="total - compare total")
    percent_change: float | None = Field(description="difference / compare total x 100")


class QueryResult(BaseModel):
    """The answer: one row per group (sorted, cut to top_k), the total, the days covered, and the comparison when asked."""

    spec: QuerySpec = Field(description="the question as answered (defaults filled in: field, order)")
    meaning: str = Field(description="what was computed, in words")
    rows: list[QueryRow]
    groups: int = Field(description="groups in the answer before top_k")
    total: int | None = Field(description="sum or count over every matching row, all groups together (None for mean, max, min)")
    period: Period | None = Field(default=None, description="history: the days asked and covered")
    compare: CompareOut | None = None
    plan_id: int | None = Field(default=None, description="orders: the plan whose routes were looked at (None: no plan)")
    note: str | None = None


# --------------------------------------------------------------------------------------------------
# Checking
# --------------------------------------------------------------------------------------------------


def _day(text: str | None, what: str) -> date | None:
    return None if text is None else parse_day(text, what)


def _check_range(start: str | None, end: str | None, first: str, last: str) -> None:
    lo, hi = _day(start, first), _day(end, last)
    if lo is not None and hi is not None and lo > hi:
        raise InputError(f"the dates are the wrong way round: {first} {lo} is after {last} {hi}")


def _check(spec: QuerySpec) -> QuerySpec:
    """The spec with its defaults filled in (field, order), or an InputError saying what to ask instead."""
    source = spec.source
    other = "orders" if source == "history" else "history"
    seen: set[str] = set()
    for g in spec.group_by:
        if g in seen:
            raise InputError(f"group_by names {g!r} twice; give each group once (at most 2)")
        seen.add(g)
        if g not in GROUPS[source]:
            raise InputError(f"group_by {g!r} belongs to source {other}; {source} can be grouped by {', '.join(GROUPS[source])}")
    field: str | None = spec.field
    if field is not None and field != FIELDS[source]:
        raise InputError(f"field {field!r} is not in {source}: {source} has {FIELDS[source]!r} ({other} has {FIELDS[other]!r})")
    if field is None and spec.metric != "count":
        field = FIELDS[source]
    if source == "history":
        used = [n for n in ("kind", "priority", "status", "vehicle") if getattr(spec, n) is not None]
        if used:
            raise InputError(f"{', '.join(used)} filter(s) orders; history has only date_from, date_to and regions")
        _check_range(spec.date_from, spec.date_to, "date_from", "date_to")
        compared = spec.compare_from is not None or spec.compare_to is not None
        if compared:
            if spec.compare_from is None or spec.compare_to is None:
                raise InputError("a comparison needs both compare_from and compare_to")
            if spec.date_from is None or spec.date_to is None:
                raise InputError("a comparison needs date_from and date_to for the first period too")
            _check_range(spec.compare_from, spec.compare_to, "compare_from", "compare_to")
            for g in spec.group_by:
                if g in ("date", "month"):
                    raise InputError(f"group_by {g!r} does not line up between two periods; compare by region or weekday, or without group_by")
    else:
        used = [n for n in ("date_from", "date_to", "regions", "compare_from", "compare_to") if getattr(spec, n) is not None]
        if used:
            raise InputError(f"{', '.join(used)} apply to history; orders are the world's orders of today (filter them by kind, priority, status or vehicle)")
    order = spec.order
    if spec.top_k is not None and order is None:
        order = "desc"
    return spec.model_copy(update={"field": field, "order": order})


# --------------------------------------------------------------------------------------------------
# Answering
# --------------------------------------------------------------------------------------------------


def _r(x: float) -> float:
    return round(x + 0.0, 2)


def _shown(value: int | float | None) -> int | float | None:
    return _r(value) if isinstance(value, float) else value


def _empty(metric: str) -> int | None:
    """The metric over no rows: 0 for sum and count, nothing for mean, max and min."""
    return 0 if metric in ("sum", "count") else None


def _diff(value: int | float | None, base: int | float | None) -> tuple[int | float | None, float | None]:
    if value is None or base is None:
        return None, None
    d = value - base
    pct = _r(d / base * 100) if base != 0 else None
    return (_r(d) if isinstance(d, float) else d), pct


def _total(metric: str, answer: DataAnswer) -> int | None:
    if metric == "count":
        return answer.rows
    if metric == "sum":
        return answer.total or 0
    return None


def _row(names: tuple[str, ...], g: DataGroup) -> QueryRow:
    return QueryRow(group=dict(zip(names, g.keys, strict=True)), value=_shown(g.value), rows=g.rows)


def _period(lo: date, hi: date, answer: DataAnswer) -> Period:
    return Period(
        date_from=lo.isoformat(),
        date_to=hi.isoformat(),
        days_in_range=(hi - lo).days + 1,
        first_with_data=answer.first_date,
        last_with_data=answer.last_date,
        days_with_data=answer.days,
    )


def _names(items: list[str], limit: int = 10) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _meaning(spec: QuerySpec, answer: DataAnswer, where: str) -> str:
    what = f"{spec.metric} of {spec.field}" if spec.metric != "count" else "count"
    per = f" per {' and '.join(spec.group_by)}" if spec.group_by else ""
    text = f"{what}{per} over the {ROWS[spec.source]}{where}"
    if spec.group_by:
        if spec.order is not None:
            text += f"; groups sorted by value, {'largest' if spec.order == 'desc' else 'smallest'} first"
        if spec.top_k is not None:
            text += f"; the first {spec.top_k} of {answer.group_count} group(s)"
    return text


def run_query(ctx: ToolContext, spec: QuerySpec) -> QueryResult:
    """Answer a question over the world's data, read only: ``history`` (daily volume, one row per region and day)
    or ``orders`` (today's orders with their state in the committed plan, or the latest draft with plan=draft).

    The metric is computed per group over the group's rows; order and top_k then pick among the groups (the
    busiest region in July: history, sum, group_by [region], July dates, order desc, top_k 1); ``total`` adds
    up every matching row. History answers say which days were asked and which had data; compare_from and
    compare_to add a second period, computed the same way, side by side with the difference and the percent
    change relative to it.
    """
    spec = _check(spec)
    if spec.source == "history":
        return _history(ctx, spec)
    return _orders(ctx, spec)


def _history(ctx: ToolContext, spec: QuerySpec) -> QueryResult:
    reader = ctx.history_reader()
    summaries = reader.series(ctx.world_name)
    if not summaries:
        raise InputError(f"world {ctx.world_name!r} has no history; import history first, or ask about source orders")
    known = [s.key for s in summaries]
    keys: list[str] = []
    for typed in spec.regions or []:
        if not typed.strip() or len(typed) > 100 or any(ord(c) < 32 or ord(c) == 127 for c in typed):
            raise InputError(f"not a region name: {typed[:40]!r}; the regions of world {ctx.world_name!r} are: {_names(known, 50)}")
        try:
            key = reader.resolve(ctx.world_name, typed)
        except NotFound:
            raise InputError(f"unknown region {typed!r}; the regions of world {ctx.world_name!r} are: {_names(known, 50)}") from None
        if key not in keys:
            keys.append(key)
    chosen = [s for s in summaries if not keys or s.key in keys]
    first, last = min(s.first for s in chosen), max(s.last for s in chosen)
    lo = _day(spec.date_from, "date_from") or date.fromisoformat(first)
    hi = _day(spec.date_to, "date_to") or date.fromisoformat(last)
    query = DataQuery(
        world=ctx.world_name,
        source="history",
        metric=spec.metric,
        column=spec.field,
        group_by=tuple(spec.group_by),
        date_from=lo.isoformat(),
        date_to=hi.isoformat(),
        series=tuple(keys),
        order=spec.order,
        limit=spec.top_k,
        max_groups=MAX_GROUPS,
    )
    data = ctx.data_reader()
    answer = data.aggregate(query)
    names = tuple(spec.group_by)
    rows = [_row(names, g) for g in answer.groups]
    period = _period(lo, hi, answer)
    notes: list[str] = []
    regions = f"region{'s' if len(keys) != 1 else ''} {_names(keys)}" if keys else "all regions"
    if lo.isoformat() < first or hi.isoformat() > last:
        notes.append(f"the history of {regions} runs from {first} to {last}; days outside it have no data")
    if answer.rows == 0:
        notes.append(f"no history row matches: nothing from {lo} to {hi} for {regions}")
    elif answer.days < period.days_in_range and lo.isoformat() >= first and hi.isoformat() <= last:
        notes.append(f"{period.days_in_range - answer.days} day(s) of the range have no history row")
    where = f" from {lo} to {hi}, {regions}"

    compare = None
    if spec.compare_from is not None and spec.compare_to is not None:
        clo, chi = parse_day(spec.compare_from, "compare_from"), parse_day(spec.compare_to, "compare_to")
        other = data.aggregate(replace(query, date_from=clo.isoformat(), date_to=chi.isoformat(), order=None, limit=None))
        by_key = {g.keys: g for g in other.groups}
        for row, g in zip(rows, answer.groups, strict=True):
            found = by_key.get(g.keys)
            base = found.value if found is not None else _empty(spec.metric)
            row.compare_value = _shown(base)
            row.difference, row.percent_change = _diff(g.value, base)
        main_keys = {g.keys for g in answer.groups}
        only = [", ".join(str(k) for k in key) for key in by_key if key not in main_keys]
        if only and spec.top_k is None:
            notes.append(f"group(s) with data only in the compare period: {_names(only)}")
        ctotal = _total(spec.metric, other)
        total = _total(spec.metric, answer)
        cdiff, cpct = _diff(total, ctotal)
        compare = CompareOut(period=_period(clo, chi, other), total=ctotal, difference=cdiff if isinstance(cdiff, int) else None, percent_change=cpct)
        days_a, days_b = period.days_in_range, compare.period.days_in_range
        if days_a != days_b and spec.metric in ("sum", "count"):
            notes.append(f"the periods have different lengths ({days_a} and {days_b} days); metric mean compares like with like")
        if other.rows == 0:
            notes.append(f"no history row in the compare period {clo} to {chi}")
        where += f", compared with {clo} to {chi}"
    return QueryResult(
        spec=spec,
        meaning=_meaning(spec, answer, where),
        rows=rows,
        groups=answer.group_count,
        total=_total(spec.metric, answer),
        period=period,
        compare=compare,
        note="; ".join(notes) or None,
    )


def _orders(ctx: ToolContext, spec: QuerySpec) -> QueryResult:
    notes: list[str] = []
    if spec.plan == "draft":
        plan_id: int | None = resolve_plan(ctx, "draft").id
        which = f"the latest draft (plan {plan_id})"
    else:
        committed = ctx.committed()
        plan_id = committed.id if committed is not None else None
        which = f"the committed plan {plan_id}" if plan_id is not None else "no plan"
        if committed is None:
            notes.append(f"world {ctx.world_name!r} has no committed plan yet: no order is on a route, every order not cancelled is not_planned")
    vehicle = None
    if spec.vehicle is not None:
        world = ctx.world()
        typed = spec.vehicle.strip()
        same = [v.id for v in world.vehicles if v.id.lower() == typed.lower()]
        vehicle = same[0] if len(same) == 1 else find_vehicle(world, typed).id  # exact id, or letter case ignored when that is unique
    query = DataQuery(
        world=ctx.world_name,
        source="orders",
        metric=spec.metric,
        column=spec.field,
        group_by=tuple(spec.group_by),
        kind=spec.kind,
        priority=spec.priority,
        status=spec.status,
        vehicle=vehicle,
        plan_id=plan_id,
        order=spec.order,
        limit=spec.top_k,
        max_groups=MAX_GROUPS,
    )
    answer = ctx.data_reader().aggregate(query)
    names = tuple(spec.group_by)
    rows = [_row(names, g) for g in answer.groups]
    filters = [f"{n} {getattr(spec, n)}" for n in ("kind", "priority", "status") if getattr(spec, n) is not None]
    if vehicle is not None:
        filters.append(f"vehicle {vehicle}")
    if answer.rows == 0:
        notes.append("no order matches" + (f" ({', '.join(filters)})" if filters else ""))
    if "vehicle" in spec.group_by and any(r.group.get("vehicle") is None for r in rows):
        notes.append("vehicle null: orders on no route of the plan (unassigned, cancelled before planning, or not planned)")
    where = f", with their state in {which}" + (f"; only {', '.join(filters)}" if filters else "")
    return QueryResult(
        spec=spec.model_copy(update={"vehicle": vehicle}),
        meaning=_meaning(spec, answer, where),
        rows=rows,
        groups=answer.group_count,
        total=_total(spec.metric, answer),
        plan_id=plan_id,
        note="; ".join(notes) or None,
    )


__all__ = ["CompareOut", "Period", "QueryResult", "QueryRow", "QuerySpec", "run_query"]
