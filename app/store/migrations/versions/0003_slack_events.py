"""Slack's handled events in the store, replacing the side file `slack_seen.sqlite`.

Revision ID: 0003_slack_events
Revises: 0002_moved_at
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_slack_events"
down_revision = "0002_moved_at"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create `slack_events`: one row per handled event key (its primary key)."""
    op.create_table(
        "slack_events",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    """Drop `slack_events`."""
    op.drop_table("slack_events")
