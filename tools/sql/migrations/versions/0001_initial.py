"""Initial schema: worlds with depots, vehicles, orders, windows and history; plans; audit log.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create every table of the store."""
    op.create_table(
        "worlds",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("date", sa.Text(), nullable=False),
        sa.Column("utc_offset_s", sa.BigInteger(), nullable=False),
        sa.Column("city", sa.Text(), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("clock", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_worlds"),
        sa.UniqueConstraint("name", name="uq_worlds_name"),
    )
    op.create_table(
        "depots",
        sa.Column("world_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("lat", sa.Double(), nullable=False),
        sa.Column("lng", sa.Double(), nullable=False),
        sa.Column("opens_at", sa.BigInteger(), nullable=False),
        sa.Column("closes_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("closes_at >= opens_at", name="ck_depots_hours"),
        sa.ForeignKeyConstraint(["world_id"], ["worlds.id"], name="fk_depots_world_id_worlds", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("world_id", "id", name="pk_depots"),
    )
    op.create_table(
        "vehicles",
        sa.Column("world_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("depot_id", sa.Text(), nullable=False),
        sa.Column("capacity", sa.BigInteger(), nullable=False),
        sa.Column("shift_start", sa.BigInteger(), nullable=False),
        sa.Column("shift_end", sa.BigInteger(), nullable=False),
        sa.Column("speed_kmh", sa.Double(), nullable=False),
        sa.Column("cost_per_km", sa.Double(), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("driver", sa.Text(), nullable=False),
        sa.Column("unavailable_from", sa.BigInteger(), nullable=True),
        sa.Column("max_route_duration_s", sa.BigInteger(), nullable=True),
        sa.Column("fixed_cost", sa.Double(), nullable=False),
        sa.CheckConstraint("capacity > 0", name="ck_vehicles_capacity"),
        sa.CheckConstraint("shift_end >= shift_start", name="ck_vehicles_shift"),
        sa.ForeignKeyConstraint(["world_id"], ["worlds.id"], name="fk_vehicles_world_id_worlds", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["world_id", "depot_id"],
            ["depots.world_id", "depots.id"],
            name="fk_vehicles_world_id_depot_id_depots",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("world_id", "id", name="pk_vehicles"),
    )
    op.create_table(
        "orders",
        sa.Column("world_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("lat", sa.Double(), nullable=False),
        sa.Column("lng", sa.Double(), nullable=False),
        sa.Column("demand", sa.BigInteger(), nullable=False),
        sa.Column("service_s", sa.BigInteger(), nullable=False),
        sa.Column("priority", sa.Text(), nullable=False),
        sa.Column("required_skill", sa.Text(), nullable=True),
        sa.Column("customer", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("pair_id", sa.Text(), nullable=True),
        sa.Column("cancelled", sa.Boolean(create_constraint=False), nullable=False),
        sa.CheckConstraint("kind IN ('pickup', 'delivery')", name="ck_orders_kind"),
        sa.CheckConstraint("priority IN ('normal', 'high')", name="ck_orders_priority"),
        sa.CheckConstraint("demand >= 0", name="ck_orders_demand"),
        sa.CheckConstraint("service_s >= 0", name="ck_orders_service"),
        sa.ForeignKeyConstraint(["world_id"], ["worlds.id"], name="fk_orders_world_id_worlds", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("world_id", "id", name="pk_orders"),
    )
    op.create_table(
        "order_windows",
        sa.Column("world_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Text(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("start_at", sa.BigInteger(), nullable=False),
        sa.Column("end_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("end_at >= start_at", name="ck_order_windows_bounds"),
        sa.ForeignKeyConstraint(
            ["world_id", "order_id"],
            ["orders.world_id", "orders.id"],
            name="fk_order_windows_world_id_order_id_orders",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("world_id", "order_id", "seq", name="pk_order_windows"),
    )
    op.create_table(
        "history",
        sa.Column("world_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("date", sa.Text(), nullable=False),
        sa.Column("series", sa.Text(), nullable=False),
        sa.Column("volume", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("volume >= 0", name="ck_history_volume"),
        sa.ForeignKeyConstraint(["world_id"], ["worlds.id"], name="fk_history_world_id_worlds", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("world_id", "seq", name="pk_history"),
    )
    op.create_table(
        "plans",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("world_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("solver", sa.Text(), nullable=False),
        sa.Column("clock", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.CheckConstraint("status IN ('draft', 'committed', 'superseded', 'discarded')", name="ck_plans_status"),
        sa.ForeignKeyConstraint(["world_id"], ["worlds.id"], name="fk_plans_world_id_worlds", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_plans"),
    )
    op.create_index("ix_plans_world_id", "plans", ["world_id"])
    op.create_index(
        "uq_plans_one_committed",
        "plans",
        ["world_id"],
        unique=True,
        sqlite_where=sa.text("status = 'committed'"),
        postgresql_where=sa.text("status = 'committed'"),
    )
    op.create_table(
        "plan_routes",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("vehicle_id", sa.Text(), nullable=False),
        sa.Column("start_at", sa.BigInteger(), nullable=False),
        sa.Column("end_at", sa.BigInteger(), nullable=False),
        sa.Column("distance_m", sa.BigInteger(), nullable=False),
        sa.Column("start_load", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name="fk_plan_routes_plan_id_plans", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("plan_id", "seq", name="pk_plan_routes"),
    )
    op.create_table(
        "plan_visits",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("route_seq", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Text(), nullable=False),
        sa.Column("arrival", sa.BigInteger(), nullable=False),
        sa.Column("start_at", sa.BigInteger(), nullable=False),
        sa.Column("departure", sa.BigInteger(), nullable=False),
        sa.Column("load_after", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id", "route_seq"],
            ["plan_routes.plan_id", "plan_routes.seq"],
            name="fk_plan_visits_plan_id_route_seq_plan_routes",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("plan_id", "route_seq", "seq", name="pk_plan_visits"),
    )
    op.create_table(
        "plan_unassigned",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name="fk_plan_unassigned_plan_id_plans", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("plan_id", "seq", name="pk_plan_unassigned"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("world", sa.Text(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_world", "audit_log", ["world"])


def downgrade() -> None:
    """Drop every table of the store."""
    op.drop_index("ix_audit_log_world", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("plan_unassigned")
    op.drop_table("plan_visits")
    op.drop_table("plan_routes")
    op.drop_index("uq_plans_one_committed", table_name="plans")
    op.drop_index("ix_plans_world_id", table_name="plans")
    op.drop_table("plans")
    op.drop_table("history")
    op.drop_table("order_windows")
    op.drop_table("orders")
    op.drop_table("vehicles")
    op.drop_table("depots")
    op.drop_table("worlds")
