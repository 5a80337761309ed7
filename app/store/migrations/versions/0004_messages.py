"""A ticket is a conversation: its messages after the first, each channel message id once.

Revision ID: 0004_messages
Revises: 0003_slack_events
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_messages"
down_revision = "0003_slack_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create `messages` (unique per ticket and channel message id)."""
    op.create_table(
        "messages",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.String(200),
                  sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("message_id", sa.String(300), nullable=False),
        sa.Column("author", sa.String(16), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("public", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("ticket_id", "message_id", name="uq_messages_ticket_message"),
    )
    op.create_index("ix_messages_ticket_id", "messages", ["ticket_id"])


def downgrade() -> None:
    """Drop `messages`."""
    op.drop_index("ix_messages_ticket_id", table_name="messages")
    op.drop_table("messages")
