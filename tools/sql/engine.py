"""Database URLs, engines and migrations.

The default database is the SQLite file ``copilot.sqlite3`` in the user's data directory:
``$LOGISTICS_COPILOT_HOME`` when set, else the platform's user data folder (``copilot.core.settings.data_dir``).
``$LOGISTICS_COPILOT_DB_URL`` replaces the whole URL (PostgreSQL: ``postgresql+psycopg://...``).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from copilot.core import settings as cfg
from copilot.core.errors import ConfigurationError

HOME_ENV = cfg.HOME
URL_ENV = cfg.DB_URL
DB_FILE = "copilot.sqlite3"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
WRITE_OPTION = "logistics_copilot_write"
SQLITE_BUSY_TIMEOUT_MS = 10_000


def data_dir() -> Path:
    """The copilot's data directory (created if missing; see :func:`copilot.core.settings.data_dir`)."""
    return cfg.data_dir()


def default_url() -> str:
    """The database URL to use when none is given: ``$LOGISTICS_COPILOT_DB_URL`` or the SQLite file."""
    url = cfg.env(URL_ENV)
    if url:
        return url
    return f"sqlite:///{(data_dir() / DB_FILE).as_posix()}"


def _sqlite_on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # Let SQLAlchemy emit BEGIN itself (see _sqlite_on_begin) so that reads, DDL and writes
    # all run inside real transactions, and make SQLite enforce foreign keys.
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    try:
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cur.close()


def _sqlite_on_begin(conn: Connection) -> None:
    # Writers take the write lock up front: no deadlock on a later lock upgrade.
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "BEGIN")


def _private_file(database: str | None) -> None:
    """Create the SQLite file readable by its owner only (it holds API key hashes and customer data)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.parent.is_dir():
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
        os.chmod(path, 0o600)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets real transactions and enforced foreign keys."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(f"not a database URL: {url!r} ({exc})") from exc
    try:
        engine = create_engine(parsed)
    except ModuleNotFoundError as exc:
        hint = (
            " (install the 'postgres' extra: pip install 'logistics-copilot[postgres]')"
            if parsed.get_backend_name() == "postgresql"
            else ""
        )
        raise ConfigurationError(f"the database driver for {parsed.drivername} is not installed: {exc.name}{hint}") from exc
    if engine.dialect.name == "sqlite":
        _private_file(parsed.database)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration built in code; the migrations ship inside this package."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str | None:
    """The newest migration revision shipped with the package."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The migration revision the database is at (None for an empty database)."""
    return MigrationContext.configure(connection).get_current_revision()


def schema_drift(connection: Connection) -> list[str]:
    """Differences between the database schema and :data:`tools.sql.schema.metadata` (empty when in step)."""
    from alembic.autogenerate import compare_metadata

    from tools.sql.schema import metadata

    return [repr(d) for d in compare_metadata(MigrationContext.configure(connection), metadata)]


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the migrations up to ``revision`` in one transaction."""
    with engine.connect().execution_options(**{WRITE_OPTION: True}) as conn, conn.begin():
        command.upgrade(alembic_config(conn), revision)
