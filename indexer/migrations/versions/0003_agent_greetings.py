"""Who was greeted in the Messages tab (the agent view), and with which prompts.

``agent_greetings`` holds one row per person PolicyBot greeted when they opened its
Messages tab or started a conversation: the greeting is posted once, and the suggested
prompts are set again only when the configured ones change (``prompts_digest``).

Revision ID: 0003_agent_greetings
Revises: 0002_slack_claims
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_agent_greetings"
down_revision = "0002_slack_claims"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_greetings",
        sa.Column("user_id", sa.String(40), primary_key=True),
        sa.Column("prompts_digest", sa.String(64), nullable=False),
        sa.Column("greeted_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("agent_greetings")
