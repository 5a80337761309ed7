"""When a ticket last changed status, so a decision stuck `deciding` can be told from a live one.

Revision ID: 0002_moved_at
Revises: 0001_initial
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_moved_at"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add `tickets.moved_at` (null for rows moved before this revision)."""
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("moved_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Drop `tickets.moved_at`."""
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("moved_at")
