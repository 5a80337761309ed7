"""The initial store: tickets, triage results, decisions, deliveries.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the four tables."""
    op.create_table(
        "tickets",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("payload", Json, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("team", sa.String(64), nullable=True),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("created_at", When, nullable=True),
        sa.Column("received_at", When, nullable=False),
        sa.Column("triaged_at", When, nullable=True),
        sa.Column("decided_at", When, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_index("ix_tickets_status", "tickets", ["status"])
    op.create_index("ix_tickets_team", "tickets", ["team"])
    op.create_table(
        "triage_results",
        sa.Column("ticket_id", sa.String(200),
                  sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("result", Json, nullable=False),
        sa.Column("updated_at", When, nullable=False),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.String(200),
                  sa.ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("at", When, nullable=False),
        sa.Column("changes", Json, nullable=False),
    )
    op.create_index("ix_decisions_ticket_id", "decisions", ["ticket_id"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(300), nullable=False, unique=True),
        sa.Column("ticket_id", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("payload", Json, nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("sent_at", When, nullable=True),
        sa.Column("external_id", sa.String(200), nullable=True),
    )
    op.create_index("ix_deliveries_ticket_id", "deliveries", ["ticket_id"])


def downgrade() -> None:
    """Drop the four tables."""
    op.drop_table("deliveries")
    op.drop_table("decisions")
    op.drop_table("triage_results")
    op.drop_table("tickets")
