"""The relational schema (SQLAlchemy Core tables) shared by the store and its Alembic migrations.

Every type works on SQLite and PostgreSQL: epoch seconds and other whole quantities are
``BigInteger``, coordinates and costs ``Double``, free text ``Text`` and open structures ``JSON``.
Rows of a world keep a ``position`` so that a loaded world lists its items in import order.

The migrations in ``tools/sql/migrations/versions`` must create exactly these tables; a test
compares the migrated database with this metadata.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    text,
)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

ORDER_KINDS = ("pickup", "delivery")
PRIORITIES = ("normal", "high")
PLAN_STATUSES = ("draft", "committed", "superseded", "discarded")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


worlds = Table(
    "worlds",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False, unique=True),
    Column("date", Text, nullable=False),
    Column("utc_offset_s", BigInteger, nullable=False),
    Column("city", Text, nullable=False),
    Column("meta", JSON, nullable=False),
    Column("clock", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

depots = Table(
    "depots",
    metadata,
    Column("world_id", Integer, ForeignKey("worlds.id", ondelete="CASCADE"), primary_key=True),
    Column("id", Text, primary_key=True),
    Column("position", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("lat", Double, nullable=False),
    Column("lng", Double, nullable=False),
    Column("opens_at", BigInteger, nullable=False),
    Column("closes_at", BigInteger, nullable=False),
    CheckConstraint("closes_at >= opens_at", name="hours"),
)

vehicles = Table(
    "vehicles",
    metadata,
    Column("world_id", Integer, ForeignKey("worlds.id", ondelete="CASCADE"), primary_key=True),
    Column("id", Text, primary_key=True),
    Column("position", Integer, nullable=False),
    Column("depot_id", Text, nullable=False),
    Column("capacity", BigInteger, nullable=False),
    Column("shift_start", BigInteger, nullable=False),
    Column("shift_end", BigInteger, nullable=False),
    Column("speed_kmh", Double, nullable=False),
    Column("cost_per_km", Double, nullable=False),
    Column("skills", JSON, nullable=False),
    Column("driver", Text, nullable=False),
    Column("unavailable_from", BigInteger, nullable=True),
    Column("max_route_duration_s", BigInteger, nullable=True),
    Column("delayed_until", BigInteger, nullable=True),
    Column("fixed_cost", Double, nullable=False),
    ForeignKeyConstraint(["world_id", "depot_id"], ["depots.world_id", "depots.id"], ondelete="CASCADE"),
    CheckConstraint("capacity > 0", name="capacity"),
    CheckConstraint("shift_end >= shift_start", name="shift"),
)

orders = Table(
    "orders",
    metadata,
    Column("world_id", Integer, ForeignKey("worlds.id", ondelete="CASCADE"), primary_key=True),
    Column("id", Text, primary_key=True),
    Column("position", Integer, nullable=False),
    Column("kind", Text, nullable=False),
    Column("lat", Double, nullable=False),
    Column("lng", Double, nullable=False),
    Column("demand", BigInteger, nullable=False),
    Column("service_s", BigInteger, nullable=False),
    Column("priority", Text, nullable=False),
    Column("required_skill", Text, nullable=True),
    Column("customer", Text, nullable=False),
    Column("notes", Text, nullable=False),
    Column("pair_id", Text, nullable=True),
    Column("cancelled", Boolean(create_constraint=False), nullable=False),
    Column("pinned_vehicle", Text, nullable=True),
    CheckConstraint(_in("kind", ORDER_KINDS), name="kind"),
    CheckConstraint(_in("priority", PRIORITIES), name="priority"),
    CheckConstraint("demand >= 0", name="demand"),
    CheckConstraint("service_s >= 0", name="service"),
)

order_windows = Table(
    "order_windows",
    metadata,
    Column("world_id", Integer, primary_key=True),
    Column("order_id", Text, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("start_at", BigInteger, nullable=False),
    Column("end_at", BigInteger, nullable=False),
    ForeignKeyConstraint(["world_id", "order_id"], ["orders.world_id", "orders.id"], ondelete="CASCADE"),
    CheckConstraint("end_at >= start_at", name="bounds"),
)

history = Table(
    "history",
    metadata,
    Column("world_id", Integer, ForeignKey("worlds.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("date", Text, nullable=False),
    Column("series", Text, nullable=False),
    Column("volume", BigInteger, nullable=False),
    CheckConstraint("volume >= 0", name="volume"),
)

# One volume per series and day; also the index of the read-only history queries (tools/sql/history.py).
Index("uq_history_world_id_series_date", history.c.world_id, history.c.series, history.c.date, unique=True)

plans = Table(
    "plans",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("world_id", Integer, ForeignKey("worlds.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("status", Text, nullable=False),
    Column("solver", Text, nullable=False),
    Column("clock", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("note", Text, nullable=False),
    CheckConstraint(_in("status", PLAN_STATUSES), name="status"),
)

# At most one committed plan per world, enforced by the database itself.
Index(
    "uq_plans_one_committed",
    plans.c.world_id,
    unique=True,
    sqlite_where=text("status = 'committed'"),
    postgresql_where=text("status = 'committed'"),
)

plan_routes = Table(
    "plan_routes",
    metadata,
    Column("plan_id", Integer, ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("vehicle_id", Text, nullable=False),
    Column("start_at", BigInteger, nullable=False),
    Column("end_at", BigInteger, nullable=False),
    Column("distance_m", BigInteger, nullable=False),
    Column("start_load", BigInteger, nullable=False),
)

plan_visits = Table(
    "plan_visits",
    metadata,
    Column("plan_id", Integer, primary_key=True),
    Column("route_seq", Integer, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("order_id", Text, nullable=False),
    Column("arrival", BigInteger, nullable=False),
    Column("start_at", BigInteger, nullable=False),
    Column("departure", BigInteger, nullable=False),
    Column("load_after", BigInteger, nullable=False),
    ForeignKeyConstraint(["plan_id", "route_seq"], ["plan_routes.plan_id", "plan_routes.seq"], ondelete="CASCADE"),
)

plan_unassigned = Table(
    "plan_unassigned",
    metadata,
    Column("plan_id", Integer, ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("order_id", Text, nullable=False),
    Column("reason", Text, nullable=False),
)

# The audit trail names its world by text so that it outlives a replaced or removed world.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("world", Text, nullable=False, index=True),
    Column("at", BigInteger, nullable=False),
    Column("action", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("actor", Text, nullable=False),
    # migration 0006: what a fact changed, so that it can be undone
    Column("subject", Text, nullable=True),
    Column("before", JSON, nullable=True),
    Column("after", JSON, nullable=True),
    Column("undone_by", Integer, nullable=True),
)

# Partner API keys (migration 0004): only a SHA-256 hash of each key is kept, never the key itself.
# ``key_id`` is the public handle shown in listings and used to revoke; ``scopes`` is a sorted,
# comma-separated list (read, plan, dispatch).
api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", Text, primary_key=True),
    Column("partner", Text, nullable=False, index=True),
    Column("key_hash", Text, nullable=False, unique=True),
    Column("scopes", Text, nullable=False),
    Column("note", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
)

# Replies to writes sent with an ``Idempotency-Key`` (migration 0004), per partner and key: the
# request's fingerprint and the stored reply; ``status`` 0 marks a request still being answered, whose
# claim is renewed while it runs (``lease_until``, migration 0005): a claim past its lease was left by a
# request that died and may be taken over by a retry.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("partner", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("fingerprint", Text, nullable=False),
    Column("status", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False, index=True),
    Column("lease_until", BigInteger, nullable=True),
)
