"""What the bot remembers: events it handled, answers it gave, feedback, alerts it sent.

All of it in the state database (SQLite by default, PostgreSQL in production), so dedupe
survives restarts and replicas share it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, desc, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from bot.alert_ledger import AlertLedger
from bot.greeting_ledger import GreetingLedger
from bot.history_tables import answer_docs, answers, feedback, slack_claims, slack_events
from indexer.db import open_state
from indexer.state import utcnow
from model.answer import Answer


@dataclass
class AnswerRecord:
    """An answer as stored: enough to cite it again, alert on it, or train on it."""

    id: str
    created_at: datetime
    user_id: str
    channel_id: str
    thread_ts: str | None
    message_ts: str | None
    visibility: str
    question: str
    text: str
    abstained: bool
    grounded: bool
    generator: str
    model: str
    audiences: list[str] = field(default_factory=list)
    sources: list[str] | None = None
    citations: list[dict[str, Any]] = field(default_factory=list)


class BotHistory:
    def __init__(self, url: str) -> None:
        self.engine = open_state(url)
        self.alerts = AlertLedger(self.engine)
        self.greetings = GreetingLedger(self.engine)

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(select(1))

    # -- dedupe ---------------------------------------------------------------------------
    def claim_event(self, *keys: str) -> bool:
        """True the first time these keys are seen, False when any was seen before (a retry
        or a duplicate). One commit for all of them: each commit is on the ack path."""
        now = utcnow()
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(slack_events), [{"key": k, "received_at": now}
                                                    for k in dict.fromkeys(keys)])
        except IntegrityError:
            return False
        return True

    def claim_question(self, keys: list[str], lease_s: float | None) -> bool:
        """True when this process may answer: no key was seen before, or every earlier
        claim of them lapsed unfinished (its process died). ``lease_s`` None claims for
        good at once. All keys or none, in one commit; an upsert whose update only
        applies to a lapsed lease, so two replicas never both win (on PostgreSQL the
        second waits on the first's row lock, then sees its lease)."""
        now = utcnow()
        until = None if lease_s is None else now + timedelta(seconds=lease_s)
        c = slack_claims.c
        try:
            with self.engine.begin() as conn:
                for key in sorted(set(keys)):  # one lock order: no deadlock between replicas
                    stmt = _upsert(self.engine)(slack_claims).values(
                        key=key, claimed_at=now, lease_until=until)
                    stmt = stmt.on_conflict_do_update(
                        index_elements=[c.key], set_={"claimed_at": now, "lease_until": until},
                        where=and_(c.lease_until.is_not(None), c.lease_until < now)
                    ).returning(c.key)  # a row back: inserted or taken over (rowcount is -1
                    if conn.execute(stmt).first() is None:  # for psycopg's upserts)
                        raise _Taken
        except _Taken:
            return False
        return True

    def renew_claims(self, keys: list[str], lease_s: float) -> None:
        """Extend the leases of questions still being answered here."""
        if keys:
            with self.engine.begin() as conn:
                conn.execute(update(slack_claims).where(
                    slack_claims.c.key.in_(keys), slack_claims.c.lease_until.is_not(None))
                    .values(lease_until=utcnow() + timedelta(seconds=lease_s)))

    def finish_claims(self, keys: list[str]) -> None:
        """The question is done: its keys are never claimed again."""
        if keys:
            with self.engine.begin() as conn:
                conn.execute(update(slack_claims).where(slack_claims.c.key.in_(keys))
                             .values(lease_until=None))

    def forget_events(self, older_than: timedelta = timedelta(days=3)) -> int:
        """Slack stops retrying after minutes; days of keys are plenty."""
        since = utcnow() - older_than
        with self.engine.begin() as conn:
            gone = conn.execute(delete(slack_claims).where(
                slack_claims.c.claimed_at < since)).rowcount
            return gone + conn.execute(delete(slack_events).where(
                slack_events.c.received_at < since)).rowcount

    # -- answers --------------------------------------------------------------------------
    def record_answer(self, answer: Answer, *, user_id: str, channel_id: str,
                      thread_ts: str | None, visibility: str, model: str = "",
                      audiences: tuple[str, ...] = (),
                      sources: tuple[str, ...] | None = None) -> str:
        answer_id = uuid.uuid4().hex
        cites = [{**c.public_dict(), "doc_id": c.doc_id, "doc_version": c.doc_version,
                  "doc_date": c.doc_date} for c in answer.citations]
        with self.engine.begin() as conn:
            conn.execute(insert(answers).values(
                id=answer_id, created_at=utcnow(), user_id=user_id, channel_id=channel_id,
                thread_ts=thread_ts, message_ts=None, visibility=visibility,
                question=answer.question, text=answer.text, abstained=answer.abstained,
                grounded=answer.grounded, generator=answer.generator, model=model,
                audiences=list(audiences), sources=list(sources) if sources else None,
                citations=cites))
            docs = {c.doc_id: c.doc_version for c in answer.citations if c.doc_id}
            if docs:
                conn.execute(insert(answer_docs), [
                    {"answer_id": answer_id, "doc_id": d, "doc_version": v}
                    for d, v in docs.items()])
        return answer_id

    def set_message(self, answer_id: str, message_ts: str, thread_ts: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(answers).where(answers.c.id == answer_id)
                         .values(message_ts=message_ts, thread_ts=thread_ts or message_ts))

    def answer(self, answer_id: str) -> AnswerRecord | None:
        return self._one(select(answers).where(answers.c.id == answer_id))

    def latest_answer(self, channel_id: str, thread_ts: str | None = None,
                      user_id: str | None = None) -> AnswerRecord | None:
        """The newest answer in a thread (or channel); ``user_id`` also admits that user's
        ephemeral answers, which nobody else saw."""
        visible = answers.c.visibility != "ephemeral"
        if user_id:
            visible = or_(visible, answers.c.user_id == user_id)
        query = select(answers).where(answers.c.channel_id == channel_id, visible)
        if thread_ts:
            query = query.where(answers.c.thread_ts == thread_ts)
        return self._one(query.order_by(desc(answers.c.created_at)).limit(1))

    def answer_at(self, channel_id: str, ts: str) -> AnswerRecord | None:
        """The answer posted as message ``ts``, or the latest one in the thread rooted there."""
        return self._one(select(answers).where(
            answers.c.channel_id == channel_id, answers.c.visibility != "ephemeral",
            or_(answers.c.message_ts == ts, answers.c.thread_ts == ts))
            .order_by(desc(answers.c.message_ts == ts), desc(answers.c.created_at)).limit(1))

    def thread_turns(self, channel_id: str, thread_ts: str, limit: int = 2
                     ) -> list[AnswerRecord]:
        """The thread's earlier public answers, oldest first, for follow-up questions."""
        rows = self._all(select(answers).where(
            answers.c.channel_id == channel_id, answers.c.thread_ts == thread_ts,
            answers.c.visibility != "ephemeral")
            .order_by(desc(answers.c.created_at)).limit(limit))
        return rows[::-1]

    def answers_citing(self, doc_ids: list[str], days: int) -> list[tuple[AnswerRecord, str]]:
        """(answer, doc_id) for posted answers of the last ``days`` that cite these docs."""
        if not doc_ids:
            return []
        since = utcnow() - timedelta(days=days)
        query = (select(answers, answer_docs.c.doc_id.label("cited_doc"))
                 .join(answer_docs, answer_docs.c.answer_id == answers.c.id)
                 .where(and_(answer_docs.c.doc_id.in_(doc_ids), answers.c.created_at >= since,
                             answers.c.message_ts.is_not(None)))
                 .order_by(answers.c.created_at))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [(_record({k: v for k, v in r._mapping.items() if k != "cited_doc"}),
                 r.cited_doc) for r in rows]

    # -- feedback and alerts ----------------------------------------------------------------
    def record_feedback(self, answer_id: str, user_id: str, rating: str,
                        reasons: list[str] | None = None, details: str = "") -> None:
        """One vote per user and answer; a later vote or a 👎 reason replaces the earlier."""
        values = {"rating": rating, "reasons": reasons or [], "details": details,
                  "created_at": utcnow()}
        # One statement (an upsert on the one-vote-per-user key): two clicks handled at
        # once, by two threads or two replicas, both land and the later one stands;
        # update-then-insert let both miss the row and one fail on the unique key.
        stmt = _upsert(self.engine)(feedback).values(answer_id=answer_id, user_id=user_id,
                                                      **values)
        stmt = stmt.on_conflict_do_update(index_elements=[feedback.c.answer_id,
                                                          feedback.c.user_id], set_=values)
        with self.engine.begin() as conn:
            conn.execute(stmt)

    def feedback_records(self, rating: str | None = None) -> list[dict[str, Any]]:
        """Feedback joined with its answer: the raw material for adapter training."""
        query = (select(feedback, answers.c.question, answers.c.text.label("answer"),
                        answers.c.citations, answers.c.model, answers.c.generator,
                        answers.c.channel_id, answers.c.abstained)
                 .join(answers, answers.c.id == feedback.c.answer_id)
                 .order_by(feedback.c.id))
        if rating:
            query = query.where(feedback.c.rating == rating)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def _one(self, query: Any) -> AnswerRecord | None:
        rows = self._all(query)
        return rows[0] if rows else None

    def _all(self, query: Any) -> list[AnswerRecord]:
        with self.engine.connect() as conn:
            return [_record(dict(r._mapping)) for r in conn.execute(query)]


class _Taken(Exception):
    """Another process holds (or finished) a question's claim: roll the claim back."""


def _upsert(engine: Any) -> Any:
    """The dialect's INSERT with ON CONFLICT (SQLite and PostgreSQL both have it)."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def _record(data: dict[str, Any]) -> AnswerRecord:
    if data["created_at"].tzinfo is None:  # SQLite drops the zone
        data["created_at"] = data["created_at"].replace(tzinfo=UTC)
    return AnswerRecord(**data)
