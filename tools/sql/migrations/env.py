"""Alembic environment for the copilot store.

Normally run through :meth:`tools.sql.SqlStore.upgrade`, which hands over an open connection in
``config.attributes["connection"]``. When Alembic's own command line is used instead, the URL
comes from ``sqlalchemy.url`` in the configuration or else from :func:`tools.sql.default_url`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from copilot.core import settings as cfg
from tools.sql.schema import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """Emit the migration SQL without a database (``alembic upgrade --sql``); the dialect comes from the URL."""
    from tools.sql.engine import URL_ENV

    url = config.get_main_option("sqlalchemy.url") or cfg.env(URL_ENV) or "sqlite://"
    context.configure(url=url, target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the connection handed over, or on a new engine."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from tools.sql.engine import default_url, make_engine

    engine = make_engine(config.get_main_option("sqlalchemy.url") or default_url())
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
