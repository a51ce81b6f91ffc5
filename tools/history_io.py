"""Daily volume history from a generic CSV file: a date column, one or more key columns, a volume column.

A world's own ``history.csv`` (``date, region, volume``) comes in with the world (:mod:`tools.world_io`);
this reads any other daily export, e.g. the LaDe files (``--key region_id --value deliveries``)::

    read_history_csv(path, key="courier_id", value="deliveries")

Rules, each broken one reported with file, row and column (:class:`copilot.core.errors.ImportFailed`
lists them all, nothing is imported): every row needs a real calendar date ``YYYY-MM-DD`` (an empty
cell is a missing date), a non-empty key and a whole volume, zero or more (negative and non-numeric
volumes are refused); a series may not have two rows for one day. Several key columns are joined with
``/`` into one series key. Days missing between a series' first and last day are an error by default
(``missing="error"``, listing them); with ``missing="zero"`` they are filled with zero-volume rows,
listed in :attr:`HistoryImport.filled`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from copilot.core.domain import HistoryRow
from copilot.core.errors import ImportFailed, InputError
from copilot.core.forecasting import DailySeries, MissingDays
from tools._csv import Problems, is_valid_date, read_rows
from tools.sql.history import natural_key

KEY_SEPARATOR = "/"


@dataclass(frozen=True, slots=True)
class HistoryImport:
    """Rows read from a history CSV (sorted by series, then date) and the days filled with zero per series."""

    rows: tuple[HistoryRow, ...]
    filled: dict[str, list[str]] = field(default_factory=dict)

    @property
    def keys(self) -> list[str]:
        """The series keys, in natural order."""
        return sorted({r.series for r in self.rows}, key=natural_key)


def _columns(key: str | Sequence[str]) -> list[str]:
    cols = [c.strip() for c in key.split(",")] if isinstance(key, str) else [c.strip() for c in key]
    if not cols or any(not c for c in cols):
        raise InputError(f"name the key column(s), e.g. region_id or region_id,courier_id; got {key!r}")
    return cols


def read_history_csv(
    path: Path, *, key: str | Sequence[str], value: str, date_column: str = "date", missing: MissingDays = "error", end: str | None = None
) -> HistoryImport:
    """Read a daily history CSV (see the module doc); ``end`` drops rows after that ISO date."""
    path = Path(path)
    keys = _columns(key)
    if missing not in ("zero", "error"):
        raise InputError(f"missing days must be 'zero' or 'error', got {missing!r}")
    cut = None
    if end is not None:
        if not is_valid_date(end.strip()):
            raise InputError(f"end must be a date like 2022-09-30, got {end!r}")
        cut = end.strip()
    problems = Problems()
    label = path.name
    required = list(dict.fromkeys([date_column, *keys, value]))
    rows = read_rows(path, label, required, (), problems)
    found: dict[str, dict[str, int]] = defaultdict(dict)
    first_row: dict[tuple[str, str], int] = {}
    for row in rows or []:
        before = len(problems)
        day = row.raw(date_column).strip()
        if not day:
            row.problem(date_column, "the date is missing; expected a date like 2022-05-13")
        elif not is_valid_date(day):
            row.bad(date_column, "a date like 2022-05-13", row.raw(date_column))
        parts = [row.ident(c) for c in keys]
        volume = row.whole(value, "a whole number of orders, zero or more", lambda v: v >= 0)
        if len(problems) > before:
            continue
        series = KEY_SEPARATOR.join(parts)
        if (series, day) in first_row:
            row.problem(date_column, f"series {series!r} has two rows for {day}: rows {first_row[series, day]} and {row.number}")
            continue
        first_row[series, day] = row.number
        if cut is None or day <= cut:
            found[series][day] = volume
    filled: dict[str, list[str]] = {}
    out: list[HistoryRow] = []
    for series in sorted(found, key=natural_key):
        days = found[series]
        first, last = date.fromisoformat(min(days)), date.fromisoformat(max(days))
        every = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
        gaps = [d for d in every if d not in days]
        if gaps and missing == "error":
            shown = ", ".join(gaps[:10]) + (f" and {len(gaps) - 10} more" if len(gaps) > 10 else "")
            problems.add(
                f"{label}, series {series}",
                f"{len(gaps)} missing day(s) between {first} and {last}: {shown}; add a row with volume 0 for each day without orders, or fill them with zero",
            )
            continue
        if gaps:
            filled[series] = gaps
        out.extend(HistoryRow(date=d, series=series, volume=days.get(d, 0)) for d in every)
    if problems.items:
        raise ImportFailed(problems.items)
    if not out:
        raise ImportFailed([f"{label}: no history rows" + (f" on or before {cut}" if cut else "")])
    return HistoryImport(tuple(out), filled)


def to_series(rows: Sequence[HistoryRow] | Sequence[tuple[str, str, float]], *, missing: MissingDays = "zero") -> list[DailySeries]:
    """Group history rows (or ``(series, date, volume)`` triples) into daily series, in natural key order."""
    points: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for r in rows:
        if isinstance(r, HistoryRow):
            points[r.series].append((r.date, float(r.volume)))
        else:
            points[r[0]].append((r[1], float(r[2])))
    return [DailySeries.from_points(k, points[k], missing=missing) for k in sorted(points, key=natural_key)]


__all__ = ["KEY_SEPARATOR", "HistoryImport", "read_history_csv", "to_series"]
