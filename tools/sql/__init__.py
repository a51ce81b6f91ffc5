"""The SQL store: worlds, plans and the audit trail in SQLite (default) or PostgreSQL.

SQLAlchemy and Alembic are imported only inside this package. Typical use::

    store = SqlStore(default_url())
    store.upgrade()          # create or migrate the schema (Alembic, to head)
    store.import_world(world)
"""

from copilot.core.ports import AuditEntry
from tools.sql.engine import default_url
from tools.sql.store import SqlStore

__all__ = ["AuditEntry", "SqlStore", "default_url"]
