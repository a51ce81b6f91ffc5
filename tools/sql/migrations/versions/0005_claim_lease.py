"""Idempotency claims get a lease: a claim whose request died (a crash, a kill -9) can be taken over.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add ``idempotency_keys.lease_until`` (epoch seconds; a claim past it belongs to a dead request)."""
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("lease_until", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    """Drop the lease column again."""
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("lease_until")
