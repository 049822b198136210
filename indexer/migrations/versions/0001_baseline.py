"""Baseline: the schema PolicyBot created with ``create_all`` before it had migrations.

An install made before then has some or all of these tables (each module created its own)
and no ``alembic_version``: only the missing tables are created, so its rows stay as they
are. A new install gets them all. The DDL is frozen here, apart from the models, as every
migration's must be: later revisions change the schema from this point.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _sync_runs() -> None:
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("trigger", sa.String(40), nullable=False),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("finished_at", TZ, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        *(sa.Column(n, sa.Integer) for n in ("added", "updated", "unchanged", "deleted",
                                             "failed", "chunks_embedded")),
        sa.Column("seconds", sa.Float),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_sync_runs_source", "sync_runs", ["source"])


def _sync_failures() -> None:
    op.create_table(
        "sync_failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("sync_runs.id"), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_index("ix_sync_failures_run_id", "sync_failures", ["run_id"])


def _slack_events() -> None:
    op.create_table(
        "slack_events",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("received_at", TZ, nullable=False),
    )
    op.create_index("ix_slack_events_received_at", "slack_events", ["received_at"])


def _answers() -> None:
    op.create_table(
        "answers",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("user_id", sa.String(40), nullable=False),
        sa.Column("channel_id", sa.String(40), nullable=False),
        sa.Column("thread_ts", sa.String(40)),
        sa.Column("message_ts", sa.String(40)),
        sa.Column("visibility", sa.String(20), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("abstained", sa.Boolean, nullable=False),
        sa.Column("grounded", sa.Boolean, nullable=False),
        sa.Column("generator", sa.String(100), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("audiences", sa.JSON, nullable=False),
        sa.Column("sources", sa.JSON),
        sa.Column("citations", sa.JSON, nullable=False),
    )
    for column in ("created_at", "thread_ts", "message_ts"):
        op.create_index(f"ix_answers_{column}", "answers", [column])


def _answer_docs() -> None:
    op.create_table(
        "answer_docs",
        sa.Column("answer_id", sa.String(32), sa.ForeignKey("answers.id"), nullable=False),
        sa.Column("doc_id", sa.Text, nullable=False),
        sa.Column("doc_version", sa.Text, nullable=False),
    )
    op.create_index("ix_answer_docs_answer_id", "answer_docs", ["answer_id"])
    op.create_index("ix_answer_docs_doc_id", "answer_docs", ["doc_id"])


def _feedback() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("answer_id", sa.String(32), sa.ForeignKey("answers.id"), nullable=False),
        sa.Column("user_id", sa.String(40), nullable=False),
        sa.Column("rating", sa.String(10), nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("answer_id", "user_id", name="one_vote_per_user"),
    )
    op.create_index("ix_feedback_answer_id", "feedback", ["answer_id"])


def _stale_alerts() -> None:
    op.create_table(
        "stale_alerts",
        sa.Column("answer_id", sa.String(32), sa.ForeignKey("answers.id"), nullable=False),
        sa.Column("doc_id", sa.Text, nullable=False),
        sa.Column("change", sa.Text, nullable=False),
        sa.Column("claimed_at", TZ, nullable=False),
        sa.Column("sent_at", TZ),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.UniqueConstraint("answer_id", "doc_id", "change", name="one_alert_per_change"),
    )


def _adapter_versions() -> None:
    op.create_table(
        "adapter_versions",
        sa.Column("served_name", sa.String(200), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("loaded_at", TZ, nullable=False),
        sa.Column("metrics", sa.JSON),
    )
    op.create_index("ix_adapter_versions_name", "adapter_versions", ["name"])


# In dependency order: a table's foreign keys point to tables above it.
TABLES: dict[str, Callable[[], None]] = {
    "sync_runs": _sync_runs, "sync_failures": _sync_failures,
    "slack_events": _slack_events, "answers": _answers, "answer_docs": _answer_docs,
    "feedback": _feedback, "stale_alerts": _stale_alerts,
    "adapter_versions": _adapter_versions,
}


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    for name, create in TABLES.items():
        if name not in existing:
            create()


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
