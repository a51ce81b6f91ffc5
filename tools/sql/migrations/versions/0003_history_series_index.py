"""History look-ups by series and date: one row per (world, series, date), indexed.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 12:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the unique index ``uq_history_world_id_series_date`` (also serves the read-only history queries)."""
    op.create_index("uq_history_world_id_series_date", "history", ["world_id", "series", "date"], unique=True)


def downgrade() -> None:
    """Drop the index again."""
    op.drop_index("uq_history_world_id_series_date", table_name="history")
