"""Several workers on one database: ticket claims with a lease, worker heartbeats, named leases.

Revision ID: 0005_worker_leases
Revises: 0004_messages
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_worker_leases"
down_revision = "0004_messages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add `tickets.claimed_by` / `lease_until`; create `workers` and `leases`."""
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(200), nullable=True))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_tickets_claimed_by", "tickets", ["claimed_by"])
    op.create_table(
        "workers",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    """Drop `leases`, `workers` and the ticket claim columns."""
    op.drop_table("leases")
    op.drop_table("workers")
    op.drop_index("ix_tickets_claimed_by", table_name="tickets")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("claimed_by")
