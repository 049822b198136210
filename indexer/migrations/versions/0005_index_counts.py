"""What the index held when its last sync finished, so ``policybot status`` needs no LanceDB.

``index_counts`` has one row per LanceDB table: the documents, chunks, rows per vector
space and undated rows of each source, written at the end of every sync and deleted at
its start. An index synced before this revision has no row: status counts in LanceDB
until the next sync records one.

Revision ID: 0005_index_counts
Revises: 0004_sync_empty
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_index_counts"
down_revision = "0004_sync_empty"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "index_counts",
        sa.Column("index_name", sa.String(200), primary_key=True),
        sa.Column("uri", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text()),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sources", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("index_counts")
