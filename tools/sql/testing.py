"""Helpers for tests that need a real database server (PostgreSQL)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, exc, text
from sqlalchemy.engine import make_url

from copilot.core.errors import ConfigurationError


@contextmanager
def scratch_database(admin_url: str, prefix: str = "lc_test_") -> Iterator[str]:
    """Create a uniquely named PostgreSQL database next to ``admin_url``, yield its URL, then drop it.

    Raises :class:`~copilot.core.errors.ConfigurationError` when the server cannot be reached.
    """
    base = make_url(admin_url)
    name = f"{prefix}{secrets.token_hex(6)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        except (exc.OperationalError, exc.InterfaceError) as e:
            raise ConfigurationError(f"cannot create a scratch database on {base.render_as_string()}: {e.orig}") from e
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
