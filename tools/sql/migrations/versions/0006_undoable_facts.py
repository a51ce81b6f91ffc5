"""Undoable facts: an audit row of a changed vehicle or order keeps what it changed, so it can be reversed.

``subject`` names the row (``vehicle:HZ-V2``, ``order:P1``), ``before``/``after`` hold the changed columns'
old and new values (JSON), and ``undone_by`` points at the audit row of the undo.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the four nullable columns to ``audit_log``."""
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("subject", sa.Text(), nullable=True))
        batch.add_column(sa.Column("before", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("after", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("undone_by", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("undone_by")
        batch.drop_column("after")
        batch.drop_column("before")
        batch.drop_column("subject")
