"""Dispatch facts: a vehicle's reported delay (``delayed_until``) and an order's pin (``pinned_vehicle``).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the nullable ``vehicles.delayed_until`` column (epoch seconds)."""
    with op.batch_alter_table("vehicles") as batch:
        batch.add_column(sa.Column("delayed_until", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("pinned_vehicle", sa.Text(), nullable=True))


def downgrade() -> None:
    """Drop the two columns again."""
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("pinned_vehicle")
    with op.batch_alter_table("vehicles") as batch:
        batch.drop_column("delayed_until")
