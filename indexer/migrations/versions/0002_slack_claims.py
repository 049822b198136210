"""Question claims as leases, so a replica that dies mid-answer does not block the retry.

``slack_claims`` holds one row per question key (event id or client message id): the
replica answering it holds a lease (``lease_until``) that it renews while working and
clears when done; a lapsed lease may be taken over by another replica.

Revision ID: 0002_slack_claims
Revises: 0001_baseline
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_slack_claims"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "slack_claims",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("claimed_at", TZ, nullable=False),
        sa.Column("lease_until", TZ),
    )
    op.create_index("ix_slack_claims_claimed_at", "slack_claims", ["claimed_at"])


def downgrade() -> None:
    op.drop_index("ix_slack_claims_claimed_at", table_name="slack_claims")
    op.drop_table("slack_claims")
