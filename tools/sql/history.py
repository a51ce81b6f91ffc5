"""Read-only, parameterised questions about a world's daily volume history.

Every query here is a SQLAlchemy Core ``SELECT`` with bound parameters; no caller (and no language
model) hands SQL text to the database. Read-only is enforced twice:

1. **The guard**: :meth:`HistoryQueries.run_select` runs only ``Select`` statements built with
   SQLAlchemy Core (no ``FOR UPDATE``); anything else — an ``insert()``, a ``text()`` — is refused
   with :class:`ReadOnlyViolation` before it reaches the database.
2. **The connection**: the queries use their own engine whose connections cannot write: SQLite
   connections run with ``PRAGMA query_only = ON``, PostgreSQL sessions with
   ``default_transaction_read_only = on``. A write that got past the guard is refused by the database.
   Every transaction is rolled back when the query is done.

Limits: each query returns at most ``max_rows`` rows (one more is fetched to notice an overflow,
which raises :class:`InputError` asking for a narrower question) and runs at most ``timeout_s``
seconds (PostgreSQL ``statement_timeout``; on SQLite a progress handler interrupts the statement),
after which :class:`QueryTimeout` is raised.

The history table holds one row per (world, series, ISO date); dates compare as text.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, create_engine, event, exc, func, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.sql import CompoundSelect, Select

from copilot.core.errors import ConfigurationError, InputError, NotFound
from copilot.core.forecasting import parse_day
from copilot.core.ports import SeriesSummary
from tools.sql.schema import history, worlds

DEFAULT_TIMEOUT_S = 5.0
DEFAULT_MAX_ROWS = 10_000
SQLITE_BUSY_TIMEOUT_MS = 10_000


class ReadOnlyViolation(InputError):
    """A statement that is not a plain SELECT was given to the read-only query layer."""


class QueryTimeout(InputError):
    """A history query ran longer than its time-out."""


def make_readonly_engine(url: str | URL, timeout_s: float = DEFAULT_TIMEOUT_S) -> Engine:
    """An engine whose connections cannot write, with a statement time-out (see the module doc)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise ConfigurationError("read-only history queries need a SQLite file (an in-memory database is private to one connection)")
        engine = create_engine(parsed)

        def on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cur = dbapi_connection.cursor()
            try:
                cur.execute("PRAGMA query_only = ON")
                cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            finally:
                cur.close()

        def on_begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN")

        event.listen(engine, "connect", on_connect)
        event.listen(engine, "begin", on_begin)
        return engine
    if backend == "postgresql":
        options = f"-c default_transaction_read_only=on -c statement_timeout={max(1, round(timeout_s * 1000))}"
        try:
            return create_engine(parsed, connect_args={"options": options})
        except ModuleNotFoundError as e:
            raise ConfigurationError(f"the database driver for {parsed.drivername} is not installed: {e.name}") from e
    raise ConfigurationError(f"read-only history queries support SQLite and PostgreSQL, not {backend}")


def _day(text: str | None, what: str) -> str | None:
    return None if text is None else parse_day(text, what).isoformat()


class HistoryQueries:
    """The read-only history queries of a store (implements :class:`copilot.core.ports.HistoryReader`)."""

    def __init__(self, url: str | URL, *, timeout_s: float = DEFAULT_TIMEOUT_S, max_rows: int = DEFAULT_MAX_ROWS) -> None:
        if timeout_s <= 0 or max_rows < 1:
            raise InputError("the time-out must be positive and the row limit 1 or more")
        self.timeout_s = timeout_s
        self.max_rows = max_rows
        self._engine = make_readonly_engine(url, timeout_s)

    def close(self) -> None:
        """Close the pooled connections (the object can still be used afterwards)."""
        self._engine.dispose()

    # -- the guard and the limits ---------------------------------------------------------------

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        try:
            conn = self._engine.connect()
        except (exc.OperationalError, exc.InterfaceError) as e:
            raise ConfigurationError(f"cannot open the database for history queries: {e.orig}") from e
        try:
            with conn.begin() as tx:
                yield conn
                tx.rollback()
        finally:
            conn.close()

    def run_select(self, statement: Select[Any] | CompoundSelect[Any], *, max_rows: int | None = None) -> list[RowMapping]:
        """Run one SELECT built with SQLAlchemy Core on a read-only connection, with the row limit and time-out.

        Anything but a ``Select`` (an insert, update, delete, DDL or ``text()``) raises
        :class:`ReadOnlyViolation` and never reaches the database.
        """
        if not isinstance(statement, Select | CompoundSelect):
            raise ReadOnlyViolation(f"the history query layer runs only SELECT statements built with SQLAlchemy Core, not {type(statement).__name__}")
        if isinstance(statement, Select) and statement._for_update_arg is not None:
            raise ReadOnlyViolation("the history query layer does not lock rows (SELECT ... FOR UPDATE)")
        limit = self.max_rows if max_rows is None else min(max_rows, self.max_rows)
        with self._connection() as conn:
            rows = self._execute(conn, statement.limit(limit + 1))
        if len(rows) > limit:
            raise InputError(f"the answer has more than {limit} rows; ask for a shorter date range or fewer series")
        return rows

    def _execute(self, conn: Connection, statement: Select[Any] | CompoundSelect[Any]) -> list[RowMapping]:
        raw = conn.connection.dbapi_connection
        is_sqlite = isinstance(raw, sqlite3.Connection)
        if is_sqlite:
            deadline = time.monotonic() + self.timeout_s
            assert isinstance(raw, sqlite3.Connection)
            raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        try:
            return list(conn.execute(statement).mappings())
        except exc.OperationalError as e:
            text = str(e.orig).lower()
            if "interrupted" in text or "statement timeout" in text or "canceling statement" in text:
                raise QueryTimeout(f"the history query took longer than {self.timeout_s:g} s; ask for a shorter date range") from e
            raise
        finally:
            if is_sqlite:
                assert isinstance(raw, sqlite3.Connection)
                raw.set_progress_handler(None, 10_000)

    # -- the questions ----------------------------------------------------------------------------

    def _world_id(self, world: str) -> int:
        rows = self.run_select(select(worlds.c.id).where(worlds.c.name == world), max_rows=1)
        if not rows:
            names = [r["name"] for r in self.run_select(select(worlds.c.name).order_by(worlds.c.name), max_rows=100)]
            raise NotFound("world", world, names)
        return int(rows[0]["id"])

    def series(self, world: str) -> list[SeriesSummary]:
        """Every series of the world's history, sorted by key: first and last day, days with a row, total volume."""
        wid = self._world_id(world)
        query = (
            select(
                history.c.series,
                func.min(history.c.date).label("first"),
                func.max(history.c.date).label("last"),
                func.count().label("days"),
                func.coalesce(func.sum(history.c.volume), 0).label("total"),
            )
            .where(history.c.world_id == wid)
            .group_by(history.c.series)
            .order_by(history.c.series)
        )
        rows = self.run_select(query, max_rows=1000)
        out = [SeriesSummary(r["series"], r["first"], r["last"], int(r["days"]), int(r["total"])) for r in rows]
        return sorted(out, key=lambda s: natural_key(s.key))

    def _series_key(self, world: str, series: str) -> tuple[int, str]:
        wid = self._world_id(world)
        key = series.strip()
        found = self.run_select(select(func.count().label("n")).where(history.c.world_id == wid, history.c.series == key), max_rows=1)
        if not found[0]["n"]:
            known = [s.key for s in self.series(world)]
            match = [k for k in known if k.lower() == key.lower()]
            if len(match) == 1:
                return wid, match[0]
            raise NotFound("series", series, known)
        return wid, key

    def _range(self, wid: int, key: str, start: str | None, end: str | None) -> list[Any]:
        lo, hi = _day(start, "start"), _day(end, "end")
        if lo is not None and hi is not None and lo > hi:
            raise InputError(f"the date range is empty: start {lo} is after end {hi}")
        cond = [history.c.world_id == wid, history.c.series == key]
        if lo is not None:
            cond.append(history.c.date >= lo)
        if hi is not None:
            cond.append(history.c.date <= hi)
        return cond

    def daily(self, world: str, series: str, start: str | None = None, end: str | None = None) -> list[tuple[str, int]]:
        """(ISO date, volume) rows of one series, oldest first, ``start``..``end`` inclusive (NotFound for an unknown series)."""
        wid, key = self._series_key(world, series)
        query = select(history.c.date, history.c.volume).where(*self._range(wid, key, start, end)).order_by(history.c.date)
        return [(r["date"], int(r["volume"])) for r in self.run_select(query)]

    def total(self, world: str, series: str, start: str | None = None, end: str | None = None) -> tuple[int, int]:
        """Total volume of one series over ``start``..``end`` inclusive, and the number of days with a row."""
        wid, key = self._series_key(world, series)
        query = select(func.coalesce(func.sum(history.c.volume), 0).label("total"), func.count().label("days")).where(*self._range(wid, key, start, end))
        row = self.run_select(query, max_rows=1)[0]
        return int(row["total"]), int(row["days"])

    def resolve(self, world: str, series: str) -> str:
        """The stored key of a series as a caller typed it (spaces and letter case ignored; NotFound lists the known keys)."""
        return self._series_key(world, series)[1]


def natural_key(key: str) -> tuple[int, int, str]:
    """Sort keys like a person would: numbers by value (``31`` before ``129``), then text."""
    return (0, int(key), key) if key.isdigit() else (1, 0, key)


def sorted_keys(keys: Sequence[str]) -> list[str]:
    """Series keys in natural order."""
    return sorted(keys, key=natural_key)


__all__ = ["HistoryQueries", "QueryTimeout", "ReadOnlyViolation", "make_readonly_engine", "natural_key", "sorted_keys"]
