"""Where conversations are kept: LangGraph checkpointers on SQLite (default) or PostgreSQL.

A conversation is a LangGraph thread; its state is saved after every step, so a process restart
continues it (including a draft waiting for approval).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from copilot.core.errors import ConfigurationError


def sqlite_checkpointer(path: Path | str) -> Any:
    """A checkpointer in a SQLite file (``":memory:"`` for a throw-away one)."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False)
    saver = SqliteSaver(conn)
    saver.setup()
    return saver


def postgres_checkpointer(url: str) -> Any:
    """A checkpointer in PostgreSQL (``postgresql://`` or ``postgresql+psycopg://`` URL)."""
    try:
        import psycopg
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row
    except ImportError as exc:
        raise ConfigurationError("PostgreSQL conversations need the 'postgres' extra: pip install 'logistics-copilot[postgres]'") from exc
    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    try:
        conn = psycopg.connect(dsn, autocommit=True, prepare_threshold=0, row_factory=dict_row)
    except psycopg.OperationalError as exc:
        raise ConfigurationError(f"cannot connect to PostgreSQL for conversations: {exc}") from exc
    saver = PostgresSaver(conn)
    saver.setup()
    return saver


def make_checkpointer(url: str | None, data_dir: Path) -> Any:
    """PostgreSQL when ``url`` is a PostgreSQL URL, else ``<data_dir>/conversations.sqlite3``."""
    if url and url.startswith("postgresql"):
        return postgres_checkpointer(url)
    return sqlite_checkpointer(data_dir / "conversations.sqlite3")
