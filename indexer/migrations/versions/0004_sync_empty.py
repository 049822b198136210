"""Documents a sync read but could not index anything from (a redirect-only page).

``sync_runs.empty`` counts them; ``sync_failures.kind`` tells a document that failed
("failed", every row written before this revision) from one that holds no text ("empty"),
so ``policybot status`` lists both, and empty pages no longer count as "unchanged".

Revision ID: 0004_sync_empty
Revises: 0003_agent_greetings
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_sync_empty"
down_revision = "0003_agent_greetings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_runs") as batch:
        batch.add_column(sa.Column("empty", sa.Integer(), server_default="0"))
    with op.batch_alter_table("sync_failures") as batch:
        batch.add_column(sa.Column("kind", sa.String(20), nullable=False,
                                   server_default="failed"))


def downgrade() -> None:
    with op.batch_alter_table("sync_failures") as batch:
        batch.drop_column("kind")
    with op.batch_alter_table("sync_runs") as batch:
        batch.drop_column("empty")
