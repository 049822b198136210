"""The bot's tables, beside the indexer's in the same state database.

Kept apart from :mod:`indexer.state` because only the Slack surface writes them: the
indexer never learns who asked what. Registered on the one :data:`indexer.db.metadata`;
the migrations in ``indexer/migrations/`` create and change them.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from indexer.db import metadata

# Slack delivers an event again when it thinks we were slow (X-Slack-Retry-Num); the key
# (event_id, or client_msg_id) is claimed once, so a retry never answers twice.
slack_events = Table(
    "slack_events", metadata,
    Column("key", String(200), primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False, index=True),
)

# Questions (mentions, DMs, thread replies) claim their keys with a lease instead: the
# replica answering renews it while it works and makes it final (lease_until NULL) once the
# answer is done, so a replica killed mid-answer does not block Slack's retry for good.
# A table of its own, so an existing install gains it without a schema change.
slack_claims = Table(
    "slack_claims", metadata,
    Column("key", String(200), primary_key=True),
    Column("claimed_at", DateTime(timezone=True), nullable=False, index=True),
    Column("lease_until", DateTime(timezone=True)),  # NULL: done, never claimed again
)

answers = Table(
    "answers", metadata,
    Column("id", String(32), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("user_id", String(40), nullable=False),
    Column("channel_id", String(40), nullable=False),
    Column("thread_ts", String(40), index=True),  # the thread the answer lives in
    Column("message_ts", String(40), index=True),  # the answer's own message, once posted
    Column("visibility", String(20), nullable=False),  # public | dm | ephemeral
    Column("question", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("abstained", Boolean, nullable=False, default=False),
    Column("grounded", Boolean, nullable=False, default=False),
    Column("generator", String(100), nullable=False, default=""),
    Column("model", String(200), nullable=False, default=""),  # model or adapter name
    Column("audiences", JSON, nullable=False, default=list),
    Column("sources", JSON),  # the sources the answer could draw from; None = all
    Column("citations", JSON, nullable=False, default=list),
)

# One row per cited document, so a sync can find the answers its changes make stale.
answer_docs = Table(
    "answer_docs", metadata,
    Column("answer_id", String(32), ForeignKey("answers.id"), nullable=False, index=True),
    Column("doc_id", Text, nullable=False, index=True),
    Column("doc_version", Text, nullable=False, default=""),
)

feedback = Table(
    "feedback", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("answer_id", String(32), ForeignKey("answers.id"), nullable=False, index=True),
    Column("user_id", String(40), nullable=False),
    Column("rating", String(10), nullable=False),  # up | down
    Column("reasons", JSON, nullable=False, default=list),
    Column("details", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("answer_id", "user_id", name="one_vote_per_user"),
)

# A change is (document, its new version or "deleted"); one alert per answer and change.
stale_alerts = Table(
    "stale_alerts", metadata,
    Column("answer_id", String(32), ForeignKey("answers.id"), nullable=False),
    Column("doc_id", Text, nullable=False),
    Column("change", Text, nullable=False),
    Column("claimed_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),  # NULL: not posted (yet)
    Column("attempts", Integer, nullable=False, default=1),
    Column("last_error", Text),  # Slack refused the last attempt; retried while attempts last
    UniqueConstraint("answer_id", "doc_id", "change", name="one_alert_per_change"),
)

# Who PolicyBot has greeted in its Messages tab (agent view), and with which suggested
# prompts: the greeting is posted once per person, the prompts again only when the
# configured ones change. Written only by bot.greetings.GreetingLedger.
agent_greetings = Table(
    "agent_greetings", metadata,
    Column("user_id", String(40), primary_key=True),
    Column("prompts_digest", String(64), nullable=False),
    Column("greeted_at", DateTime(timezone=True), nullable=False),
)
