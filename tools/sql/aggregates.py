"""Aggregate questions over a world's data: a checked :class:`copilot.core.ports.DataQuery` compiled to SQLAlchemy Core.

No SQL text comes from a caller (or a language model): every name in a query is looked up in the fixed
column maps below (an unknown name raises :class:`InputError`), every value is a bound parameter, and every
statement is a ``SELECT`` run through :meth:`tools.sql.history.HistoryQueries.run_select`, on its read-only
connections with its row limit and time-out.

The rows of each source are one inner ``SELECT`` (a subquery named ``src``) with the same columns for every
question, so that the outer statements group, filter and sort by plain column names:

* ``history``: one row per series (region) and day, with ``region``, ``date``, ``weekday`` (0 = Monday;
  dialect-specific SQL from :class:`WeekdayIndex`), ``month`` (``YYYY-MM``) and ``value`` (the volume).
* ``orders``: one row per order of the world, with ``kind``, ``priority``, ``skill`` (the required skill),
  ``status`` (cancelled, else assigned when on a route of the plan, unassigned when the plan left it out,
  else not_planned), ``vehicle`` (the vehicle of its route in the plan) and ``value`` (the demand).

Three statements answer a question: a summary over every matching row (rows, sum, the metric, and for
history the first and last day and the number of days), the number of groups, and the groups themselves
(sorted by value and cut to ``limit`` inside a subquery, so that the row limit of ``run_select`` never cuts
them). Means are computed here from the exact integer sum and count, so every backend gives the same value.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, Text, and_, case, cast, func, literal_column, null, select
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from copilot.core.errors import InputError, NotFound
from copilot.core.ports import DataAnswer, DataGroup, DataQuery
from tools.sql.history import HistoryQueries, natural_key
from tools.sql.schema import history, orders, plan_routes, plan_unassigned, plan_visits, plans, worlds

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
METRICS = ("sum", "count", "mean", "max", "min")
COLUMNS = {"history": "volume", "orders": "demand"}
GROUPS = {"history": ("region", "date", "weekday", "month"), "orders": ("kind", "status", "priority", "vehicle", "skill")}
STATUSES = ("assigned", "unassigned", "cancelled", "not_planned")
ORDERS = ("desc", "asc")


class WeekdayIndex(FunctionElement[int]):
    """The day of the week of an ISO date stored as text, 0 = Monday .. 6 = Sunday (SQLite and PostgreSQL)."""

    type = Integer()
    name = "weekday_index"
    inherit_cache = True


@compiles(WeekdayIndex, "sqlite")
def _weekday_sqlite(element: WeekdayIndex, compiler: SQLCompiler, **kw: Any) -> str:
    return f"((CAST(strftime('%w', {compiler.process(element.clauses, **kw)}) AS INTEGER) + 6) % 7)"


@compiles(WeekdayIndex, "postgresql")
def _weekday_postgresql(element: WeekdayIndex, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(CAST(EXTRACT(ISODOW FROM CAST({compiler.process(element.clauses, **kw)} AS DATE)) AS INTEGER) - 1)"


@compiles(WeekdayIndex)
def _weekday_other(element: WeekdayIndex, compiler: SQLCompiler, **kw: Any) -> str:
    raise CompileError(f"weekday grouping supports SQLite and PostgreSQL, not {compiler.dialect.name}")


def _check(query: DataQuery) -> None:
    """Refuse any name this module does not know, before anything is built."""
    if query.source not in COLUMNS:
        raise InputError(f"source must be one of {', '.join(COLUMNS)}, got {query.source!r}")
    if query.metric not in METRICS:
        raise InputError(f"metric must be one of {', '.join(METRICS)}, got {query.metric!r}")
    if query.column is not None and query.column != COLUMNS[query.source]:
        raise InputError(f"source {query.source} has the column {COLUMNS[query.source]!r}, not {query.column!r}")
    if query.column is None and query.metric != "count":
        raise InputError(f"metric {query.metric} needs a column ({COLUMNS[query.source]!r} for {query.source})")
    allowed = GROUPS[query.source]
    for g in query.group_by:
        if g not in allowed:
            raise InputError(f"source {query.source} can be grouped by {', '.join(allowed)}, not {g!r}")
    if len(set(query.group_by)) != len(query.group_by):
        raise InputError(f"group_by names a group twice: {', '.join(query.group_by)}")
    if query.order not in (None, *ORDERS):
        raise InputError(f"order must be desc, asc or None, got {query.order!r}")
    if query.limit is not None and query.limit < 1:
        raise InputError(f"limit must be 1 or more, got {query.limit}")
    if query.max_groups < 1:
        raise InputError(f"max_groups must be 1 or more, got {query.max_groups}")
    if query.source == "history":
        if any(v is not None for v in (query.kind, query.priority, query.status, query.vehicle, query.plan_id)):
            raise InputError("kind, priority, status, vehicle and plan apply to orders, not to history")
    else:
        if query.date_from is not None or query.date_to is not None or query.series:
            raise InputError("dates and series apply to history, not to orders")
        if query.status is not None and query.status not in STATUSES:
            raise InputError(f"status must be one of {', '.join(STATUSES)}, got {query.status!r}")


def _number(value: Any) -> int | None:
    """A whole number from the database (PostgreSQL sums are Decimal), None for NULL."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return int(value)
    return int(value)


class DataQueries:
    """The read-only aggregate queries of a store (implements :class:`copilot.core.ports.DataReader`).

    Runs on ``history``'s read-only engine, so its guard, row limit and time-out hold for every statement.
    """

    def __init__(self, queries: HistoryQueries) -> None:
        self.queries = queries

    def _world_id(self, world: str) -> int:
        rows = self.queries.run_select(select(worlds.c.id).where(worlds.c.name == world), max_rows=1)
        if not rows:
            names = [r["name"] for r in self.queries.run_select(select(worlds.c.name).order_by(worlds.c.name), max_rows=100)]
            raise NotFound("world", world, names)
        return int(rows[0]["id"])

    def _check_plan(self, wid: int, plan_id: int) -> None:
        found = self.queries.run_select(select(plans.c.id).where(plans.c.id == plan_id, plans.c.world_id == wid), max_rows=1)
        if not found:
            known = [str(r["id"]) for r in self.queries.run_select(select(plans.c.id).where(plans.c.world_id == wid).order_by(plans.c.id), max_rows=1000)]
            raise NotFound("plan", str(plan_id), known)

    # -- the rows -------------------------------------------------------------------------------

    def _history_rows(self, wid: int, query: DataQuery) -> Select[Any]:
        cond: list[ColumnElement[bool]] = [history.c.world_id == wid]
        if query.series:
            cond.append(history.c.series.in_(list(query.series)))
        if query.date_from is not None:
            cond.append(history.c.date >= query.date_from)
        if query.date_to is not None:
            cond.append(history.c.date <= query.date_to)
        return select(
            history.c.series.label("region"),
            history.c.date.label("date"),
            WeekdayIndex(history.c.date).label("weekday"),
            func.substr(history.c.date, literal_column("1"), literal_column("7")).label("month"),
            history.c.volume.label("value"),
        ).where(*cond)

    def _order_rows(self, wid: int, query: DataQuery) -> Select[Any]:
        o = orders
        if query.plan_id is None:
            status: ColumnElement[Any] = case((o.c.cancelled, "cancelled"), else_="not_planned")
            return select(
                o.c.kind.label("kind"),
                o.c.priority.label("priority"),
                o.c.required_skill.label("skill"),
                status.label("status"),
                cast(null(), Text).label("vehicle"),
                o.c.demand.label("value"),
            ).where(o.c.world_id == wid)
        routes = and_(plan_routes.c.plan_id == plan_visits.c.plan_id, plan_routes.c.seq == plan_visits.c.route_seq)
        visited = (
            select(plan_visits.c.order_id, func.min(plan_routes.c.vehicle_id).label("vehicle_id"))
            .join(plan_routes, routes)
            .where(plan_visits.c.plan_id == query.plan_id)
            .group_by(plan_visits.c.order_id)
            .subquery("pv")
        )
        left_out = select(plan_unassigned.c.order_id).where(plan_unassigned.c.plan_id == query.plan_id).group_by(plan_unassigned.c.order_id).subquery("pu")
        status = case((o.c.cancelled, "cancelled"), (visited.c.order_id.is_not(None), "assigned"), (left_out.c.order_id.is_not(None), "unassigned"), else_="not_planned")
        joined = o.outerjoin(visited, visited.c.order_id == o.c.id).outerjoin(left_out, left_out.c.order_id == o.c.id)
        return (
            select(
                o.c.kind.label("kind"),
                o.c.priority.label("priority"),
                o.c.required_skill.label("skill"),
                status.label("status"),
                visited.c.vehicle_id.label("vehicle"),
                o.c.demand.label("value"),
            )
            .select_from(joined)
            .where(o.c.world_id == wid)
        )

    # -- the question ---------------------------------------------------------------------------

    def aggregate(self, query: DataQuery) -> DataAnswer:
        """The answer to one checked question (see the module docstring); nothing is written."""
        _check(query)
        wid = self._world_id(query.world)
        if query.plan_id is not None:
            self._check_plan(wid, query.plan_id)
        inner = self._history_rows(wid, query) if query.source == "history" else self._order_rows(wid, query)
        src = inner.subquery("src")
        cond: list[ColumnElement[bool]] = []
        for name in ("kind", "priority", "status", "vehicle"):
            wanted = getattr(query, name)
            if wanted is not None:
                cond.append(src.c[name] == wanted)
        value = src.c.value
        agg: ColumnElement[Any] = {
            "sum": func.sum(value),
            "count": func.count(),
            "mean": func.avg(value),
            "max": func.max(value),
            "min": func.min(value),
        }[query.metric]

        # the summary over every matching row
        summary_cols: list[Any] = [func.count().label("n"), func.sum(value).label("s"), agg.label("v")]
        if query.source == "history":
            summary_cols += [func.min(src.c.date).label("first"), func.max(src.c.date).label("last"), func.count(src.c.date.distinct()).label("days")]
        summary = self.queries.run_select(select(*summary_cols).where(*cond), max_rows=1)[0]
        rows = int(summary["n"])
        total = None if query.column is None else (_number(summary["s"]) or 0)
        first = summary["first"] if query.source == "history" else None
        last = summary["last"] if query.source == "history" else None
        days = int(summary["days"]) if query.source == "history" else 0

        if not query.group_by:
            group = DataGroup((), rows, self._value(query.metric, rows, summary["s"], summary["v"]))
            return DataAnswer((group,), 1, rows, total, first, last, days)

        keys = [src.c[g].label(f"k{i}") for i, g in enumerate(query.group_by)]
        v = agg.label("v")
        grouped = select(*keys, func.count().label("n"), func.sum(value).label("s"), v).where(*cond).group_by(*[src.c[g] for g in query.group_by])
        count = self.queries.run_select(select(func.count().label("n")).select_from(grouped.subquery("g")), max_rows=1)
        group_count = int(count[0]["n"])
        if query.limit is None and group_count > query.max_groups:
            raise InputError(f"the answer has {group_count} groups, more than {query.max_groups}; ask for top_k groups, a shorter date range or fewer group_by")
        by_key = [k.asc().nulls_last() for k in keys]
        if query.order is None:
            statement = grouped.order_by(*by_key)
        else:
            by_value = v.desc() if query.order == "desc" else v.asc()
            statement = grouped.order_by(by_value, *by_key)
        if query.limit is not None:
            top = statement.limit(query.limit).subquery("top")
            outer_value = top.c.v.desc() if query.order == "desc" else top.c.v.asc()
            outer_keys = [top.c[f"k{i}"].asc().nulls_last() for i in range(len(keys))]
            statement = select(top).order_by(*([outer_value] if query.order is not None else []), *outer_keys)
        found = self.queries.run_select(statement, max_rows=query.limit or query.max_groups)
        raw = [(tuple(r[f"k{i}"] for i in range(len(keys))), int(r["n"]), r["s"], r["v"]) for r in found]
        if query.order is None:
            raw.sort(key=lambda item: _sort_key(item[0]))
        groups = tuple(DataGroup(_show_keys(query.group_by, k), n, self._value(query.metric, n, s, val)) for k, n, s, val in raw)
        return DataAnswer(groups, group_count, rows, total, first, last, days)

    @staticmethod
    def _value(metric: str, rows: int, total: Any, value: Any) -> int | float | None:
        """The metric's exact value: sum and count whole (0 over no rows), mean from the integer sum, max/min as stored."""
        if metric == "count":
            return rows
        if metric == "sum":
            return _number(total) or 0
        if metric == "mean":
            s = _number(total)
            return None if rows == 0 or s is None else s / rows
        return _number(value)


def _sort_key(keys: Sequence[Any]) -> tuple[tuple[int, Any], ...]:
    """Group values in a person's order: weekdays Monday first, numbers by value, texts alphabetically, None last."""
    out: list[tuple[int, Any]] = []
    for k in keys:
        if k is None:
            out.append((2, ""))
        elif isinstance(k, int):
            out.append((0, (k, 0, "")))
        else:
            out.append((1, natural_key(str(k))))
    return tuple(out)


def _show_keys(names: Sequence[str], keys: Sequence[Any]) -> tuple[str | None, ...]:
    out: list[str | None] = []
    for name, k in zip(names, keys, strict=True):
        if k is None:
            out.append(None)
        elif name == "weekday":
            out.append(WEEKDAYS[int(k)])
        else:
            out.append(str(k))
    return tuple(out)


__all__ = ["COLUMNS", "GROUPS", "METRICS", "STATUSES", "WEEKDAYS", "DataQueries", "WeekdayIndex"]
