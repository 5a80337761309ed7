"""The offline classifier's trained state and version in the store, shared by every host.

Revision ID: 0006_classifier_versions
Revises: 0005_worker_leases
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006_classifier_versions"
down_revision = "0005_worker_leases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create `classifier_versions`."""
    op.create_table(
        "classifier_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("version", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("meta", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.Column("examples", sa.Text, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    """Drop `classifier_versions`."""
    op.drop_table("classifier_versions")
